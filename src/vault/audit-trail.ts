/**
 * @module vault/audit-trail
 * The append-only, hash-chained audit trail, with signed checkpoints.
 *
 * Serialising appends: every append starts by incrementing the single chain-head row
 * (`UPDATE vault_audit_head SET seq = seq + 1 … RETURNING seq, hash`). On PostgreSQL that row
 * lock is held until the transaction ends, so appenders in other connections or other server
 * processes wait for it and then read the committed head: the chain never forks. On SQLite the
 * same statement takes the database's write lock at once (a deferred transaction that read first
 * could fail to upgrade), and better-sqlite3 has one connection per process anyway. One statement
 * shape, no dialect branch. The entry and its data change commit together when the caller passes
 * its transaction to `appendInTransaction`.
 */
import { type Kysely, sql } from 'kysely';
import { type Clock, systemClock, VigilError } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import { type AuditEntry, type AuditEntryInput, contentOf, linkHash, rowOfEntry } from './audit-entry.js';
import type { CheckpointSigner } from './checkpoint-signer.js';
import { type VaultExecutor, type VaultTables, vaultDb } from './tables.js';

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
    check(input);
    const db = vaultDb(trx);
    const head = await db
      .updateTable('vault_audit_head')
      .set({ seq: sql`seq + 1` })
      .where('id', '=', 1)
      .returning(['seq', 'hash'])
      .executeTakeFirst();
    if (!head) throw new VigilError('INTERNAL', 'The audit chain head is missing');
    const seq = Number(head.seq);
    const content = contentOf(input, seq, this.#clock.now().toISOString());
    const entry: AuditEntry = { ...content, prevHash: head.hash, hash: linkHash(content, head.hash) };
    await db.insertInto('vault_audit').values(rowOfEntry(entry)).execute();
    await db.updateTable('vault_audit_head').set({ hash: entry.hash }).where('id', '=', 1).execute();
    if (this.#every > 0 && seq % this.#every === 0) await this.#insertCheckpoint(db, seq, entry.hash);
    return entry;
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
