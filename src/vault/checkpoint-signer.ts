/**
 * @module vault/checkpoint-signer
 * The Ed25519 key that signs audit checkpoints.
 *
 * Choice: the private key is derived from the KeyRing (`deriveKey('vault-audit-checkpoint')` is
 * the 32-byte Ed25519 seed) rather than kept in its own key file. It lives where every other vault
 * secret lives (outside the database, in the key directory or an external key manager), is backed
 * up with it, is the same in every server process without coordination (two processes on one
 * PostgreSQL sign with one key), and needs nothing new from the KeyRing interface. It does not
 * change on KEK rotation (derived keys come from the root secret), so checkpoints stay verifiable
 * with one published public key. The cost: whoever holds the root secret can sign, which is
 * equally true of a key file in the same directory; what checkpoints defend against is someone
 * with the database only (a DBA, a stolen backup, SQL injection), who cannot.
 *
 * Outside verifiers get the public key as PEM (`publicKeyPem()`); `keyId` names it.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { KeyRing } from '../platform/keys/index.js';

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The signed statement: "the chain up to `uptoSeq` ends in `hash`". */
export function checkpointMessage(uptoSeq: number, hash: string): Buffer {
  return Buffer.from(`vigil-audit-checkpoint|v1|${uptoSeq}|${hash}`, 'utf8');
}

/** Signs checkpoints; exports the public key. */
export class CheckpointSigner {
  readonly #private: KeyObject;
  /** The public key, for `verifyAudit`. */
  readonly publicKey: KeyObject;
  /** A short id of the public key (hex of the first 8 bytes of the SHA-256 of its SPKI DER). */
  readonly keyId: string;

  private constructor(seed: Buffer) {
    this.#private = createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    seed.fill(0);
    this.publicKey = createPublicKey(this.#private);
    const spki = this.publicKey.export({ format: 'der', type: 'spki' });
    this.keyId = createHash('sha256').update(spki).digest().subarray(0, 8).toString('hex');
  }

  /** The signer whose seed the KeyRing derives (see the module comment for why). */
  static fromKeyRing(keys: KeyRing): CheckpointSigner {
    return new CheckpointSigner(keys.deriveKey('vault-audit-checkpoint'));
  }

  /** The public key as PEM (SPKI), for outside verifiers. */
  publicKeyPem(): string {
    return this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }

  /** A base64 Ed25519 signature of the checkpoint statement. */
  sign(uptoSeq: number, hash: string): string {
    return sign(null, checkpointMessage(uptoSeq, hash), this.#private).toString('base64');
  }
}

/** Whether `signature` is a valid signature of the checkpoint under `publicKey` (a KeyObject or PEM). */
export function verifyCheckpointSignature(
  publicKey: KeyObject | string,
  uptoSeq: number,
  hash: string,
  signature: string,
): boolean {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    return verify(null, checkpointMessage(uptoSeq, hash), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
