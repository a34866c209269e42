/**
 * @module vault/privacy-office
 * What a privacy officer does to the vault beyond reading the audit trail: erasure
 * (crypto-shredding, refused under a legal hold), legal holds, the signed audit checkpoints for
 * outside verifiers, and the audit trail exported as FHIR AuditEvent NDJSON.
 *
 * Each method that takes a principal admits the `privacy-officer` role only. Erasure and export
 * are privacy events in themselves: a refusal is audited (`erase` or `export`, outcome `denied`)
 * and published as `vault.access.denied`, as the access policy's refusals are. The `…As` methods
 * are for operators on the server (the CLI, which holds the key directory) and check no role.
 */
import type { Kysely } from 'kysely';
import { type Clock, type EventInput, VigilError } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { VaultPrincipal } from './access-policy.js';
import { type AuditActor, type AuditEntry, entryOfRow } from './audit-entry.js';
import { auditEventOf } from './audit-events.js';
import type { AuditTrail } from './audit-trail.js';
import type { BlindIndex } from './blind-index.js';
import { type CheckpointSigner, checkpointMessage } from './checkpoint-signer.js';
import { type DataKeyStore, keyOwner } from './data-keys.js';
import { type ErasureResult, erasePatient } from './erasure.js';
import type { FhirResource } from './fhir-types.js';
import { checkPatientId, type LegalHold, type LegalHoldStore } from './legal-holds.js';
import type { PatientRefHasher } from './patient-ref.js';
import { type VaultTables, vaultDb } from './tables.js';

/** The one role that may erase, hold, export and list checkpoints. */
export const PRIVACY_OFFICER = 'privacy-officer';

/** Audit rows per page of an export (memory stays flat however long the trail is). */
export const EXPORT_PAGE_SIZE = 500;

/** Most checkpoints in one answer. */
export const MAX_CHECKPOINTS_PAGE = 1000;

/** What the privacy office needs from the vault. */
export interface PrivacyOfficeDeps {
  db: AnyDb;
  clock: Clock;
  dataKeys: DataKeyStore;
  index: BlindIndex;
  audit: AuditTrail;
  signer: CheckpointSigner;
  patientRef: PatientRefHasher;
  holds: LegalHoldStore;
  /** Publishes events after the change committed (never throws). */
  publish: (events: readonly EventInput[]) => Promise<void>;
}

/** A signed checkpoint as an outside verifier needs it. */
export interface CheckpointView {
  uptoSeq: number;
  /** The link hash of entry `uptoSeq` (hex). */
  hash: string;
  /** Base64 Ed25519 signature of `message` (UTF-8 bytes, no newline). */
  signature: string;
  keyId: string;
  createdAt: string;
  /** The exact statement that was signed: `vigil-audit-checkpoint|v1|<uptoSeq>|<hash>`. */
  message: string;
}

/** An export's time window: `since` inclusive, `until` exclusive, both ISO-8601 UTC. */
export interface ExportRange {
  since?: string;
  until?: string;
}

/** What the export answers: the window it applies and the rows, streamed page by page. */
export interface AuditExport {
  range: ExportRange;
  /** The `export` entry that records this export (the last entry the export can contain). */
  entry: AuditEntry;
  events: AsyncIterable<FhirResource>;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** An instant a person typed: a date (midnight UTC) or a date-time with its zone; BAD_REQUEST otherwise. */
export function parseInstant(name: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  const shown = String(value).slice(0, 40);
  const isDate = DATE_RE.test(v);
  if (!isDate && !DATE_TIME_RE.test(v))
    throw new VigilError(
      'BAD_REQUEST',
      `${name}: "${shown}" is not a date (2026-03-01) or a date-time with a zone (2026-03-01T08:00:00Z)`,
      { details: { field: name } },
    );
  const d = new Date(isDate ? `${v}T00:00:00Z` : v);
  const ms = d.getTime();
  // Date accepts 2026-02-31 as March 3rd: a date must come back as itself.
  if (Number.isNaN(ms) || (isDate && d.toISOString().slice(0, 10) !== v) || d.getUTCFullYear() < 1970)
    throw new VigilError('BAD_REQUEST', `${name}: "${shown}" is not a real date`, {
      details: { field: name },
    });
  return d.toISOString();
}

/** The window of an export from optional `since` and `until`; BAD_REQUEST when it is empty or malformed. */
export function parseExportRange(since?: unknown, until?: unknown): ExportRange {
  const range: ExportRange = {};
  if (since !== undefined && since !== '') range.since = parseInstant('since', since);
  if (until !== undefined && until !== '') range.until = parseInstant('until', until);
  if (range.since && range.until && range.since >= range.until)
    throw new VigilError('BAD_REQUEST', 'since must be before until', { details: { field: 'since' } });
  return range;
}

/** Erasure, legal holds, checkpoints and export (see the module comment). */
export class PrivacyOffice {
  readonly #deps: PrivacyOfficeDeps;
  readonly #db: Kysely<VaultTables>;

