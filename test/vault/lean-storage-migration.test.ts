/**
 * vault-0007 on a vault that already holds data: every row of the rebuilt tables comes through
 * unchanged (SQLite copies them into `without rowid` tables), and the audit hash is no longer a
 * unique key on either engine.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/platform/db/index.js';
import { vaultMigrations } from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';

const LEAN = 'vault-0007-lean-storage';
const before = vaultMigrations.slice(
  0,
  vaultMigrations.findIndex((m) => m.id === LEAN),
);
const TABLES = ['vault_audit', 'vault_search', 'vault_current'] as const;
const ORDER: Record<(typeof TABLES)[number], string> = {
  vault_audit: 'seq',
  vault_search: 'resource_type, param, token_hash, resource_id',
  vault_current: 'resource_type, id',
};

for (const engine of testDatabases()) {
  describe(`${LEAN} on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('keeps every row of the tables it rebuilds, and drops the unique audit hash', async () => {
      const database = await engine.open();
      const { db } = database;
      try {
        expect(before.length).toBeGreaterThan(0);
        await runMigrations(database, before);
        for (let i = 1; i <= 30; i++) {
          await sql`insert into vault_audit (seq, time, actor_id, actor_role, action, resources, patient_ref,
            outcome, break_glass_reason, search_result_ids, prev_hash, hash)
            values (${i}, ${`2026-06-01T10:00:${String(i).padStart(2, '0')}.000Z`}, ${`u${i % 3}`}, 'clinician',
              'read', ${`["Observation/o${i}"]`}, ${i % 2 ? `p${i}` : null}, 'success', ${null},
              ${i % 5 ? null : '["o1","o2"]'}, ${`prev${i}`}, ${`hash${i}`})`.execute(db);
          await sql`insert into vault_search (resource_type, resource_id, param, token_hash)
            values ('Observation', ${`o${i}`}, 'code', ${`t${i % 4}`})`.execute(db);
          await sql`insert into vault_current (resource_type, id, version_id, key_owner, last_updated, deleted)
            values ('Observation', ${`o${i}`}, ${i}, ${`Patient/p${i % 7}`}, '2026-06-01T10:00:00.000Z', ${i % 9 ? 0 : 1})`.execute(
            db,
          );
        }
        // Each row as the text of its values (PostgreSQL gives bigint columns back as strings):
        // values are compared, not types.
        const rows = async (t: (typeof TABLES)[number]) =>
          (await sql`select * from ${sql.table(t)} order by ${sql.raw(ORDER[t])}`.execute(db)).rows.map((r) =>
            JSON.stringify(Object.values(r as Record<string, unknown>).map(String)),
          );
        const seen = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await rows(t)])));

        expect((await runMigrations(database, vaultMigrations)).applied).toEqual([LEAN]);

        for (const t of TABLES) {
          const after = await rows(t);
          expect(after.length).toBe(30);
          expect(after).toEqual(seen[t]);
        }
        // Another entry with an existing hash is no longer refused by a unique index.
        await sql`insert into vault_audit (seq, time, actor_id, actor_role, action, resources, outcome, prev_hash, hash)
          values (31, '2026-06-01T10:01:00.000Z', 'u1', 'clinician', 'read', '[]', 'success', 'hash30', 'hash30')`.execute(
          db,
        );
        if (database.flags.dialect === 'sqlite') {
          const defs = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master
            where type = 'table' and name in ('vault_search', 'vault_current')`.execute(db);
          expect(defs.rows).toHaveLength(2);
          for (const d of defs.rows) expect(d.sql.toLowerCase()).toContain('without rowid');
          // The old tables' indexes are back on the rebuilt ones.
          const indexes = await sql<{ name: string }>`select name from sqlite_master where type = 'index'
            and tbl_name in ('vault_audit', 'vault_search', 'vault_current') and name not like 'sqlite_%'
            order by name`.execute(db);
          expect(indexes.rows.map((r) => r.name)).toEqual([
            'vault_audit_actor',
            'vault_audit_patient',
            'vault_audit_time',
            'vault_current_owner',
            'vault_current_updated',
            'vault_search_resource',
          ]);
        }
      } finally {
        await database.close();
      }
    });
  });
}
