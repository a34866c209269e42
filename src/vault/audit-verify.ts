/**
 * @module vault/audit-verify
 * Recomputes the audit chain and checks the signed checkpoints (`vigil audit verify`). Needs only
 * the database and the checkpoint public key, so an outside auditor can run it.
 *
 * What it finds, reported as the first bad seq:
 * - changed: an entry's fields no longer give its hash, or an entry does not follow its
 *   predecessor's hash (the predecessor was rewritten with a recomputed hash), or the chain was
 *   rewritten consistently but disagrees with a signed checkpoint (then the first seq after the
 *   last checkpoint that still agrees: the change is somewhere from there on).
 * - removed: a gap in seq, or entries missing before the head or a signed checkpoint.
 * - reordered: an entry that is intact but sits at another position than the one it was
 *   written at.
 * - bad-signature: a checkpoint whose signature does not verify under the public key (forged or
 *   altered).
 * Limit: someone who can write the database can delete the newest entries after the last
 * checkpoint and set the head back; checkpoints bound how much can go unnoticed.
 */
import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnyDb } from '../platform/db/index.js';
import { entryOfRow, linkHash } from './audit-entry.js';
import { verifyCheckpointSignature } from './checkpoint-signer.js';
import { GENESIS_HASH } from './migrations.js';
import { type AuditRow, type VaultTables, vaultDb } from './tables.js';

/** The kinds of damage `verifyAudit` names. */
export type AuditProblem = 'changed' | 'removed' | 'reordered' | 'bad-signature';

/** The outcome of {@link verifyAudit}. */
export type AuditVerification =
  | { ok: true; entries: number; checkpoints: number }
  | { ok: false; firstBadSeq: number; problem: AuditProblem };

/** Options of {@link verifyAudit}. */
export interface VerifyAuditOptions {
  /** Rows read per query (default 1000): memory stays flat whatever the trail's length. */
  batchSize?: number;
}

const bad = (firstBadSeq: number, problem: AuditProblem): AuditVerification => ({
  ok: false,
  firstBadSeq,
  problem,
});

/**
 * Verifies the whole trail up to the head as it was when verification started; entries appended
 * meanwhile (by this or another process) are left for the next run.
 */
export async function verifyAudit(
  database: AnyDb,
  publicKey: KeyObject | string,
  options: VerifyAuditOptions = {},
): Promise<AuditVerification> {
  const db = vaultDb(database);
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  // Checkpoints first, then the head: a checkpoint commits with its entry and the head, so every
  // checkpoint read here is at or below the head read next, even while other processes append.
  // (Head first would let an append commit in between, and its checkpoint beyond the head read
  // would look like cut-off entries: a false alarm on a live system.)
  const checkpoints = (
    await db.selectFrom('vault_audit_checkpoints').selectAll().orderBy('upto_seq').execute()
  ).map((c) => ({ uptoSeq: Number(c.upto_seq), hash: c.hash, signature: c.signature }));
  const head = await db.selectFrom('vault_audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
  if (!head) return bad(1, 'removed');
  const headSeq = Number(head.seq);

  let ci = 0;
  let verifiedCheckpoints = 0;
  let lastGoodCheckpoint = 0;
  let prevHash = GENESIS_HASH;
  let expected = 1;
  let last = 0;
  for (;;) {
    const rows = await db
      .selectFrom('vault_audit')
      .selectAll()
      .where('seq', '>', last)
      .where('seq', '<=', headSeq)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.seq);
      last = seq;
      if (seq !== expected) return bad(expected, 'removed');
      const entry = entryOfRow(row);
      if (linkHash(entry, row.prev_hash) !== row.hash) {
        return bad(seq, (await writtenElsewhere(db, row, headSeq)) ? 'reordered' : 'changed');
      }
      if (row.prev_hash !== prevHash) {
        // This entry is intact where it stands, so its predecessor is what changed.
        return bad(seq - 1, 'changed');
      }
      prevHash = row.hash;
      expected = seq + 1;
      while (ci < checkpoints.length && checkpoints[ci]!.uptoSeq <= seq) {
        const cp = checkpoints[ci++]!;
        if (!verifyCheckpointSignature(publicKey, cp.uptoSeq, cp.hash, cp.signature))
          return bad(cp.uptoSeq, 'bad-signature');
        if (cp.uptoSeq === seq && cp.hash !== row.hash) return bad(lastGoodCheckpoint + 1, 'changed');
        lastGoodCheckpoint = cp.uptoSeq;
        verifiedCheckpoints++;
      }
    }
  }
  if (last < headSeq) return bad(last + 1, 'removed');
  if (head.hash !== prevHash) return bad(Math.max(headSeq, 1), 'changed');
  // Checkpoints beyond the head: the newest entries (and the head with them) were cut off.
  for (const cp of checkpoints.slice(ci)) {
    if (!verifyCheckpointSignature(publicKey, cp.uptoSeq, cp.hash, cp.signature))
      return bad(cp.uptoSeq, 'bad-signature');
    return bad(headSeq + 1, 'removed');
  }
  return { ok: true, entries: headSeq, checkpoints: verifiedCheckpoints };
}

// Failure diagnosis only (never on the happy path), bounded work.
const MAX_CANDIDATES = 1_000_000;

/** Whether the row's content hashes correctly under another seq: it was moved, not changed. */
async function writtenElsewhere(db: Kysely<VaultTables>, row: AuditRow, headSeq: number): Promise<boolean> {
  const entry = entryOfRow(row);
  const fits = (seq: number) => linkHash({ ...entry, seq }, row.prev_hash) === row.hash;
  // Best guess: right after the entry whose hash this one chains to.
  if (row.prev_hash === GENESIS_HASH && fits(1)) return true;
  const pred = await db
    .selectFrom('vault_audit')
    .select('seq')
    .where('hash', '=', row.prev_hash)
    .executeTakeFirst();
  if (pred && fits(Number(pred.seq) + 1)) return true;
  // That one may have moved too (two neighbours swapped): try every position.
  const limit = Math.min(headSeq, MAX_CANDIDATES);
  for (let seq = 1; seq <= limit; seq++) if (seq !== Number(row.seq) && fits(seq)) return true;
  return false;
}
