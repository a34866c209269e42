/**
 * @module vault/patient-ref
 * The pseudonymous patient reference used outside the vault (audit entries, events, the sensor's
 * exposure records): a keyed hash of `Patient/<id>`, so the audit trail and other domains can be
 * joined on a patient without holding an identifier, and an erased patient's audit entries stay
 * pseudonymous. 128 bits, hex.
 */
import { createHmac } from 'node:crypto';
import type { KeyRing } from '../platform/keys/index.js';

const KNOWN_MAX = 10_000;

/** A function from a patient id to its pseudonymous reference. */
export type PatientRefHasher = (patientId: string) => string;

/** Builds the hasher from the key ring (key `vault-patient-ref`, derived outside the database). */
export function patientRefHasher(keys: KeyRing): PatientRefHasher {
  const key = keys.deriveKey('vault-patient-ref');
  // Every read and write names its patient: remember the last few thousand references.
  const known = new Map<string, string>();
  return (patientId) => {
    let ref = known.get(patientId);
    if (ref === undefined) {
      ref = createHmac('sha256', key)
        .update(`Patient/${patientId}`, 'utf8')
        .digest()
        .subarray(0, 16)
        .toString('hex');
      if (known.size >= KNOWN_MAX) known.clear();
      known.set(patientId, ref);
    }
    return ref;
  };
}
