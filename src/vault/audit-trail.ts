/**
 * @module vault/audit-trail
 * The append-only, hash-chained audit trail, with signed checkpoints.
 *
 * Serialising appends: every append starts by incrementing the single chain-head row
 * (`UPDATE vault_audit_head SET seq = seq + 1 … RETURNING seq, hash`). On PostgreSQL that row
 * lock is held until the transaction ends, so appenders in other connections or other server
 * processes wait for it and then read the committed head: the chain never forks. (That re-read is
 * READ COMMITTED, PostgreSQL's default and what Vigil's transactions use; under REPEATABLE READ
 * or SERIALIZABLE a waiting appender would fail with a serialization error instead, never fork.
 * test/vault/audit-two-processes.test.ts runs two servers appending at once.) On SQLite the
 * same statement takes the database's write lock at once (a deferred transaction that read first
 * could fail to upgrade), and better-sqlite3 has one connection per process anyway. One statement
 * shape, no dialect branch. The entry and its data change commit together when the caller passes
 * its transaction to `appendInTransaction`.
 */
import { type Kysely, sql } from 'kysely';
import { type Clock, systemClock, VigilError } from '../core/index.js';
import { type AnyDb, compiledOnce, rowInserter } from '../platform/db/index.js';
import { type AuditEntry, type AuditEntryInput, contentOf, linkHash, rowOfEntry } from './audit-entry.js';
import type { CheckpointSigner } from './checkpoint-signer.js';
import { type AuditRow, type VaultExecutor, type VaultTables, vaultDb } from './tables.js';

/** A signed checkpoint as stored. */
export interface AuditCheckpoint {
  uptoSeq: number;
  hash: string;
  signature: string;
  keyId: string;
  createdAt: string;
}

/** Options of {@link AuditTrail}. */
export interface AuditTrailOptions {
  /** Sign a checkpoint in the transaction of every entry whose seq is a multiple of this (default 1000; 0: never). */
  checkpointEvery?: number;
  clock?: Clock;
}

const ACTIONS = new Set([
  'read',
  'vread',
  'search',
  'create',
  'update',
  'delete',
  'export',
  'erase',
  'denied',
  'break-glass',
]);
const OUTCOMES = new Set(['success', 'failure', 'denied']);
/** Rows per multi-row audit insert (12 parameters each: 12,000, below SQLite's 32,766). */
const APPEND_CHUNK = 1000;
const AUDIT_COLUMNS = [
  'seq',
  'time',
  'actor_id',
  'actor_role',
  'action',
  'resources',
  'patient_ref',
  'outcome',
  'break_glass_reason',
  'search_result_ids',
  'prev_hash',
  'hash',
] as const;
/** Most entries one group commit writes. */
const GROUP_MAX = 1000;

function check(input: AuditEntryInput): void {
  if (!ACTIONS.has(input.action)) throw new VigilError('BAD_REQUEST', 'Unknown audit action');
  if (!OUTCOMES.has(input.outcome)) throw new VigilError('BAD_REQUEST', 'Unknown audit outcome');
  if (!input.actor?.id || !input.actor.role)
    throw new VigilError('BAD_REQUEST', 'An audit entry needs an actor');
  if (input.breakGlass && !input.breakGlass.reason.trim())
    throw new VigilError('BAD_REQUEST', 'Break-the-glass needs a reason');
}

