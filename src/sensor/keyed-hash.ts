/**
 * @module sensor/keyed-hash
 * Patient identifiers seen on the wire are kept only as a keyed hash (HMAC-SHA256), so a breach
 * scoping can count and match patients across DICOM and HL7 without the sensor storing any.
 */
import { createHmac } from 'node:crypto';

/** Turns a raw patient identifier into its keyed hash. */
export type PatientIdHasher = (id: string) => string;

/** A hasher bound to `key`: HMAC-SHA256 of the trimmed identifier, hex, prefixed `hmac-sha256:`. */
export function makePatientIdHasher(key: Uint8Array): PatientIdHasher {
  if (key.length < 16) throw new Error('patient id key must be at least 16 bytes');
  const k = Buffer.from(key);
  return (id) => `hmac-sha256:${createHmac('sha256', k).update(id.trim(), 'utf8').digest('hex')}`;
}
