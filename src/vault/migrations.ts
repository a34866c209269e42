/**
 * @module vault/migrations
 * The vault schema. Append new migrations; never edit an applied one.
 */
import { type CreateTableBuilder, sql } from 'kysely';
import type { Migration } from '../platform/db/index.js';

/** The hash that the first audit entry chains to: 32 zero bytes, hex. */
export const GENESIS_HASH = '0'.repeat(64);

/** The vault's migrations, in order, for the composition root's `ALL_MIGRATIONS`. */
export const vaultMigrations: Migration[] = [
  {
    id: 'vault-0001-keys-resources-search-audit',
    async up(db) {
      await db.schema
        .createTable('vault_data_keys')
        .addColumn('owner', 'text', (c) => c.primaryKey())
        .addColumn('wrapped_key', 'text')
        .addColumn('kek_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('rewrapped_at', 'text')
        .addColumn('destroyed_at', 'text')
        .execute();
      // Rotation asks "which keys are not under the current KEK?"; keyset-paged by owner.
      await db.schema
        .createIndex('vault_data_keys_kek')
        .on('vault_data_keys')
        .columns(['kek_id', 'owner'])
        .execute();

      await db.schema
        .createTable('vault_resources')
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('version_id', 'text', (c) => c.notNull())
        .addColumn('key_owner', 'text', (c) => c.notNull())
        .addColumn('last_updated', 'text', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('body', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_resources_pk', ['resource_type', 'id', 'version_id'])
        .execute();
      // Erasure finds every resource of a patient through its key owner.
      await db.schema
        .createIndex('vault_resources_owner')
        .on('vault_resources')
        .columns(['key_owner', 'resource_type', 'id'])
        .execute();

      await db.schema
        .createTable('vault_search')
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('param', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull())
        // The primary key is the lookup index (type, param, hash → ids) and removes duplicate tokens.
        .addPrimaryKeyConstraint('vault_search_pk', ['resource_type', 'param', 'token_hash', 'resource_id'])
        .execute();
      // Re-indexing and erasure delete a resource's rows.
      await db.schema
        .createIndex('vault_search_resource')
        .on('vault_search')
        .columns(['resource_type', 'resource_id'])
        .execute();

      await db.schema
        .createTable('vault_audit')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('actor_role', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resources', 'text', (c) => c.notNull())
        .addColumn('patient_ref', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('break_glass_reason', 'text')
        .addColumn('search_result_ids', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .execute();
      await db.schema
        .createIndex('vault_audit_patient')
        .on('vault_audit')
        .columns(['patient_ref', 'seq'])
        .execute();
      await db.schema
        .createIndex('vault_audit_actor')
        .on('vault_audit')
        .columns(['actor_id', 'seq'])
        .execute();
      await db.schema.createIndex('vault_audit_time').on('vault_audit').columns(['time']).execute();

      await db.schema
        .createTable('vault_audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await sql`insert into vault_audit_head (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);

      await db.schema
        .createTable('vault_audit_checkpoints')
        .addColumn('upto_seq', 'bigint', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    id: 'vault-0002-current-versions',
    async up(db) {
      await db.schema
        .createTable('vault_current')
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('version_id', 'integer', (c) => c.notNull())
        .addColumn('key_owner', 'text', (c) => c.notNull())
        .addColumn('last_updated', 'text', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('vault_current_pk', ['resource_type', 'id'])
        .execute();
      // Type scans and `_lastUpdated` ranges: (type, last_updated); access checks go by key owner.
      await db.schema
        .createIndex('vault_current_updated')
        .on('vault_current')
        .columns(['resource_type', 'last_updated'])
        .execute();
      await db.schema
        .createIndex('vault_current_owner')
        .on('vault_current')
        .columns(['key_owner', 'resource_type'])
        .execute();
    },
  },
  {
    id: 'vault-0005-care-access',
    async up(db) {
      await db.schema
        .createTable('vault_staff_links')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('practitioner_id', 'text', (c) => c.notNull())
        .addColumn('linked_by', 'text', (c) => c.notNull())
        .addColumn('linked_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('vault_break_glass')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('reason_sealed', 'text', (c) => c.notNull())
        .addColumn('granted_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      // "Has this user a live grant for this patient?" and the privacy officer's review by time.
      await db.schema
        .createIndex('vault_break_glass_user')
        .on('vault_break_glass')
        .columns(['user_id', 'patient_id', 'expires_at'])
        .execute();
      await db.schema
        .createIndex('vault_break_glass_time')
        .on('vault_break_glass')
        .columns(['granted_at'])
        .execute();
    },
  },
  {
    id: 'vault-0004-legal-holds',
    async up(db) {
      // One row per patient under a legal hold (erasure is refused while it stands). The reason is
      // free text (it may name a case or a person), so it is sealed by the KeyRing like a data key.
      await db.schema
        .createTable('vault_legal_holds')
        .addColumn('patient_id', 'text', (c) => c.primaryKey())
        .addColumn('reason_sealed', 'text', (c) => c.notNull())
        .addColumn('set_by', 'text', (c) => c.notNull())
        .addColumn('set_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    id: 'vault-0003-binaries',
    async up(db, flags) {
      // Binaries (binaries.ts): metadata here, ciphertext in chunk rows so nothing is buffered whole.
      await db.schema
        .createTable('vault_binaries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key_owner', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('digest_sealed', 'text')
        .addColumn('complete', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // Erasure by owner; the sweep of abandoned uploads by (complete, created_at).
      await db.schema
        .createIndex('vault_binaries_owner')
        .on('vault_binaries')
        .columns(['key_owner'])
        .execute();
      await db.schema
        .createIndex('vault_binaries_pending')
        .on('vault_binaries')
        .columns(['complete', 'created_at'])
        .execute();
      await db.schema
        .createTable('vault_binary_chunks')
        .addColumn('binary_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', flags.blobType, (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_binary_chunks_pk', ['binary_id', 'seq'])
        .execute();
    },
  },
  {
    // `subject` is searched through the `patient` hashes now (search-values.ts): drop its copies.
    id: 'vault-0006-subject-alias',
    async up(db) {
      await sql`delete from vault_search where param = 'subject'`.execute(db);
    },
  },
  {
    // Fewer B-trees per read, audit entry and index token. On SQLite the tables are rebuilt:
    // - `vault_current` and `vault_search` are stored in their primary keys (`without rowid`): a
    //   read's current-version lookup descends one B-tree instead of two, an index token is written
    //   to one B-tree instead of a rowid table plus its key index. (`vault_resources` keeps its
    //   rowid: its rows hold encrypted bodies of kilobytes, and SQLite advises `without rowid`
    //   only for rows well under a twentieth of a page.)
    // - `vault_audit.seq` becomes the rowid (`integer primary key`): entries are appended to the
    //   table in key order, with no separate primary-key index.
    // On both engines the unique index on `vault_audit.hash` goes: a random 64-character key, one
    // more page written per entry. Two entries cannot share a hash anyway (it covers `seq`, the
    // primary key), and the chain is checked by recomputing it (audit-verify.ts).
    id: 'vault-0007-lean-storage',
    async up(db, flags) {
      if (flags.dialect !== 'sqlite') {
        await sql`alter table vault_audit drop constraint if exists vault_audit_hash_key`.execute(db);
        return;
      }
      // The new table has the old one's columns (only keys and storage change): copied by name.
      const rebuild = async (
        table: string,
        create: (name: string) => CreateTableBuilder<string, never>,
        indexes: ReadonlyArray<readonly [string, readonly string[]]>,
      ) => {
        const lean = `${table}_lean`;
        await create(lean).execute();
        const { rows } = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(
          db,
        );
        const list = rows.map((r) => `"${r.name}"`).join(', ');
        await sql`insert into ${sql.table(lean)} (${sql.raw(list)}) select ${sql.raw(list)} from ${sql.table(table)}`.execute(
          db,
        );
        await db.schema.dropTable(table).execute();
        await db.schema.alterTable(lean).renameTo(table).execute();
        for (const [name, on] of indexes)
          await db.schema
            .createIndex(name)
            .on(table)
            .columns([...on])
            .execute();
      };
      const withoutRowid = (b: CreateTableBuilder<string, never>) => b.modifyEnd(sql`without rowid`);

      await rebuild(
        'vault_audit',
        (name) =>
          db.schema
            .createTable(name)
            .addColumn('seq', 'integer', (c) => c.primaryKey())
            .addColumn('time', 'text', (c) => c.notNull())
            .addColumn('actor_id', 'text', (c) => c.notNull())
            .addColumn('actor_role', 'text', (c) => c.notNull())
            .addColumn('action', 'text', (c) => c.notNull())
            .addColumn('resources', 'text', (c) => c.notNull())
            .addColumn('patient_ref', 'text')
            .addColumn('outcome', 'text', (c) => c.notNull())
            .addColumn('break_glass_reason', 'text')
            .addColumn('search_result_ids', 'text')
            .addColumn('prev_hash', 'text', (c) => c.notNull())
            .addColumn('hash', 'text', (c) => c.notNull()),
        [
          ['vault_audit_patient', ['patient_ref', 'seq']],
          ['vault_audit_actor', ['actor_id', 'seq']],
          ['vault_audit_time', ['time']],
        ],
      );
      await rebuild(
        'vault_search',
        (name) =>
          withoutRowid(
            db.schema
              .createTable(name)
              .addColumn('resource_type', 'text', (c) => c.notNull())
              .addColumn('resource_id', 'text', (c) => c.notNull())
              .addColumn('param', 'text', (c) => c.notNull())
              .addColumn('token_hash', 'text', (c) => c.notNull())
              .addPrimaryKeyConstraint(`${name}_pk`, ['resource_type', 'param', 'token_hash', 'resource_id']),
          ),
        [['vault_search_resource', ['resource_type', 'resource_id']]],
      );
      await rebuild(
        'vault_current',
        (name) =>
          withoutRowid(
            db.schema
              .createTable(name)
              .addColumn('resource_type', 'text', (c) => c.notNull())
              .addColumn('id', 'text', (c) => c.notNull())
              .addColumn('version_id', 'integer', (c) => c.notNull())
              .addColumn('key_owner', 'text', (c) => c.notNull())
              .addColumn('last_updated', 'text', (c) => c.notNull())
              .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
              .addPrimaryKeyConstraint(`${name}_pk`, ['resource_type', 'id']),
          ),
        [
          ['vault_current_updated', ['resource_type', 'last_updated']],
          ['vault_current_owner', ['key_owner', 'resource_type']],
        ],
      );
    },
  },
];
