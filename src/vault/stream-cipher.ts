/**
 * @module vault/stream-cipher
 * Streamed encryption of binaries (uploads, attachments) so memory stays flat whatever the size:
 * chunked AES-256-GCM in the manner of the STREAM construction (Hoang, Reyhanitabar, Rogaway,
 * Vizár 2015).
 *
 * Format: a 32-byte header, then frames.
 *   header = "VGB1" | chunkSize (uint32 BE) | salt (16 random bytes) | noncePrefix (8 random bytes)
 *   frame i = AES-256-GCM(objectKey, nonce = noncePrefix | i (uint32 BE),
 *                         aad = header | final (1 byte: 1 on the last frame, else 0) | binding)
 *             → ciphertext | 16-byte tag
 * Every frame but the last holds exactly `chunkSize` plaintext bytes; the last holds 0..chunkSize.
 * `objectKey` = HKDF-SHA256(dataKey, salt, "vigil:vault:binary"), a fresh key per object, so the
 * counter nonces never repeat under one key even though a patient's data key encrypts many objects.
 *
 * What this detects: a changed byte (tag), frames reordered or moved (the counter is in the nonce),
 * truncation at a frame boundary (the last frame received is not marked final), frames appended
 * after the final one, and an object moved to another resource (the `binding`, e.g.
 * `Binary|id|versionId`, is in every frame's aad). Each frame is authenticated before its plaintext
 * is passed on; a truncation is only known at the end, so a consumer that streams plaintext
 * onwards must treat the stream's error as "discard what you received".
 */
import { createCipheriv, createDecipheriv, createHash, type Hash, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { VigilError } from '../core/index.js';

const MAGIC = Buffer.from('VGB1', 'ascii');
const HEADER_BYTES = 32;
const TAG_BYTES = 16;
/** The default plaintext bytes per frame. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** The largest frame a decryptor accepts: a hostile header cannot make it buffer more. */
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;
const MAX_FRAMES = 0xffff_ffff;

/** What both transforms report once the stream has ended. */
export interface StreamDigest {
  /** SHA-256 of the plaintext, hex. */
  sha256: string;
  /** Plaintext bytes. */
  bytes: number;
}

function objectKey(dataKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, salt, 'vigil:vault:binary', 32));
}

function nonce(prefix: Buffer, counter: number): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0, 0, 8);
  n.writeUInt32BE(counter, 8);
  return n;
}

function frameAad(header: Buffer, final: boolean, binding: Buffer): Buffer {
  return Buffer.concat([header, Buffer.from([final ? 1 : 0]), binding]);
}

/** Shared bookkeeping: a SHA-256 of the plaintext, a byte count and a promise of the digest. */
abstract class DigestingTransform extends Transform {
  protected readonly hash: Hash = createHash('sha256');
  protected plainBytes = 0;
  readonly #done: Promise<StreamDigest>;
  #resolve!: (d: StreamDigest) => void;

  constructor() {
    super();
    this.#done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.once('error', reject);
    });
    // The promise is also observed through the stream's own error; avoid an unhandled rejection.
    this.#done.catch(() => {});
  }

  /** Computes the digest; `check` may throw to fail the stream before the digest is announced. */
  protected finishDigest(check?: (d: StreamDigest) => void): void {
    const result = { sha256: this.hash.digest('hex'), bytes: this.plainBytes };
    check?.(result);
    this.#resolve(result);
  }

  /** The plaintext's SHA-256 and size, once the stream has ended (rejects if it failed). */
  digest(): Promise<StreamDigest> {
    return this.#done;
  }
}

/** Options of {@link EncryptStream}. */
export interface EncryptStreamOptions {
  /** The owner's 32-byte data key. */
  dataKey: Buffer;
  /** What the object belongs to, e.g. `Binary|<id>|<versionId>`; needed again to decrypt. */
  binding: string;
  /** Plaintext bytes per frame (default 64 KiB). */
  chunkSize?: number;
}

/** Plaintext in, header and frames out; computes the plaintext's SHA-256 on the way. */
export class EncryptStream extends DigestingTransform {
  readonly #key: Buffer;
  readonly #header: Buffer;
  readonly #prefix: Buffer;
  readonly #binding: Buffer;
  readonly #chunk: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #counter = 0;

