/**
 * @module vault/repository
 * Versioned FHIR storage inside a caller's transaction: the head of each resource
 * (`vault_current`), its encrypted versions (`SealedResourceStore`) and its blind-index rows, kept
 * in step. No access checks or audit here: `interactions.ts` wraps every call with both, so the
 * repository can serve single requests, Bundles and bulk import alike.
 */
import { type Kysely, sql } from 'kysely';
import { type Clock, VigilError } from '../core/index.js';
import { compiledOnce, rowInserter } from '../platform/db/index.js';
import type { BlindIndex, IndexEntry } from './blind-index.js';
import { type DataKeyStore, keyOwner } from './data-keys.js';
import type { FhirResource } from './fhir-types.js';
import { openResource, sealResource } from './resource-cipher.js';
import type { SealedResourceStore } from './resources.js';
import { indexEntriesOf } from './search-values.js';
import type { CurrentRow, ResourceRow, VaultTables } from './tables.js';

/** One decrypted version of a resource, with its place in the history. */
export interface StoredVersion {
  resource: FhirResource;
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  deleted: boolean;
  patientId: string | null;
}

/** The patient id a data-key owner names (`Patient/<id>`), or null for a type key. */
export function patientOfOwner(owner: string): string | null {
  return owner.startsWith('Patient/') ? owner.slice('Patient/'.length) : null;
}

/** What a write stores. */
export interface WriteInput {
  resource: FhirResource;
  id: string;
  patientId: string | null;
  /** When set, the current version must be this one (If-Match); 0 means "must not exist". */
  expectedVersion?: number | undefined;
  deleted?: boolean;
}

// Rows per batched head/body read: far below every engine's parameter limit.
const READ_CHUNK = 500;

/** The current, non-deleted versions of a type with their sealed bodies; the caller adds the ids. */
const currentQuery = (db: Kysely<VaultTables>, type: string) =>
  db
    .selectFrom('vault_current as c')
    .innerJoin('vault_resources as r', (j) =>
      j
        .onRef('r.resource_type', '=', 'c.resource_type')
        .onRef('r.id', '=', 'c.id')
        .on('r.version_id', '=', sql<string>`cast(c.version_id as text)`),
    )
    .select(['c.id', 'c.version_id', 'c.key_owner', 'c.last_updated', 'r.body'])
    .where('c.resource_type', '=', type)
    .where('c.deleted', '=', 0);
// Rows per multi-row insert: 7 parameters each, far below SQLite's 32,766 and PostgreSQL's 65,535.
const INSERT_CHUNK = 500;

const BODY_COLUMNS = [
  'resource_type',
  'id',
  'version_id',
  'key_owner',
  'last_updated',
  'deleted',
  'body',
] as const;
const HEAD_COLUMNS = ['resource_type', 'id', 'version_id', 'key_owner', 'last_updated', 'deleted'] as const;

const headRow = (row: CurrentRow): CurrentRow => ({
  ...row,
  version_id: Number(row.version_id),
  deleted: Number(row.deleted),
});

