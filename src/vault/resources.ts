/**
 * @module vault/resources
 * Sealed storage of resource versions: each version's body is encrypted under its owner's data key
 * with associated data binding type, id and version (see resource-cipher.ts). This is the storage
 * floor the FHIR layer builds on; versioning rules, history and search semantics live there.
 */
import { type Kysely, sql } from 'kysely';
import { VigilError } from '../core/index.js';
import { type AnyDb, rowInserter } from '../platform/db/index.js';
import { type DataKeyStore, keyOwner } from './data-keys.js';
import { checkRef, openResource, type ResourceRef, sealResource } from './resource-cipher.js';
import { type ResourceRow, type VaultExecutor, type VaultTables, vaultDb } from './tables.js';

/** One resource version to store. */
export interface ResourceVersionInput extends ResourceRef {
  /** The patient the resource belongs to (its own id for a Patient); null for shared resources. */
  patientId: string | null;
  lastUpdated: string;
  deleted?: boolean;
  /** The resource JSON (or any bytes); encrypted before it reaches the database. */
  body: Buffer | string;
}

/** One decrypted resource version. */
export interface ResourceVersion extends ResourceRef {
  keyOwner: string;
  lastUpdated: string;
  deleted: boolean;
  body: Buffer;
}

/** Writes and reads encrypted resource versions. */
export class SealedResourceStore {
  readonly #db: Kysely<VaultTables>;
  readonly #dataKeys: DataKeyStore;
  readonly #insert = rowInserter(
    (db: Kysely<VaultTables>, row: ResourceRow) =>
      db
        .insertInto('vault_resources')
        .values(row)
        .onConflict((oc) => oc.columns(['resource_type', 'id', 'version_id']).doNothing()),
    ['resource_type', 'id', 'version_id', 'key_owner', 'last_updated', 'deleted', 'body'],
  );

  constructor(db: AnyDb, dataKeys: DataKeyStore) {
    this.#db = vaultDb(db);
    this.#dataKeys = dataKeys;
  }

  /** Encrypts and inserts one version (in `exec`'s transaction when given); CONFLICT if it exists. */
  async write(input: ResourceVersionInput, exec?: VaultExecutor): Promise<void> {
    checkRef(input);
    const owner = keyOwner(input.resourceType, input.patientId);
    const db = exec ? vaultDb(exec) : this.#db;
    const key = await this.#dataKeys.keyFor(owner, db);
    try {
      const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
      const inserted = await this.#insert(db, [
        {
          resource_type: input.resourceType,
          id: input.id,
          version_id: input.versionId,
          key_owner: owner,
          last_updated: input.lastUpdated,
          deleted: input.deleted ? 1 : 0,
          body: sealResource(key, input, body),
        },
      ]);
      if (inserted === 0) throw new VigilError('CONFLICT', 'This resource version exists already');
    } finally {
      key.fill(0);
    }
  }

  /** Reads and decrypts one version (the latest when `versionId` is omitted); null when absent. */
  async read(
    ref: { resourceType: string; id: string; versionId?: string },
    exec?: VaultExecutor,
  ): Promise<ResourceVersion | null> {
    const db = exec ? vaultDb(exec) : this.#db;
    let q = db
      .selectFrom('vault_resources')
      .selectAll()
      .where('resource_type', '=', ref.resourceType)
      .where('id', '=', ref.id);
    if (ref.versionId !== undefined) q = q.where('version_id', '=', ref.versionId);
    // Latest = highest version. Version ids are text: "10" sorts before "9", so order numeric ids by
    // length first (a clock that stepped back must not make an older version "latest" either).
    else q = q.orderBy(sql`length(version_id)`, 'desc').orderBy('version_id', 'desc').limit(1);
    const row = await q.executeTakeFirst();
    if (!row) return null;
    const key = await this.#dataKeys.existingKey(row.key_owner, db);
    try {
      const refOfRow = { resourceType: row.resource_type, id: row.id, versionId: row.version_id };
      return {
        ...refOfRow,
        keyOwner: row.key_owner,
        lastUpdated: row.last_updated,
        deleted: row.deleted === 1,
        body: openResource(key, refOfRow, row.body),
      };
    } finally {
      key.fill(0);
    }
  }
}
