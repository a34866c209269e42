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
 * Other server processes must know the new KEK before their cached keys expire (they reload the
 * key directory on restart); see the session report.
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
  const kekId = keys.currentKekId();
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
          .set({ wrapped_key: sealed, kek_id: kekId, rewrapped_at: now })
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
