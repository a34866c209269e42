/**
 * @module vault/rotation
 * Re-wrapping data keys after a KEK rotation (`vigil keys rotate`). Only the small wrapped keys
 * change; resource ciphertexts stay as they are, because the data keys themselves do not change.
 *
 * Safe while the server keeps serving: a row always holds a valid seal (under the old KEK until
 * the moment it is replaced by one under the new KEK, and the KeyRing still holds both), and each
 * row is replaced by compare-and-set on the old value, so a key destroyed meanwhile is never
 * brought back and a concurrent run never writes over another's result. Idempotent and resumable:
 * the work left is always "rows whose kek_id is not the current one", so an interrupted run is
 * finished by running it again.
 *
 * Other processes on the same key directory need no restart: their KeyRing loads a KEK it meets
 * in a sealed value (`open`) and seals with the newest on disk (`seal`), see file-keyring.ts. Their
 * cached data keys stay valid, because a data key does not change when it is re-wrapped. What a
 * run cannot see is a writer that sealed a new data key under the old KEK just before the new KEK
 * appeared and commits after the last pass: {@link completeRotation} waits a settle time after the
 * rotation and passes again, and any such key left over stays readable (old KEKs are kept) and is
 * picked up by the next run.
 */
import type { Kysely } from 'kysely';
import { type Clock, systemClock } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import { dataKeyAad } from './data-keys.js';
import { type VaultTables, vaultDb } from './tables.js';

/** Progress of {@link rewrapDataKeys}, reported after each batch. */
export interface RewrapProgress {
  /** Keys re-wrapped so far in this run. */
  rewrapped: number;
  /** Keys under an older KEK when this run started (an estimate if writers add keys meanwhile). */
  total: number;
  /** The KEK everything is being moved to. */
  kekId: string;
}

/** Options of {@link rewrapDataKeys}. */
export interface RewrapOptions {
  /** Keys per batch (one transaction each; default 200). */
  batchSize?: number;
  clock?: Clock;
}

/** Re-wraps every data key sealed under an older KEK with the current one; returns how many. */
export async function rewrapDataKeys(
  db: AnyDb,
  keys: KeyRing,
  onProgress?: (progress: RewrapProgress) => void | Promise<void>,
  options: RewrapOptions = {},
): Promise<RewrapProgress> {
  const vdb: Kysely<VaultTables> = vaultDb(db);
  const kekId = keys.refresh();
  const batchSize = Math.max(1, options.batchSize ?? 200);
  const clock = options.clock ?? systemClock;
  const selectKeys = () => vdb.selectFrom('vault_data_keys');
  const stale = (q: ReturnType<typeof selectKeys>) =>
    q
      .where('wrapped_key', 'is not', null)
      .where((eb) => eb.or([eb('kek_id', '!=', kekId), eb('kek_id', 'is', null)]));
  const counted = await stale(selectKeys())
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  const progress: RewrapProgress = { rewrapped: 0, total: Number(counted?.n ?? 0), kekId };
  let after = '';
  for (;;) {
    const batch = await stale(selectKeys())
      .select(['owner', 'wrapped_key'])
      .where('owner', '>', after)
      .orderBy('owner')
      .limit(batchSize)
      .execute();
    if (batch.length === 0) break;
    after = batch[batch.length - 1]!.owner;
    const now = clock.now().toISOString();
    const done = await vdb.transaction().execute(async (trx) => {
      let n = 0;
      for (const row of batch) {
        const old = row.wrapped_key!;
        const aad = dataKeyAad(row.owner);
        const plain = keys.open(old, aad);
        const sealed = keys.seal(plain, aad);
        plain.fill(0);
        const res = await trx
          .updateTable('vault_data_keys')
          // The seal names its KEK: a rotation by another process during this run may be newer.
          .set({ wrapped_key: sealed, kek_id: keys.kekIdOf(sealed) ?? kekId, rewrapped_at: now })
          .where('owner', '=', row.owner)
          .where('wrapped_key', '=', old)
          .executeTakeFirst();
        n += Number(res.numUpdatedRows);
      }
      return n;
    });
    progress.rewrapped += done;
    await onProgress?.({ ...progress });
  }
  return progress;
}

/** Live data keys per KEK id (destroyed keys are left out), for `vigil keys status`. */
export async function dataKeysByKek(db: AnyDb): Promise<Array<{ kekId: string; keys: number }>> {
  const rows = await vaultDb(db)
    .selectFrom('vault_data_keys')
    .select((eb) => ['kek_id', eb.fn.countAll().as('n')])
    .where('wrapped_key', 'is not', null)
    .groupBy('kek_id')
    .execute();
  return rows
    .map((r) => ({ kekId: r.kek_id ?? '?', keys: Number(r.n) }))
    .sort((a, b) => a.kekId.localeCompare(b.kekId));
}

/** Live data keys sealed under a KEK other than the current one (the work a rotation has left). */
export async function staleDataKeyCount(db: AnyDb, keys: KeyRing): Promise<number> {
  const current = keys.refresh();
  return (await dataKeysByKek(db)).filter((k) => k.kekId !== current).reduce((n, k) => n + k.keys, 0);
}

/** Options of {@link completeRotation}. */
export interface CompleteRotationOptions extends RewrapOptions {
  /**
   * Until when (epoch ms) a writer may still seal under the previous KEK: passes go on until one
   * that started after this finds nothing (default: now, i.e. stop at the first empty pass).
   */
  settleUntil?: number;
  /** Most passes (default 20). */
  maxPasses?: number;
  /** Told the keys re-wrapped so far and the total known so far, after each batch. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** What {@link completeRotation} did. */
export interface RotationOutcome {
  kekId: string;
  rewrapped: number;
  passes: number;
  /** Live data keys still under an older KEK at the end (0 unless writers kept using it). */
  remaining: number;
}

/**
 * Re-wraps data keys until none is left under an older KEK: passes of {@link rewrapDataKeys},
 * repeated while they find work and until one that started after `settleUntil` finds none. Safe
 * to interrupt and run again.
 */
export async function completeRotation(
  db: AnyDb,
  keys: KeyRing,
  options: CompleteRotationOptions = {},
): Promise<RotationOutcome> {
  const settleUntil = options.settleUntil ?? 0;
  const maxPasses = Math.max(1, options.maxPasses ?? 20);
  let done = 0;
  let known = 0;
  let passes = 0;
  let kekId = keys.refresh();
  while (passes < maxPasses) {
    passes++;
    const startedAt = Date.now();
    const base = done;
    const r = await rewrapDataKeys(
      db,
      keys,
      async (p) => {
        known = Math.max(known, base + p.total);
        await options.onProgress?.(base + p.rewrapped, known);
      },
      options,
    );
    kekId = r.kekId;
    done += r.rewrapped;
    known = Math.max(known, base + r.total, done);
    await options.onProgress?.(done, known);
    if (r.rewrapped === 0 && startedAt >= settleUntil) break;
    const wait = settleUntil - Date.now();
    if (r.rewrapped === 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return { kekId, rewrapped: done, passes, remaining: await staleDataKeyCount(db, keys) };
}
