/**
 * @module vault/binaries
 * Storage of binaries (FHIR Binary: the PDFs, images and DICOM files DocumentReferences point at),
 * streamed so memory stays flat whatever the size, and encrypted under the patient's data key.
 *
 * - `vault_binaries` holds one row per binary: its key owner (`Patient/<id>`: a binary always
 *   belongs to a patient, its FHIR `securityContext`), content type, size and its digests sealed
 *   under the data key (see tables.ts for why the SHA-256 is not kept in clear).
 * - `vault_binary_chunks` holds the ciphertext (stream-cipher.ts: chunked AES-256-GCM bound to
 *   `Binary|<id>|<owner>`) in rows of at most {@link ROW_BYTES}, written as the upload streams in
 *   and read back a few rows at a time.
 * - An upload writes its chunk rows outside any transaction (a 50 MB upload from a slow client
 *   must not hold the database, and SQLite has one writer) under a row marked incomplete; only a
 *   short transaction at the end marks it complete, with its audit entry. A failed, refused or
 *   aborted upload deletes its rows; rows a crash left behind are swept after a day. Nothing
 *   reads an incomplete binary.
 *
 * Erasure needs nothing here: the ciphertext and the sealed digests are unreadable once the
 * patient's data key is destroyed.
 */
import { createHash, type Hash } from 'node:crypto';
import { finished, Readable, Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { type Clock, VigilError } from '../core/index.js';
import type { DataKeyStore } from './data-keys.js';
import { type FhirResource, parseReference, requireId } from './fhir-types.js';
import { patientOfOwner } from './repository.js';
import { openResource, sealResource } from './resource-cipher.js';
import { DecryptStream, EncryptStream } from './stream-cipher.js';
import type { BinaryRow, VaultTables } from './tables.js';

/** The default upload limit: 50 MiB. */
export const DEFAULT_BINARY_MAX_BYTES = 50 * 1024 * 1024;

/** The content types accepted by default: documents, photos, plain text and DICOM. */
export const DEFAULT_BINARY_CONTENT_TYPES: readonly string[] = [
  'application/pdf',
  'image/png',
  'image/jpeg',
  'text/plain',
  'application/dicom',
];

/** Ciphertext bytes per chunk row. */
export const ROW_BYTES = 256 * 1024;
/** Chunk rows fetched per query while reading (1 MiB of ciphertext). */
const READ_ROWS = 4;
/** An incomplete upload older than this was abandoned by a crash: its rows are swept. */
const ABANDONED_AFTER_MS = 24 * 3600_000;

const MEDIA_TYPE_RE = /^([a-z0-9][a-z0-9!#$&^_.+-]{0,62})\/([a-z0-9][a-z0-9!#$&^_.+-]{0,126})$/;

/** What is known about a stored binary (never its bytes). */
export interface BinaryInfo {
  id: string;
  patientId: string;
  contentType: string;
  /** Plaintext bytes. */
  size: number;
  /** SHA-256 of the plaintext, hex. */
  sha256: string;
  /** SHA-1 of the plaintext, base64: what FHIR R4's `Attachment.hash` holds. */
  sha1: string;
  createdAt: string;
}

/** A binary opened for reading: its metadata and the decrypting stream of its bytes. */
export interface OpenedBinary extends BinaryInfo {
  /**
   * The plaintext. Each frame is authenticated before it is passed on, but tampering or truncation
   * is only known at the end: the stream then fails, and whatever was received must be discarded.
   */
  stream: Readable;
}

/** What an upload needs. */
export interface BinaryUpload {
  /** The patient the binary belongs to (a Binary's `securityContext`). */
  patientId: string;
  /** The declared media type (parameters such as `charset` are dropped). */
  contentType: string;
  /** The bytes. Not destroyed on failure: an HTTP server can still answer on its connection. */
  stream: Readable;
  /** The largest accepted size; beyond it the upload fails with PAYLOAD_TOO_LARGE and reading stops. */
  maxBytes: number;
  /** The accepted media types (default {@link DEFAULT_BINARY_CONTENT_TYPES}). */
  allowedContentTypes?: readonly string[];
}

/** The media type of a Content-Type value, lower case, without parameters; BAD_REQUEST when malformed. */
export function mediaTypeOf(contentType: unknown): string {
  const essence = typeof contentType === 'string' ? contentType.split(';')[0]!.trim().toLowerCase() : '';
  if (!MEDIA_TYPE_RE.test(essence))
    throw new VigilError('BAD_REQUEST', 'The content type is missing or malformed', {
      details: { expression: ['Binary.contentType'] },
    });
  return essence;
}

/** UNSUPPORTED_MEDIA_TYPE unless `mediaType` is on the allow-list. */
export function requireAllowedType(mediaType: string, allowed: readonly string[]): void {
  if (!allowed.includes(mediaType))
    throw new VigilError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Files of type ${mediaType} are not accepted. Accepted types: ${allowed.join(', ')}`,
      { details: { fhirCode: 'not-supported', accepted: [...allowed] } },
    );
}

/**
 * The patient id a Binary's security context names: `Patient/<id>` (a Reference or its string),
 * or a bare id. Anything else is a BAD_REQUEST: a binary always belongs to one patient.
 */
export function binaryPatientOf(securityContext: unknown): string {
  const ref =
    securityContext && typeof securityContext === 'object'
      ? (securityContext as { reference?: unknown }).reference
      : securityContext;
  const why = 'A Binary needs its patient: securityContext Patient/<id> (or ?patient=<id>)';
  if (typeof ref !== 'string' || ref === '')
    throw new VigilError('BAD_REQUEST', why, { details: { expression: ['Binary.securityContext'] } });
  const parsed = parseReference(ref);
  if (parsed) {
    if (parsed.type !== 'Patient')
      throw new VigilError('BAD_REQUEST', why, { details: { expression: ['Binary.securityContext'] } });
    return parsed.id;
  }
  requireId(ref, 'The patient id');
  return ref;
}

/** The Binary resource of a stored binary (with its bytes as base64 when given). */
export function binaryResource(info: BinaryInfo, data?: Buffer): FhirResource {
  return {
    resourceType: 'Binary',
    id: info.id,
    meta: { versionId: '1', lastUpdated: info.createdAt },
    contentType: info.contentType,
    securityContext: { reference: `Patient/${info.patientId}` },
    ...(data ? { data: data.toString('base64') } : {}),
  };
}

function binding(id: string, owner: string): string {
  return `Binary|${id}|${owner}`;
}

// The digests are sealed like a resource version of the binary named `digest` (resource-cipher.ts):
// the same AES-256-GCM under the data key, bound to this binary, and no stored version is so named.
function digestRef(id: string) {
  return { resourceType: 'Binary', id, versionId: 'digest' };
}

function sealDigest(key: Buffer, id: string, d: { sha256: string; sha1: string }): string {
  return sealResource(key, digestRef(id), Buffer.from(JSON.stringify(d), 'utf8'));
}

function openDigest(key: Buffer, id: string, sealed: string | null): { sha256: string; sha1: string } {
  if (sealed === null) throw new VigilError('INTERNAL', 'A complete binary lacks its digest');
  return JSON.parse(openResource(key, digestRef(id), sealed).toString('utf8')) as {
    sha256: string;
    sha1: string;
  };
}

/** Counts and hashes (SHA-1, for FHIR's Attachment.hash) the plaintext and stops past the limit. */
class LimitedHash extends Transform {
  readonly sha1: Hash = createHash('sha1');
  bytes = 0;
  readonly #max: number;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  override _transform(data: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    this.bytes += buf.length;
    if (this.bytes > this.#max) {
      done(
        new VigilError(
          'PAYLOAD_TOO_LARGE',
          `The file is larger than the limit of ${formatBytes(this.#max)} this server accepts`,
          { details: { fhirCode: 'too-costly', maxBytes: this.#max } },
        ),
      );
      return;
    }
    this.sha1.update(buf);
    done(null, buf);
  }
}

/** Writes ciphertext as numbered chunk rows of at most {@link ROW_BYTES}. */
class ChunkWriter extends Writable {
  readonly #db: Kysely<VaultTables>;
  readonly #id: string;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #seq = 0;
  #inflight: Promise<void> = Promise.resolve();

  constructor(db: Kysely<VaultTables>, id: string) {
    super({ highWaterMark: ROW_BYTES });
    this.#db = db;
    this.#id = id;
  }

  async #flushRows(all: boolean): Promise<void> {
    if (!this.#pendingBytes) return;
    let data = Buffer.concat(this.#pending, this.#pendingBytes);
    while (data.length >= ROW_BYTES || (all && data.length > 0)) {
      const row = data.subarray(0, ROW_BYTES);
      await this.#db
        .insertInto('vault_binary_chunks')
        .values({ binary_id: this.#id, seq: this.#seq++, data: row })
        .execute();
      data = data.subarray(row.length);
    }
    this.#pending = data.length ? [Buffer.from(data)] : [];
    this.#pendingBytes = data.length;
  }

  /**
   * Settles once no insert is running. A failed pipeline rejects at once, while an insert may
   * still be on its way (on another connection of a pool): the rows are deleted after it.
   */
  idle(): Promise<void> {
    return this.#inflight.catch(() => {});
  }

  #run(all: boolean, done: (err?: Error | null) => void): void {
    this.#inflight = this.#flushRows(all);
    this.#inflight.then(() => done(), done);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < ROW_BYTES) {
      done();
      return;
    }
    this.#run(false, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#run(true, done);
  }
}

/** Reads a binary's chunk rows in order, a few at a time. */
class ChunkReader extends Readable {
  readonly #db: Kysely<VaultTables>;
  readonly #id: string;
  #next = 0;
  #busy = false;

  constructor(db: Kysely<VaultTables>, id: string) {
    super({ highWaterMark: ROW_BYTES });
    this.#db = db;
    this.#id = id;
  }

  override _read(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#db
      .selectFrom('vault_binary_chunks')
      .select(['seq', 'data'])
      .where('binary_id', '=', this.#id)
      .where('seq', '>=', this.#next)
      .orderBy('seq')
      .limit(READ_ROWS)
      .execute()
      .then((rows) => {
        this.#busy = false;
        if (!rows.length) {
          this.push(null);
          return;
        }
        for (const r of rows) {
          if (Number(r.seq) !== this.#next)
            throw new VigilError('INTERNAL', 'Encrypted binary is missing a chunk');
          this.#next++;
          this.push(Buffer.from(r.data));
        }
      })
      .catch((err: unknown) => {
        this.#busy = false;
        this.destroy(err as Error);
      });
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** Streams a source into a writable without letting a failure destroy the source. */
function feed(source: Readable, into: Writable): () => void {
  // A client that goes away mid-body (or a source that fails) leaves a truncated upload.
  const stop = finished(source, { writable: false }, (err) => {
    if (err)
      into.destroy(
        new VigilError('BAD_REQUEST', 'The upload was interrupted before the whole file arrived', {
          details: { fhirCode: 'incomplete' },
        }),
      );
  });
  source.pipe(into);
  return () => {
    stop();
    source.unpipe(into);
  };
}

/** The rows of stored binaries (see the module comment). No access checks or audit: vault.ts adds them. */
export class BinaryStore {
  readonly #db: Kysely<VaultTables>;
  readonly #dataKeys: DataKeyStore;
  readonly #clock: Clock;

  constructor(db: Kysely<VaultTables>, dataKeys: DataKeyStore, clock: Clock) {
    this.#db = db;
    this.#dataKeys = dataKeys;
    this.#clock = clock;
  }

  /**
   * Streams `upload` into an incomplete binary `id` owned by `owner`: encrypted chunk rows, outside
   * any transaction. Resolves with size and digests once every byte is stored; on any failure
   * (too large, interrupted, database) deletes what it wrote and rethrows. {@link complete} makes
   * the binary readable.
   */
  async receive(
    id: string,
    owner: string,
    contentType: string,
    source: Readable,
    maxBytes: number,
  ): Promise<{ size: number; sha256: string; sha1: string }> {
    await this.#sweepAbandoned();
    const key = await this.#dataKeys.keyFor(owner);
    await this.#db
      .insertInto('vault_binaries')
      .values({
        id,
        key_owner: owner,
        content_type: contentType,
        size: 0,
        digest_sealed: null,
        complete: 0,
        created_at: this.#clock.now().toISOString(),
      })
      .execute();
    const limit = new LimitedHash(maxBytes);
    const encrypt = new EncryptStream({ dataKey: key, binding: binding(id, owner) });
    const writer = new ChunkWriter(this.#db, id);
    const unfeed = feed(source, limit);
    try {
      await pipeline(limit, encrypt, writer);
      const { sha256, bytes } = await encrypt.digest();
      return { size: bytes, sha256, sha1: limit.sha1.digest('base64') };
    } catch (err) {
      unfeed();
      await writer.idle();
      await this.discard(id);
      throw err;
    } finally {
      unfeed();
      key.fill(0);
    }
  }

  /** Marks a received binary complete, with its sealed digests, inside the caller's transaction. */
  async complete(
    trx: Kysely<VaultTables>,
    id: string,
    owner: string,
    received: { size: number; sha256: string; sha1: string },
  ): Promise<void> {
    const key = await this.#dataKeys.existingKey(owner, trx);
    try {
      const res = await trx
        .updateTable('vault_binaries')
        .set({
          size: received.size,
          digest_sealed: sealDigest(key, id, received),
          complete: 1,
        })
        .where('id', '=', id)
        .where('complete', '=', 0)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1)
        throw new VigilError('INTERNAL', 'An upload vanished before it completed');
    } finally {
      key.fill(0);
    }
  }

  /** Deletes a binary's rows (a failed upload). Never throws: a crash's leftovers are swept later. */
  async discard(id: string): Promise<void> {
    try {
      await this.#db.deleteFrom('vault_binary_chunks').where('binary_id', '=', id).execute();
      await this.#db.deleteFrom('vault_binaries').where('id', '=', id).where('complete', '=', 0).execute();
    } catch {
      // The sweep removes them after ABANDONED_AFTER_MS.
    }
  }

  async #sweepAbandoned(): Promise<void> {
    const before = new Date(this.#clock.now().getTime() - ABANDONED_AFTER_MS).toISOString();
    const stale = await this.#db
      .selectFrom('vault_binaries')
      .select('id')
      .where('complete', '=', 0)
      .where('created_at', '<', before)
      .limit(100)
      .execute();
    for (const { id } of stale) await this.discard(id);
  }

  /** The row of a complete binary, or undefined. */
  async row(db: Kysely<VaultTables>, id: string): Promise<BinaryRow | undefined> {
    return db
      .selectFrom('vault_binaries')
      .selectAll()
      .where('id', '=', id)
      .where('complete', '=', 1)
      .executeTakeFirst();
  }

  /** The metadata of a complete binary (opens its sealed digests); `db` is the caller's transaction when there is one. */
  async info(row: BinaryRow, db?: Kysely<VaultTables>): Promise<BinaryInfo> {
    const key = await this.#dataKeys.existingKey(row.key_owner, db);
    try {
      const patientId = patientOfOwner(row.key_owner);
      if (patientId === null) throw new VigilError('INTERNAL', 'A binary without a patient');
      const d = openDigest(key, row.id, row.digest_sealed);
      return {
        id: row.id,
        patientId,
        contentType: row.content_type,
        size: Number(row.size),
        sha256: d.sha256,
        sha1: d.sha1,
        createdAt: row.created_at,
      };
    } finally {
      key.fill(0);
    }
  }

  /** The decrypted bytes of a complete binary; the stream fails unless they match the recorded SHA-256. */
  async open(row: BinaryRow, sha256: string): Promise<Readable> {
    const key = await this.#dataKeys.existingKey(row.key_owner);
    const decrypt = new DecryptStream({
      dataKey: key,
      binding: binding(row.id, row.key_owner),
      expectedSha256: sha256,
    });
    // pipeline forwards a read failure to `decrypt`, and a consumer that goes away stops the reads.
    pipeline(new ChunkReader(this.#db, row.id), decrypt).catch(() => {});
    return decrypt;
  }

  /** The metadata of a complete binary by id, or null when there is none (or its patient was erased). */
  async describe(id: string): Promise<BinaryInfo | null> {
    const row = await this.row(this.#db, id);
    if (!row) return null;
    try {
      return await this.info(row);
    } catch (err) {
      if (err instanceof VigilError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }
}