/** Appends entries and signs checkpoints. */
export class AuditTrail {
  readonly #db: Kysely<VaultTables>;
  readonly #signer: CheckpointSigner;
  readonly #every: number;
  readonly #clock: Clock;
  /** The statements of every append, compiled once (see `compiledOnce`, `rowInserter`). */
  readonly #advance = compiledOnce((db: Kysely<VaultTables>, slot) =>
    db
      .updateTable('vault_audit_head')
      .set({ seq: sql`seq + ${slot('n')}` })
      .where('id', '=', 1)
      .returning(['seq', 'hash']),
  );
  readonly #setHash = compiledOnce((db: Kysely<VaultTables>, slot) =>
    db
      .updateTable('vault_audit_head')
      .set({ hash: slot('hash') })
      .where('id', '=', 1),
  );
  readonly #insert = rowInserter(
    (db: Kysely<VaultTables>, row: AuditRow) => db.insertInto('vault_audit').values(row),
    AUDIT_COLUMNS,
  );

  constructor(db: AnyDb, signer: CheckpointSigner, options: AuditTrailOptions = {}) {
    this.#db = vaultDb(db);
    this.#signer = signer;
    this.#every = options.checkpointEvery ?? 1000;
    this.#clock = options.clock ?? systemClock;
  }

  /** Appends one entry in its own transaction; resolves once it is committed (durable). */
  append(input: AuditEntryInput): Promise<AuditEntry> {
    return this.#db.transaction().execute((trx) => this.appendInTransaction(trx, input));
  }

  /**
   * Appends one entry inside the caller's transaction, so a data change and its audit entry commit
   * (or roll back) together. Holds the chain head until that transaction ends: keep it short.
   */
  async appendInTransaction(trx: VaultExecutor, input: AuditEntryInput): Promise<AuditEntry> {
    const [entry] = await this.appendManyInTransaction(trx, [input]);
    return entry!;
  }

  /**
   * Appends several entries inside the caller's transaction with one head update and one
   * multi-row insert (group commit), in order; the entries they became.
   */
  async appendManyInTransaction(
    trx: VaultExecutor,
    inputs: readonly AuditEntryInput[],
  ): Promise<AuditEntry[]> {
    if (inputs.length === 0) return [];
    for (const input of inputs) check(input);
    const db = vaultDb(trx);
    const [head] = await this.#advance(db, { n: inputs.length });
    if (!head) throw new VigilError('INTERNAL', 'The audit chain head is missing');
    const first = Number(head.seq) - inputs.length + 1;
    // RETURNING gives the new seq; the previous hash is still the head's (updated below).
    let prev = head.hash;
    const time = this.#clock.now().toISOString();
    const entries: AuditEntry[] = [];
    const checkpoints: Array<[number, string]> = [];
    for (const [i, input] of inputs.entries()) {
      const content = contentOf(input, first + i, time);
      const entry: AuditEntry = { ...content, prevHash: prev, hash: linkHash(content, prev) };
      entries.push(entry);
      prev = entry.hash;
      if (this.#every > 0 && entry.seq % this.#every === 0) checkpoints.push([entry.seq, entry.hash]);
    }
    for (let i = 0; i < entries.length; i += APPEND_CHUNK)
      await this.#insert(db, entries.slice(i, i + APPEND_CHUNK).map(rowOfEntry));
    await this.#setHash(db, { hash: prev });
    for (const [seq, hash] of checkpoints) await this.#insertCheckpoint(db, seq, hash);
    return entries;
  }

  /**
   * Appends an entry that has no data change to commit with (a read, a search, a denial), by
   * group commit: entries queued while a flush is running go together in the next one. Resolves
   * once the entry's transaction has committed, so the caller may answer.
   */
  appendDurably(input: AuditEntryInput): Promise<AuditEntry> {
    check(input);
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      // Start on the next turn of the event loop, so the reads running alongside this one (each
      // waiting on the connection in turn) join the same commit instead of one commit each.
      if (!this.#flushing)
        this.#flushing = new Promise<void>((done) => setImmediate(done)).then(() => this.#flush());
    });
  }

  #queue: Array<{
    input: AuditEntryInput;
    resolve: (e: AuditEntry) => void;
    reject: (err: unknown) => void;
  }> = [];
  #flushing: Promise<void> | null = null;

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, GROUP_MAX);
        try {
          const entries = await this.#db.transaction().execute((trx) =>
            this.appendManyInTransaction(
              trx,
              batch.map((b) => b.input),
            ),
          );
          for (const [i, b] of batch.entries()) b.resolve(entries[i]!);
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  /** Signs a checkpoint of the chain as it is now; null when the chain is empty. */
  async checkpoint(): Promise<AuditCheckpoint | null> {
    return this.#db.transaction().execute(async (trx) => {
      // A no-op update locks the head, so no entry is appended between reading and signing it.
      const head = await trx
        .updateTable('vault_audit_head')
        .set({ seq: sql`seq` })
        .where('id', '=', 1)
        .returning(['seq', 'hash'])
        .executeTakeFirst();
      if (!head || Number(head.seq) === 0) return null;
      return this.#insertCheckpoint(trx, Number(head.seq), head.hash);
    });
  }

  async #insertCheckpoint(db: Kysely<VaultTables>, seq: number, hash: string): Promise<AuditCheckpoint> {
    const cp: AuditCheckpoint = {
      uptoSeq: seq,
      hash,
      signature: this.#signer.sign(seq, hash),
      keyId: this.#signer.keyId,
      createdAt: this.#clock.now().toISOString(),
    };
    await db
      .insertInto('vault_audit_checkpoints')
      .values({
        upto_seq: cp.uptoSeq,
        hash: cp.hash,
        signature: cp.signature,
        key_id: cp.keyId,
        created_at: cp.createdAt,
      })
      .onConflict((oc) => oc.column('upto_seq').doNothing())
      .execute();
    return cp;
  }
}
