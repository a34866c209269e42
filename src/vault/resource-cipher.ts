/**
 * @module vault/resource-cipher
 * Encryption of one resource version under its data key: AES-256-GCM, a random 96-bit IV, and
 * associated data `vigil-vault-resource|v1|<resourceType>|<id>|<versionId>`. The associated data is
 * what stops a database writer from moving a ciphertext to another row or version (say, replacing
 * the current Observation with an older one, or one patient's record with another's of the same
 * key): it then fails authentication instead of reading as valid data.
 *
 * Pure (no I/O): the data key comes from `DataKeyStore`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VigilError } from '../core/index.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'r1.';
/** IVs are drawn from a pool of CSPRNG bytes (one `randomBytes` call per 1024), each used once. */
const IV_POOL_BYTES = IV_BYTES * 1024;
let ivPool = Buffer.alloc(0);
let ivAt = 0;

function freshIv(): Buffer {
  if (ivAt + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivAt = 0;
  }
  const iv = ivPool.subarray(ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return iv;
}

/** Where a resource version lives; bound into its ciphertext. */
export interface ResourceRef {
  resourceType: string;
  id: string;
  versionId: string;
}

const TYPE_RE = /^[A-Z][A-Za-z]{0,63}$/;
// FHIR ids: [A-Za-z0-9\-\.]{1,64}. No '|' can appear, so the associated data is unambiguous.
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/** Throws BAD_REQUEST unless the type, id and version are FHIR-shaped (they go into the aad). */
export function checkRef(ref: ResourceRef): void {
  if (!TYPE_RE.test(ref.resourceType)) throw new VigilError('BAD_REQUEST', 'Invalid resource type');
  if (!ID_RE.test(ref.id)) throw new VigilError('BAD_REQUEST', 'Invalid resource id');
  if (!ID_RE.test(ref.versionId)) throw new VigilError('BAD_REQUEST', 'Invalid version id');
}

/** The associated data of a resource version (exported for tests and the stream format). */
export function resourceAad(ref: ResourceRef): Buffer {
  checkRef(ref);
  return Buffer.from(`vigil-vault-resource|v1|${ref.resourceType}|${ref.id}|${ref.versionId}`, 'utf8');
}

/** Encrypts a resource body; the result is text (`r1.` + base64url of IV, ciphertext, tag). */
export function sealResource(dataKey: Buffer, ref: ResourceRef, plaintext: Buffer): string {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(resourceAad(ref));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return PREFIX + Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
}

/** Decrypts a resource body; throws when it was changed, moved to another row/version, or the key is wrong. */
export function openResource(dataKey: Buffer, ref: ResourceRef, sealed: string): Buffer {
  if (!sealed.startsWith(PREFIX)) throw new VigilError('INTERNAL', 'Sealed resource has an unknown format');
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new VigilError('INTERNAL', 'Sealed resource is truncated');
  const decipher = createDecipheriv('aes-256-gcm', dataKey, raw.subarray(0, IV_BYTES));
  decipher.setAAD(resourceAad(ref));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new VigilError(
      'INTERNAL',
      'Sealed resource failed authentication (tampered, swapped or wrong key)',
    );
  }
}
