/**
 * @module vault/audit-entry
 * The audit entry and its link hash. Pure.
 *
 *   hash = SHA-256( canonicalJson(entry) || prevHash )   (prevHash as its 32 raw bytes)
 *
 * The entry includes its `seq`, so an entry moved to another position no longer matches its hash
 * there, and the previous hash, so an entry removed or changed breaks every link after it.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { AuditRow } from './tables.js';

/** What was done. */
export type AuditAction =
  | 'read'
  | 'vread'
  | 'search'
  | 'create'
  | 'update'
  | 'delete'
  | 'export'
  | 'erase'
  | 'denied'
  | 'break-glass';

/** How it ended. */
export type AuditOutcome = 'success' | 'failure' | 'denied';

/** Who did it: a user (or API token) id and the role it acted in. */
export interface AuditActor {
  id: string;
  role: string;
}

/** What a caller records; the trail adds `seq`, `time` and the hashes. */
export interface AuditEntryInput {
  actor: AuditActor;
  action: AuditAction;
  /** References of the resources concerned (`Observation/1/_history/2`). */
  resources?: readonly string[];
  /** The patient concerned, as a keyed hash (`patientRefHasher`), never an identifier. */
  patientRef?: string | null;
  outcome: AuditOutcome;
  /** Set when access was granted by break-the-glass; the reason the clinician gave. */
  breakGlass?: { reason: string } | null;
  /** For searches: the ids returned, so "who saw whom" includes search results. */
  searchResultIds?: readonly string[] | null;
}

/** A stored entry, a link of the chain. */
export interface AuditEntry {
  seq: number;
  time: string;
  actor: AuditActor;
  action: AuditAction;
  resources: string[];
  patientRef: string | null;
  outcome: AuditOutcome;
  breakGlass: { reason: string } | null;
  searchResultIds: string[] | null;
  prevHash: string;
  hash: string;
}

/** The hashed content of an entry: everything but the hashes. */
export type AuditContent = Omit<AuditEntry, 'prevHash' | 'hash'>;

/** The link hash of an entry's content after `prevHash` (hex). */
export function linkHash(content: AuditContent, prevHash: string): string {
  const json = canonicalJson({
    seq: content.seq,
    time: content.time,
    actor: { id: content.actor.id, role: content.actor.role },
    action: content.action,
    resources: content.resources,
    patientRef: content.patientRef,
    outcome: content.outcome,
    breakGlass: content.breakGlass ? { reason: content.breakGlass.reason } : null,
    searchResultIds: content.searchResultIds,
  });
  return createHash('sha256').update(json, 'utf8').update(Buffer.from(prevHash, 'hex')).digest('hex');
}

/** An input completed to the stored shape (absent fields become null or empty). */
export function contentOf(input: AuditEntryInput, seq: number, time: string): AuditContent {
  return {
    seq,
    time,
    actor: { id: input.actor.id, role: input.actor.role },
    action: input.action,
    resources: [...(input.resources ?? [])],
    patientRef: input.patientRef ?? null,
    outcome: input.outcome,
    breakGlass: input.breakGlass ? { reason: input.breakGlass.reason } : null,
    searchResultIds: input.searchResultIds ? [...input.searchResultIds] : null,
  };
}

/** The entry a row holds, with `seq` as the row says (the verifier may try another). */
export function entryOfRow(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    time: row.time,
    actor: { id: row.actor_id, role: row.actor_role },
    action: row.action as AuditAction,
    resources: JSON.parse(row.resources) as string[],
    patientRef: row.patient_ref,
    outcome: row.outcome as AuditOutcome,
    breakGlass: row.break_glass_reason === null ? null : { reason: row.break_glass_reason },
    searchResultIds: row.search_result_ids === null ? null : (JSON.parse(row.search_result_ids) as string[]),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The row of an entry. */
export function rowOfEntry(entry: AuditEntry): AuditRow {
  return {
    seq: entry.seq,
    time: entry.time,
    actor_id: entry.actor.id,
    actor_role: entry.actor.role,
    action: entry.action,
    resources: JSON.stringify(entry.resources),
    patient_ref: entry.patientRef,
    outcome: entry.outcome,
    break_glass_reason: entry.breakGlass?.reason ?? null,
    search_result_ids: entry.searchResultIds === null ? null : JSON.stringify(entry.searchResultIds),
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}
