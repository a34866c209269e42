/**
 * @module vault/erasure
 * Erasure (GDPR Art. 17) by crypto-shredding: the patient's data key is destroyed, so every
 * ciphertext of theirs (in the database, its replicas and its backups) can no longer be read, and
 * their blind-index rows are removed so nothing links to them. The audit trail stays, naming the
 * patient only by keyed hash. A legal hold refuses erasure with its reason.
 */
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { AuditActor } from './audit-entry.js';
import type { AuditTrail } from './audit-trail.js';
import type { BlindIndex } from './blind-index.js';
import { type DataKeyStore, keyOwner } from './data-keys.js';
import type { PatientRefHasher } from './patient-ref.js';
import { type VaultExecutor, type VaultTables, vaultDb } from './tables.js';

/**
 * Asked before erasing: the reason a legal hold forbids erasure (litigation, an investigation,
 * a retention law), or null. The vault does not decide holds; the hospital's process does. It is
 * asked inside the erasure's transaction (`exec`), so a hold and an erasure never interleave.
 */
export type LegalHoldCheck = (
  patientId: string,
  exec: VaultExecutor,
) => Promise<string | null> | string | null;

/** What erasure needs. */
export interface ErasureDeps {
  db: AnyDb;
  dataKeys: DataKeyStore;
  index: BlindIndex;
  audit: AuditTrail;
  patientRef: PatientRefHasher;
  legalHold?: LegalHoldCheck;
}

/** What an erasure did. */
export interface ErasureResult {
  /** Resource versions whose ciphertext is now unreadable. */
  versions: number;
  /** Whether a live key was destroyed (false: it had been erased before). */
  keyDestroyed: boolean;
}

/** Thrown inside the transaction when a hold stands: rolls it back, then answered as CONFLICT. */
class HeldError extends Error {
  constructor(readonly reason: string) {
    super('legal hold');
  }
}

/**
 * Erases a patient: refuses with CONFLICT (reason in `details.legalHold`, and a `denied` audit
 * entry) under a legal hold; otherwise destroys the key, removes the index rows and appends the
 * `erase` entry, all in one transaction (the hold is checked in it too).
 */
export async function erasePatient(
  deps: ErasureDeps,
  patientId: string,
  actor: AuditActor,
): Promise<ErasureResult> {
  const owner = keyOwner('Patient', patientId);
  const ref = deps.patientRef(patientId);
  try {
    const result = await vaultDb(deps.db)
      .transaction()
      .execute(async (trx: Kysely<VaultTables>) => {
        const hold = deps.legalHold ? await deps.legalHold(patientId, trx) : null;
        if (hold !== null) throw new HeldError(hold);
        const rows = await trx
          .selectFrom('vault_resources')
          .select(['resource_type', 'id'])
          .where('key_owner', '=', owner)
          .execute();
        const byType = new Map<string, Set<string>>();
        for (const r of rows) {
          const ids = byType.get(r.resource_type) ?? new Set<string>();
          ids.add(r.id);
          byType.set(r.resource_type, ids);
        }
        for (const [type, ids] of byType) await deps.index.removeResources(type, [...ids], trx);
        const keyDestroyed = await deps.dataKeys.destroy(owner, trx);
        await deps.audit.appendInTransaction(trx, {
          actor,
          action: 'erase',
          resources: [owner],
          patientRef: ref,
          outcome: 'success',
        });
        return { versions: rows.length, keyDestroyed };
      });
    // A read in this process between the destruction and the commit may have cached the key again.
    deps.dataKeys.evict(owner);
    return result;
  } catch (err) {
    if (!(err instanceof HeldError)) throw err;
    await deps.audit.append({
      actor,
      action: 'erase',
      resources: [owner],
      patientRef: ref,
      outcome: 'denied',
    });
    throw new VigilError('CONFLICT', `The patient is under a legal hold: ${err.reason}`, {
      details: { legalHold: err.reason },
    });
  }
}