  constructor(deps: PrivacyOfficeDeps) {
    this.#deps = deps;
    this.#db = vaultDb(deps.db);
  }

  /**
   * Refuses anyone but a privacy officer with FORBIDDEN; an erasure or export refused is audited
   * and published first.
   */
  async #requireOfficer(
    principal: VaultPrincipal,
    what: string,
    audited?: { action: 'erase' | 'export'; resources: string[]; patientId?: string | null },
  ): Promise<void> {
    if (principal.role === PRIVACY_OFFICER) return;
    const actor = { id: principal.id, role: principal.role };
    const patientRef = audited?.patientId ? this.#deps.patientRef(audited.patientId) : null;
    if (audited)
      await this.#deps.audit.append({
        actor,
        action: audited.action,
        resources: audited.resources,
        patientRef,
        outcome: 'denied',
      });
    await this.#deps.publish([
      {
        kind: 'vault.access.denied',
        source: 'vault',
        severity: 'medium',
        user: actor,
        ...(patientRef ? { patientRef } : {}),
        data: { action: audited?.action ?? what, decision: 'deny' },
      },
    ]);
    throw new VigilError(
      'FORBIDDEN',
      `Your role (${principal.role}) may not ${what}; a privacy officer may`,
      {
        details: { fhirCode: 'forbidden' },
      },
    );
  }

  /** Whether the vault has ever held anything of this patient; 'erased' when their key is destroyed. */
  async #patientState(patientId: string): Promise<'unknown' | 'live' | 'erased'> {
    const key = await this.#db
      .selectFrom('vault_data_keys')
      .select('wrapped_key')
      .where('owner', '=', keyOwner('Patient', patientId))
      .executeTakeFirst();
    if (key) return key.wrapped_key === null ? 'erased' : 'live';
    const head = await this.#db
      .selectFrom('vault_current')
      .select('id')
      .where('resource_type', '=', 'Patient')
      .where('id', '=', patientId)
      .executeTakeFirst();
    return head ? 'live' : 'unknown';
  }

  /**
   * Erases a patient by crypto-shredding (erasure.ts): their data key is destroyed and their
   * index rows removed; the audit trail stays, pseudonymous. CONFLICT with the reason under a
   * legal hold; NOT_FOUND for a patient the vault never held; erasing again is harmless.
   */
  async erase(principal: VaultPrincipal, patientId: string): Promise<ErasureResult> {
    const valid = typeof patientId === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(patientId);
    await this.#requireOfficer(principal, 'erase patient data', {
      action: 'erase',
      resources: [valid ? `Patient/${patientId}` : 'Patient'],
      patientId: valid ? patientId : null,
    });
    const id = checkPatientId(patientId);
    if ((await this.#patientState(id)) === 'unknown')
      throw new VigilError('NOT_FOUND', `Patient/${id} does not exist`, {
        details: { fhirCode: 'not-found' },
      });
    const actor = { id: principal.id, role: principal.role };
    const d = this.#deps;
    const result = await erasePatient(
      {
        db: d.db,
        dataKeys: d.dataKeys,
        index: d.index,
        audit: d.audit,
        patientRef: d.patientRef,
        legalHold: (pid, exec) => d.holds.reasonFor(pid, exec),
      },
      id,
      actor,
    );
    await d.publish([
      {
        kind: 'vault.patient.erased',
        source: 'vault',
        severity: 'medium',
        user: actor,
        patientRef: d.patientRef(id),
        data: { versions: result.versions, keyDestroyed: result.keyDestroyed },
      },
    ]);
    return result;
  }

  /** Sets (or re-words) a legal hold on a patient the vault holds. */
  async setHold(principal: VaultPrincipal, patientId: string, reason: string): Promise<LegalHold> {
    await this.#requireOfficer(principal, 'set legal holds');
    return this.setHoldAs({ id: principal.id, role: principal.role }, patientId, reason);
  }

  /** {@link setHold} for an operator (no role check). */
  async setHoldAs(actor: AuditActor, patientId: string, reason: string): Promise<LegalHold> {
    const id = checkPatientId(patientId);
    const state = await this.#patientState(id);
    if (state === 'unknown') throw new VigilError('NOT_FOUND', `Patient/${id} does not exist`);
    if (state === 'erased')
      throw new VigilError('CONFLICT', `Patient/${id} was erased: nothing is left to hold`);
    const hold = await this.#deps.holds.set(id, reason, actor.id);
    await this.#holdEvent('vault.legal-hold.set', actor, id);
    return hold;
  }

  /** Releases a hold; NOT_FOUND when the patient had none. */
  async releaseHold(principal: VaultPrincipal, patientId: string): Promise<void> {
    await this.#requireOfficer(principal, 'release legal holds');
    await this.releaseHoldAs({ id: principal.id, role: principal.role }, patientId);
  }

  /** {@link releaseHold} for an operator (no role check). */
  async releaseHoldAs(actor: AuditActor, patientId: string): Promise<void> {
    const id = checkPatientId(patientId);
    if (!(await this.#deps.holds.release(id)))
      throw new VigilError('NOT_FOUND', `Patient/${id} has no legal hold`);
    await this.#holdEvent('vault.legal-hold.released', actor, id);
  }

  /** Every legal hold with its reason, newest first. */
  async listHolds(principal: VaultPrincipal): Promise<LegalHold[]> {
    await this.#requireOfficer(principal, 'list legal holds');
    return this.#deps.holds.list();
  }

  async #holdEvent(kind: string, actor: AuditActor, patientId: string): Promise<void> {
    await this.#deps.publish([
      {
        kind,
        source: 'vault',
        severity: 'info',
        user: { id: actor.id, role: actor.role },
        patientRef: this.#deps.patientRef(patientId),
      },
    ]);
  }

  /** The PEM (SPKI) public key that verifies checkpoints, and its id. */
  publicKey(): { pem: string; keyId: string } {
    return { pem: this.#deps.signer.publicKeyPem(), keyId: this.#deps.signer.keyId };
  }

  /** Signed checkpoints in order, after `after` (an upto_seq), at most `limit`; `next` pages on. */
  async checkpoints(
    principal: VaultPrincipal,
    page: { after?: number; limit?: number } = {},
  ): Promise<{ keyId: string; checkpoints: CheckpointView[]; next: number | null }> {
    await this.#requireOfficer(principal, 'list audit checkpoints');
    const limit = Math.min(Math.max(1, page.limit ?? 100), MAX_CHECKPOINTS_PAGE);
    const rows = await this.#db
      .selectFrom('vault_audit_checkpoints')
      .selectAll()
      .where('upto_seq', '>', page.after ?? 0)
      .orderBy('upto_seq')
      .limit(limit + 1)
      .execute();
    const checkpoints = rows.slice(0, limit).map((r) => {
      const uptoSeq = Number(r.upto_seq);
      return {
        uptoSeq,
        hash: r.hash,
        signature: r.signature,
        keyId: r.key_id,
        createdAt: r.created_at,
        message: checkpointMessage(uptoSeq, r.hash).toString('utf8'),
      };
    });
    return {
      keyId: this.#deps.signer.keyId,
      checkpoints,
      next: rows.length > limit ? checkpoints.at(-1)!.uptoSeq : null,
    };
  }

  /**
   * The audit trail as FHIR AuditEvents, oldest first, within `range` (privacy officers). The
   * `export` entry is appended (and committed) before anything is read, so an export is on record
   * even when the reader stops half-way; the export runs up to that entry, itself included.
   */
  async exportAudit(principal: VaultPrincipal, range: ExportRange): Promise<AuditExport> {
    await this.#requireOfficer(principal, 'export the audit trail', {
      action: 'export',
      resources: ['AuditEvent'],
    });
    return this.exportAuditAs({ id: principal.id, role: principal.role }, range);
  }

  /** {@link exportAudit} for an operator (no role check; still audited). */
  async exportAuditAs(actor: AuditActor, range: ExportRange): Promise<AuditExport> {
    const entry = await this.#deps.audit.append({
      actor,
      action: 'export',
      resources: ['AuditEvent'],
      outcome: 'success',
    });
    return { range, entry, events: this.#pages(entry.seq, range) };
  }

  async *#pages(upto: number, range: ExportRange): AsyncGenerator<FhirResource> {
    let after = 0;
    for (;;) {
      let q = this.#db
        .selectFrom('vault_audit')
        .selectAll()
        .where('seq', '>', after)
        .where('seq', '<=', upto);
      if (range.since) q = q.where('time', '>=', range.since);
      if (range.until) q = q.where('time', '<', range.until);
      const rows = await q.orderBy('seq').limit(EXPORT_PAGE_SIZE).execute();
      for (const row of rows) yield auditEventOf(entryOfRow(row));
      if (rows.length < EXPORT_PAGE_SIZE) return;
      after = Number(rows.at(-1)!.seq);
    }
  }
}