/** Versioned, encrypted, indexed resource storage (see the module comment). */
export class FhirRepository {
  readonly #resources: SealedResourceStore;
  readonly #index: BlindIndex;
  readonly #dataKeys: DataKeyStore;
  readonly #clock: Clock;
  /** A read by id is the hottest query: compiled once per repository (so per database). */
  readonly #currentOne = compiledOnce((db: Kysely<VaultTables>, slot) =>
    currentQuery(db, slot('type')).where('c.id', '=', slot('id')),
  );
  /** The other statements of a single write, compiled once too (see `compiledOnce`, `rowInserter`). */
  readonly #headOne = compiledOnce((db: Kysely<VaultTables>, slot) =>
    db
      .selectFrom('vault_current')
      .selectAll()
      .where('resource_type', '=', slot('type'))
      .where('id', '=', slot('id')),
  );
  readonly #moveHead = compiledOnce((db: Kysely<VaultTables>, slot) =>
    db
      .updateTable('vault_current')
      .set({
        version_id: sql<number>`${slot('version')}`,
        key_owner: slot('owner'),
        last_updated: slot('lastUpdated'),
        deleted: sql<number>`${slot('deleted')}`,
      })
      .where('resource_type', '=', slot('type'))
      .where('id', '=', slot('id'))
      .where('version_id', '=', sql<number>`${slot('current')}`),
  );
  readonly #insertBodies = rowInserter(
    (db: Kysely<VaultTables>, row: ResourceRow) =>
      db
        .insertInto('vault_resources')
        .values(row)
        .onConflict((oc) => oc.columns(['resource_type', 'id', 'version_id']).doNothing()),
    BODY_COLUMNS,
  );
  readonly #insertHeads = rowInserter(
    (db: Kysely<VaultTables>, row: CurrentRow) =>
      db
        .insertInto('vault_current')
        .values(row)
        .onConflict((oc) => oc.columns(['resource_type', 'id']).doNothing()),
    HEAD_COLUMNS,
  );

  constructor(deps: {
    resources: SealedResourceStore;
    index: BlindIndex;
    dataKeys: DataKeyStore;
    clock: Clock;
  }) {
    this.#resources = deps.resources;
    this.#index = deps.index;
    this.#dataKeys = deps.dataKeys;
    this.#clock = deps.clock;
  }

  /** The head row of a resource, or undefined when it never existed. */
  async head(db: Kysely<VaultTables>, type: string, id: string): Promise<CurrentRow | undefined> {
    const [row] = await this.#headOne(db, { type, id });
    return row ? headRow(row) : undefined;
  }

  /** One decrypted version; null when absent. */
  async version(
    db: Kysely<VaultTables>,
    type: string,
    id: string,
    versionId: number,
  ): Promise<StoredVersion | null> {
    const v = await this.#resources.read({ resourceType: type, id, versionId: String(versionId) }, db);
    if (!v) return null;
    return {
      resource: JSON.parse(v.body.toString('utf8')) as FhirResource,
      resourceType: type,
      id,
      versionId,
      lastUpdated: v.lastUpdated,
      deleted: v.deleted,
      patientId: patientOfOwner(v.keyOwner),
    };
  }

  /** The version numbers of a resource, newest first. */
  async versions(db: Kysely<VaultTables>, type: string, id: string): Promise<number[]> {
    const rows = await db
      .selectFrom('vault_resources')
      .select('version_id')
      .where('resource_type', '=', type)
      .where('id', '=', id)
      .execute();
    return rows.map((r) => Number(r.version_id)).sort((a, b) => b - a);
  }

  /**
   * The current, non-deleted versions of many resources of one type, decrypted in batches (one
   * query per 500). Resources whose patient was erased are left out. Order follows `ids`.
   */
  async currentMany(db: Kysely<VaultTables>, type: string, ids: readonly string[]): Promise<StoredVersion[]> {
    const byId = new Map<string, StoredVersion>();
    // One unwrapped key per owner for the whole call (a search reads one patient's resources), or
    // null when the owner was erased; wiped at the end.
    const keys = new Map<string, Buffer | null>();
    try {
      for (let i = 0; i < ids.length; i += READ_CHUNK) {
        const chunk = ids.slice(i, i + READ_CHUNK);
        const rows =
          chunk.length === 1
            ? await this.#currentOne(db, { type, id: chunk[0] })
            : await currentQuery(db, type).where('c.id', 'in', chunk).execute();
        for (const row of rows) {
          let key = keys.get(row.key_owner);
          if (key === undefined) {
            try {
              key = await this.#dataKeys.existingKey(row.key_owner, db);
            } catch (err) {
              if (!(err instanceof VigilError && err.code === 'NOT_FOUND')) throw err;
              key = null; // erased
            }
            keys.set(row.key_owner, key);
          }
          if (key === null) continue;
          const versionId = Number(row.version_id);
          const body = openResource(
            key,
            { resourceType: type, id: row.id, versionId: String(versionId) },
            row.body,
          );
          byId.set(row.id, {
            resource: JSON.parse(body.toString('utf8')) as FhirResource,
            resourceType: type,
            id: row.id,
            versionId,
            lastUpdated: row.last_updated,
            deleted: false,
            patientId: patientOfOwner(row.key_owner),
          });
        }
      }
    } finally {
      for (const key of keys.values()) key?.fill(0);
    }
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** The heads of several resources of one type (deleted ones included), by id. */
  async heads(
    db: Kysely<VaultTables>,
    type: string,
    ids: readonly string[],
  ): Promise<Map<string, CurrentRow>> {
    const out = new Map<string, CurrentRow>();
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      const rows = await db
        .selectFrom('vault_current')
        .selectAll()
        .where('resource_type', '=', type)
        .where('id', 'in', ids.slice(i, i + READ_CHUNK))
        .execute();
      for (const r of rows) out.set(r.id, headRow(r));
    }
    return out;
  }

  /**
   * Writes version 1 of resources that have no history yet (bulk import), with one multi-row
   * insert per table instead of a statement per row: the same rows `write` makes. A resource that
   * exists meanwhile (another writer) fails the whole batch on the primary key: its transaction
   * rolls back and the import, being idempotent, can be re-run.
   */
  async writeNew(
    db: Kysely<VaultTables>,
    inputs: ReadonlyArray<{ resource: FhirResource; id: string; patientId: string | null }>,
  ): Promise<StoredVersion[]> {
    const lastUpdated = this.#clock.now().toISOString();
    const keys = new Map<string, Buffer>();
    const bodies: ResourceRow[] = [];
    const heads: CurrentRow[] = [];
    const index: Array<{ resourceType: string; id: string; entries: IndexEntry[] }> = [];
    const out: StoredVersion[] = [];
    try {
      for (const input of inputs) {
        const type = input.resource.resourceType;
        const { resourceType, id: _ignored, meta, ...rest } = input.resource;
        const resource: FhirResource = {
          resourceType,
          id: input.id,
          meta: { ...(meta ?? {}), versionId: '1', lastUpdated },
          ...rest,
        };
        const owner = keyOwner(type, input.patientId);
        let key = keys.get(owner);
        if (!key) {
          key = await this.#dataKeys.keyFor(owner, db);
          keys.set(owner, key);
        }
        const ref = { resourceType: type, id: input.id, versionId: '1' };
        bodies.push({
          resource_type: type,
          id: input.id,
          version_id: '1',
          key_owner: owner,
          last_updated: lastUpdated,
          deleted: 0,
          body: sealResource(key, ref, Buffer.from(JSON.stringify(resource), 'utf8')),
        });
        heads.push({
          resource_type: type,
          id: input.id,
          version_id: 1,
          key_owner: owner,
          last_updated: lastUpdated,
          deleted: 0,
        });
        index.push({ resourceType: type, id: input.id, entries: indexEntriesOf(resource, input.patientId) });
        out.push({
          resource,
          resourceType: type,
          id: input.id,
          versionId: 1,
          lastUpdated,
          deleted: false,
          patientId: input.patientId,
        });
      }
    } finally {
      for (const k of keys.values()) k.fill(0);
    }
    for (let i = 0; i < bodies.length; i += INSERT_CHUNK) {
      const chunk = bodies.slice(i, i + INSERT_CHUNK);
      // The conflict clause serves single writes; here a version that exists is another writer's.
      if ((await this.#insertBodies(db, chunk)) !== chunk.length)
        throw new VigilError('CONFLICT', 'A resource of this batch was written meanwhile; retry');
      if ((await this.#insertHeads(db, heads.slice(i, i + INSERT_CHUNK))) !== chunk.length)
        throw new VigilError('CONFLICT', 'A resource of this batch was written meanwhile; retry');
    }
    await this.#index.indexNew(index, db);
    return out;
  }

  /**
   * Writes the next version: checks the expected version, encrypts the body with `meta.versionId`
   * and `meta.lastUpdated` set, moves the head, and replaces the index rows (removes them for a
   * deletion). CONFLICT when another writer took the version number first.
   */
  async write(db: Kysely<VaultTables>, input: WriteInput): Promise<StoredVersion> {
    const type = input.resource.resourceType;
    // A create (expected version 0, e.g. a server-assigned id) does not read the head first: its
    // inserts find an existing resource by their keys (nothing is written then), and only that
    // rare case reads the head, for the precise answer below.
    const creating = input.expectedVersion === 0;
    const head = creating ? undefined : await this.head(db, type, input.id);
    const current = head?.version_id ?? 0;
    const mismatch = (at: number) =>
      new VigilError(
        'CONFLICT',
        at === 0
          ? `${type}/${input.id} does not exist (If-Match expected version ${input.expectedVersion})`
          : `${type}/${input.id} is at version ${at}, not ${input.expectedVersion}`,
        { details: { fhirStatus: 412, fhirCode: 'conflict', currentVersion: at } },
      );
    if (input.expectedVersion !== undefined && input.expectedVersion !== current) throw mismatch(current);
    const existing = async (err: unknown): Promise<never> => {
      const found = creating && err instanceof VigilError && err.code === 'CONFLICT';
      const at = found ? (await this.head(db, type, input.id))?.version_id : undefined;
      throw at ? mismatch(at) : err;
    };
    const versionId = current + 1;
    const lastUpdated = this.#clock.now().toISOString();
    const { resourceType, id: _ignored, meta, ...rest } = input.resource;
    const resource: FhirResource = {
      resourceType,
      id: input.id,
      meta: { ...(meta ?? {}), versionId: String(versionId), lastUpdated },
      ...rest,
    };
    const deleted = input.deleted === true;
    const owner = keyOwner(type, input.patientId);
    await this.#resources
      .write(
        {
          resourceType: type,
          id: input.id,
          versionId: String(versionId),
          patientId: input.patientId,
          lastUpdated,
          deleted,
          body: JSON.stringify(resource),
        },
        db,
      )
      .catch(existing);
    const values = {
      version_id: versionId,
      key_owner: owner,
      last_updated: lastUpdated,
      deleted: deleted ? 1 : 0,
    };
    if (head) {
      const res = await this.#moveHead.result(db, {
        version: versionId,
        owner,
        lastUpdated,
        deleted: values.deleted,
        type,
        id: input.id,
        current,
      });
      if (Number(res.numAffectedRows ?? 0n) !== 1)
        throw new VigilError('CONFLICT', `${type}/${input.id} changed meanwhile; retry`);
    } else {
      if ((await this.#insertHeads(db, [{ resource_type: type, id: input.id, ...values }])) !== 1)
        await existing(new VigilError('CONFLICT', `${type}/${input.id} was created meanwhile; retry`));
    }
    if (deleted) await this.#index.removeResources(type, [input.id], db);
    else if (!head)
      // A new resource has no index rows to replace.
      await this.#index.indexNew(
        [{ resourceType: type, id: input.id, entries: indexEntriesOf(resource, input.patientId) }],
        db,
      );
    else
      await this.#index.indexResource(
        { resourceType: type, id: input.id },
        indexEntriesOf(resource, input.patientId),
        db,
      );
    return {
      resource,
      resourceType: type,
      id: input.id,
      versionId,
      lastUpdated,
      deleted,
      patientId: input.patientId,
    };
  }
}
