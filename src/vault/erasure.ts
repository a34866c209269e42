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
import { type VaultTables, vaultDb } from './tables.js';

/**
 * Asked before erasing: the reason a legal hold forbids erasure (litigation, an investigation,
 * a retention law), or null. The vault does not decide holds; the hospital's process does.
 */
export type LegalHoldCheck = (patientId: string) => Promise<string | null> | string | null;

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

/**
 * Erases a patient: refuses with CONFLICT (reason in `details.legalHold`, and a `denied` audit
 * entry) under a legal hold; otherwise destroys the key, removes the index rows and appends the
 * `erase` entry, all in one transaction.
 */
export async function erasePatient(
  deps: ErasureDeps,
  patientId: string,
  actor: AuditActor,
): Promise<ErasureResult> {
  const owner = keyOwner('Patient', patientId);
  const ref = deps.patientRef(patientId);
  const hold = deps.legalHold ? await deps.legalHold(patientId) : null;
  if (hold !== null) {
    await deps.audit.append({
      actor,
      action: 'erase',
      resources: [owner],
      patientRef: ref,
      outcome: 'denied',
    });
    throw new VigilError('CONFLICT', `The patient is under a legal hold: ${hold}`, {
      details: { legalHold: hold },
    });
  }
  return vaultDb(deps.db)
    .transaction()
    .execute(async (trx: Kysely<VaultTables>) => {
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
}
