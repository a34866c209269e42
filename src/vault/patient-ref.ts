/**
 * @module vault/patient-ref
 * The pseudonymous patient reference used outside the vault (audit entries, events, the sensor's
 * exposure records): a keyed hash of `Patient/<id>`, so the audit trail and other domains can be
 * joined on a patient without holding an identifier, and an erased patient's audit entries stay
 * pseudonymous. 128 bits, hex.
 */
import { createHmac } from 'node:crypto';
import type { KeyRing } from '../platform/keys/index.js';

/** A function from a patient id to its pseudonymous reference. */
export type PatientRefHasher = (patientId: string) => string;

/** Builds the hasher from the key ring (key `vault-patient-ref`, derived outside the database). */
export function patientRefHasher(keys: KeyRing): PatientRefHasher {
  const key = keys.deriveKey('vault-patient-ref');
  return (patientId) =>
    createHmac('sha256', key).update(`Patient/${patientId}`, 'utf8').digest().subarray(0, 16).toString('hex');
}
