/**
 * @module platform/keys/keyring
 * The key interface every domain receives. Keys never enter the database or a log. The default is
 * a key directory (`FileKeyRing`); an external key manager can implement the same interface.
 */
export interface KeyRing {
  /** Id of the key-encryption key that new seals use. */
  currentKekId(): string;
  /** Every KEK id still held (older ones open what they sealed until re-wrapped). */
  kekIds(): string[];
  /**
   * Loads KEKs another process added (a rotation by `vigil keys rotate` while this one runs) and
   * makes the newest current; returns the current id. Implementations also do this by themselves
   * when `seal` or `open` meets a newer KEK, so callers need it only to ask "which is current now?".
   */
  refresh(): string;
  /** Adds a new KEK and makes it current; returns its id. Old KEKs stay to open old seals. */
  rotate(): string;
  /** AES-256-GCM under the current KEK; `aad` binds the ciphertext to its place (type, id, field). */
  seal(plaintext: Buffer, aad: string): string;
  /** Opens a sealed value; throws when the value was tampered with, moved (other aad) or its KEK is gone. */
  open(sealed: string, aad: string): Buffer;
  /** The KEK id a sealed value was made with (to find what needs re-wrapping after rotation). */
  kekIdOf(sealed: string): string | undefined;
  /** A 32-byte key bound to a purpose (HMAC for CSRF tokens, blind indexes, patient references). */
  deriveKey(purpose: string): Buffer;
}
