/**
 * @module vault/data-keys
 * Envelope encryption's inner keys. Each patient has a 32-byte random data key (resources with no
 * patient: one per resource type). The key is stored only sealed by the KeyRing, whose KEKs live
 * outside the database, with associated data naming its owner, so a wrapped key copied to another
 * owner's row does not open. Unwrapped keys are cached in a bounded LRU.
 *
 * Why per patient: erasing a patient is destroying one key (crypto-shredding: every ciphertext of
 * theirs, including copies in database backups, becomes unreadable), and a leaked key exposes one
 * patient, not the hospital.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Clock, systemClock, VigilError } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import { LruCache } from './lru.js';
import { type VaultExecutor, type VaultTables, vaultDb } from './tables.js';

const DATA_KEY_BYTES = 32;
const OWNER_RE = /^(Patient\/[A-Za-z0-9\-.]{1,64}|type\/[A-Z][A-Za-z]{0,63})$/;

/** The data key's owner: `Patient/<id>` for a patient's data, `type/<ResourceType>` otherwise. */
export function keyOwner(resourceType: string, patientId: string | null): string {
  const owner = patientId === null ? `type/${resourceType}` : `Patient/${patientId}`;
  if (!OWNER_RE.test(owner)) throw new VigilError('BAD_REQUEST', 'Invalid data key owner');
  return owner;
}

/** The associated data a data key is sealed with: its owner. */
export function dataKeyAad(owner: string): string {
  return `vigil-vault-data-key|${owner}`;
}

/**
 * Thrown when the owner's key was destroyed: their data is gone for good. NOT_FOUND (404) on the
 * JSON API; under `/fhir` it answers 410 Gone (`details.fhirStatus`), as for a deleted resource.
 */
export class DataKeyDestroyedError extends VigilError {
  constructor() {
    super('NOT_FOUND', 'This data was erased', {
      details: { erased: true, fhirStatus: 410, fhirCode: 'deleted' },
    });
    this.name = 'DataKeyDestroyedError';
  }
}

/** Options of {@link DataKeyStore}. */
export interface DataKeyStoreOptions {
  /** Unwrapped keys kept in memory (default 10,000: 32 bytes each plus overhead). */
  cacheSize?: number;
  /**
   * How long an unwrapped key may be used from the cache (default 60 s). Bounds how long another
   * server process can keep reading a patient after this one shredded their key; re-reading a key
   * costs one indexed select and one unwrap a minute per active patient.
   */
  cacheMaxAgeMs?: number;
  clock?: Clock;
}

/** Creates, unwraps, caches and destroys data keys. */
export class DataKeyStore {
  readonly #db: Kysely<VaultTables>;
  readonly #keys: KeyRing;
  readonly #cache: LruCache<string, Buffer>;
  readonly #clock: Clock;

  constructor(db: AnyDb, keys: KeyRing, options: DataKeyStoreOptions = {}) {
    this.#db = vaultDb(db);
    this.#keys = keys;
    this.#clock = options.clock ?? systemClock;
    this.#cache = new LruCache<string, Buffer>(
      {
        maxEntries: options.cacheSize ?? 10_000,
        maxAgeMs: options.cacheMaxAgeMs ?? 60_000,
        now: () => this.#clock.now().getTime(),
      },
      // Wipe a key leaving the cache; callers receive copies, so this never breaks them.
      (key) => key.fill(0),
    );
  }

  /**
   * The owner's data key, created on first use. `exec` is the caller's transaction when there is
   * one (on SQLite a query outside it would wait for it to finish). Two writers creating the same
   * owner's key at once both end up with the one that was stored first.
   */
  async keyFor(owner: string, exec?: VaultExecutor): Promise<Buffer> {
    const cached = this.#cache.get(owner);
    if (cached) return Buffer.from(cached);
    if (!OWNER_RE.test(owner)) throw new VigilError('BAD_REQUEST', 'Invalid data key owner');
    const db = exec ? vaultDb(exec) : this.#db;
    let row = await this.#row(db, owner);
    if (!row) {
      const fresh = randomBytes(DATA_KEY_BYTES);
      const sealed = this.#keys.seal(fresh, dataKeyAad(owner));
      fresh.fill(0);
      await db
        .insertInto('vault_data_keys')
        .values({
          owner,
          wrapped_key: sealed,
          kek_id: this.#keys.kekIdOf(sealed) ?? null,
          created_at: this.#clock.now().toISOString(),
          rewrapped_at: null,
          destroyed_at: null,
        })
        .onConflict((oc) => oc.column('owner').doNothing())
        .execute();
      row = await this.#row(db, owner);
    }
    return this.#unwrap(owner, row);
  }

  /** The owner's existing data key; NOT_FOUND when there is none, {@link DataKeyDestroyedError} when shredded. */
  async existingKey(owner: string, exec?: VaultExecutor): Promise<Buffer> {
    const cached = this.#cache.get(owner);
    if (cached) return Buffer.from(cached);
    const row = await this.#row(exec ? vaultDb(exec) : this.#db, owner);
    if (!row) throw new VigilError('NOT_FOUND', 'No data key for this owner');
    return this.#unwrap(owner, row);
  }

  async #row(db: Kysely<VaultTables>, owner: string) {
    return db
      .selectFrom('vault_data_keys')
      .select(['wrapped_key', 'destroyed_at'])
      .where('owner', '=', owner)
      .executeTakeFirst();
  }

  #unwrap(owner: string, row: { wrapped_key: string | null } | undefined): Buffer {
    if (!row) throw new VigilError('INTERNAL', 'Data key vanished while it was being created');
    if (row.wrapped_key === null) throw new DataKeyDestroyedError();
    const key = this.#keys.open(row.wrapped_key, dataKeyAad(owner));
    this.#cache.set(owner, key);
    return Buffer.from(key);
  }

  /**
   * Crypto-shredding: overwrites the wrapped key with null and keeps a tombstone row, in `exec`'s
   * transaction when given. Returns false when the owner's key was destroyed already. The cache entry is
   * dropped (and wiped) here; other processes drop theirs within `cacheMaxAgeMs`.
   */
  async destroy(owner: string, exec?: VaultExecutor): Promise<boolean> {
    const db = exec ? vaultDb(exec) : this.#db;
    const now = this.#clock.now().toISOString();
    const res = await db
      .updateTable('vault_data_keys')
      .set({ wrapped_key: null, kek_id: null, destroyed_at: now })
      .where('owner', '=', owner)
      .where('wrapped_key', 'is not', null)
      .executeTakeFirst();
    let destroyed = Number(res.numUpdatedRows) > 0;
    if (!destroyed) {
      // No key yet: write the tombstone so that none is created later for an erased owner.
      const ins = await db
        .insertInto('vault_data_keys')
        .values({
          owner,
          wrapped_key: null,
          kek_id: null,
          created_at: now,
          rewrapped_at: null,
          destroyed_at: now,
        })
        .onConflict((oc) => oc.column('owner').doNothing())
        .executeTakeFirst();
      destroyed = Number(ins.numInsertedOrUpdatedRows ?? 0n) > 0;
    }
    this.#cache.delete(owner);
    return destroyed;
  }

  /** Drops one owner's cached key (after another process changed it) or, without an owner, all. */
  evict(owner?: string): void {
    if (owner === undefined) this.#cache.clear();
    else this.#cache.delete(owner);
  }
}