  constructor(options: EncryptStreamOptions) {
    super();
    const chunk = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK_SIZE)
      throw new RangeError(`chunkSize must be 1..${MAX_CHUNK_SIZE}`);
    this.#chunk = chunk;
    const salt = randomBytes(16);
    this.#prefix = randomBytes(8);
    this.#header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(this.#header, 0);
    this.#header.writeUInt32BE(chunk, 4);
    salt.copy(this.#header, 8);
    this.#prefix.copy(this.#header, 24);
    this.#key = objectKey(options.dataKey, salt);
    this.#binding = Buffer.from(options.binding, 'utf8');
    this.push(this.#header);
  }

  #frame(plain: Buffer, final: boolean): Buffer {
    if (this.#counter >= MAX_FRAMES) throw new VigilError('PAYLOAD_TOO_LARGE', 'Binary is too large');
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce(this.#prefix, this.#counter++));
    cipher.setAAD(frameAad(this.#header, final, this.#binding));
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }

  override _transform(data: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      this.hash.update(buf);
      this.plainBytes += buf.length;
      this.#pending.push(buf);
      this.#pendingBytes += buf.length;
      // Emit a frame only when more than a chunk is waiting: the last chunk must be marked final.
      if (this.#pendingBytes > this.#chunk) {
        let all = Buffer.concat(this.#pending, this.#pendingBytes);
        while (all.length > this.#chunk) {
          this.push(this.#frame(all.subarray(0, this.#chunk), false));
          all = all.subarray(this.#chunk);
        }
        this.#pending = [Buffer.from(all)];
        this.#pendingBytes = all.length;
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.push(this.#frame(Buffer.concat(this.#pending, this.#pendingBytes), true));
      this.#pending = [];
      this.finishDigest();
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/** Options of {@link DecryptStream}. */
export interface DecryptStreamOptions {
  dataKey: Buffer;
  /** The same binding the object was encrypted with. */
  binding: string;
  /** When given, the stream fails at the end unless the plaintext has this SHA-256 (hex). */
  expectedSha256?: string;
}

function failed(what: string): VigilError {
  return new VigilError('INTERNAL', `Encrypted binary ${what}`);
}

/** Header and frames in, plaintext out; fails on any change, reordering or truncation. */
export class DecryptStream extends DigestingTransform {
  readonly #dataKey: Buffer;
  readonly #binding: Buffer;
  readonly #expected: string | undefined;
  #header: Buffer | undefined;
  #key: Buffer | undefined;
  #prefix: Buffer | undefined;
  #frameBytes = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #counter = 0;

  constructor(options: DecryptStreamOptions) {
    super();
    this.#dataKey = options.dataKey;
    this.#binding = Buffer.from(options.binding, 'utf8');
    this.#expected = options.expectedSha256?.toLowerCase();
  }

  #readHeader(buf: Buffer): void {
    const header = Buffer.from(buf.subarray(0, HEADER_BYTES));
    if (!header.subarray(0, 4).equals(MAGIC)) throw failed('has an unknown format');
    const chunk = header.readUInt32BE(4);
    if (chunk < 1 || chunk > MAX_CHUNK_SIZE) throw failed('has an invalid chunk size');
    this.#header = header;
    this.#frameBytes = chunk + TAG_BYTES;
    this.#key = objectKey(this.#dataKey, header.subarray(8, 24));
    this.#prefix = header.subarray(24, 32);
  }

  #open(frame: Buffer, final: boolean): Buffer {
    const header = this.#header!;
    if (this.#counter >= MAX_FRAMES) throw failed('is too long');
    const decipher = createDecipheriv('aes-256-gcm', this.#key!, nonce(this.#prefix!, this.#counter++));
    decipher.setAAD(frameAad(header, final, this.#binding));
    decipher.setAuthTag(frame.subarray(frame.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(frame.subarray(0, frame.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw failed(
        final
          ? 'failed authentication (tampered, truncated, reordered or wrong key)'
          : 'failed authentication (tampered, reordered or wrong key)',
      );
    }
  }

  #emit(plain: Buffer): void {
    this.hash.update(plain);
    this.plainBytes += plain.length;
    this.push(plain);
  }

  override _transform(data: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      this.#pending.push(buf);
      this.#pendingBytes += buf.length;
      let all: Buffer | undefined;
      if (!this.#header && this.#pendingBytes >= HEADER_BYTES) {
        all = Buffer.concat(this.#pending, this.#pendingBytes);
        this.#readHeader(all);
        all = all.subarray(HEADER_BYTES);
        this.#pending = [all];
        this.#pendingBytes = all.length;
      }
      // Keep the last frame back: only the end of the stream tells it is final.
      if (this.#header && this.#pendingBytes > this.#frameBytes) {
        all ??= Buffer.concat(this.#pending, this.#pendingBytes);
        while (all.length > this.#frameBytes) {
          this.#emit(this.#open(all.subarray(0, this.#frameBytes), false));
          all = all.subarray(this.#frameBytes);
        }
        this.#pending = [Buffer.from(all)];
        this.#pendingBytes = all.length;
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.#header) throw failed('is truncated (no header)');
      if (this.#pendingBytes < TAG_BYTES) throw failed('is truncated');
      this.#emit(this.#open(Buffer.concat(this.#pending, this.#pendingBytes), true));
      this.#pending = [];
      this.finishDigest((d) => {
        if (this.#expected !== undefined && d.sha256 !== this.#expected)
          throw failed('does not match its recorded SHA-256');
      });
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}
