/**
 * @module vault/vault
 * The Vault: the FHIR repository the server and the CLI use. Every method runs in one database
 * transaction with its audit entry (and blind-index rows for writes), commits, then publishes its
 * `vault.*` events; a denial is audited after the rollback and answered FORBIDDEN.
 */
import type { Kysely } from 'kysely';
import { type Clock, type EventInput, isVigilError, makeEvent, newId, VigilError } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import { type AnyDb, refreshPlannerStats } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import type { Logger } from '../platform/log/index.js';
import type { AccessPolicy, VaultPrincipal } from './access-policy.js';
import type { AuditActor } from './audit-entry.js';
import { readAuditEvent, searchAuditEvents } from './audit-events.js';
import { AuditTrail } from './audit-trail.js';
import { type AuditVerification, verifyAudit } from './audit-verify.js';
import { type BinaryInfo, BinaryStore, type BinaryUpload, type OpenedBinary } from './binaries.js';
import { createBinaryIn, type ReadBinaryOptions, readBinaryIn } from './binary-interactions.js';
import { linkBinaryAttachments } from './binary-links.js';
import { BlindIndex } from './blind-index.js';
import { type BreakGlassGrant, cleanReason, insertGrant, listGrants } from './break-glass.js';
import { type BundleEntryRequest, parseBundle, parseIfMatch, transactionOrder } from './bundle.js';
import { etagOf, historyBundle, searchsetBundle } from './bundle-views.js';
import { canonicalJson, type Json } from './canonical-json.js';
import { capabilityStatement } from './capability.js';
import { CarePolicy, type CarePolicyOptions } from './care-policy.js';
import { CheckpointSigner } from './checkpoint-signer.js';
import { DataKeyStore } from './data-keys.js';
import type { ErasureResult } from './erasure.js';
import { AUDIT_EVENT, type FhirResource, patientOf, requireId, requireStoredType } from './fhir-types.js';
import { validateFhir, warmUpValidation } from './fhir-validation.js';
import {
  AccessDeniedError,
  auditOf,
  authorize,
  createIn,
  deleteIn,
  historyIn,
  type PendingEvents,
  readIn,
  updateIn,
  type VaultContext,
  versionRef,
  vreadIn,
} from './interactions.js';
import { LegalHoldStore } from './legal-holds.js';
import { patientRefHasher } from './patient-ref.js';
import { PrivacyOffice } from './privacy-office.js';
import { FhirRepository, type StoredVersion } from './repository.js';
import { SealedResourceStore } from './resources.js';
import { parseCount, type SearchPage, searchIn } from './search.js';
import { VAULT_SEARCH_PARAMS } from './search-values.js';
import { linkStaff, type StaffLink, staffLinks, unlinkStaff } from './staff-links.js';
import { type CurrentRow, type VaultTables, vaultDb } from './tables.js';

/** What the vault is built from. */
export interface VaultDeps {
  db: AnyDb;
  keys: KeyRing;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** Who may do what to whose data (default: the care policy, care-policy.ts). */
  policy?: AccessPolicy;
  /** Options of the default care policy (window, cache). */
  care?: CarePolicyOptions;
  /** How long a break-the-glass grant lasts, in minutes (default 60). */
  breakGlassMinutes?: number;
  /** Sign an audit checkpoint every N entries (default 1000). */
  checkpointEvery?: number;
  /** The software version for the CapabilityStatement. */
  version?: string;
}

/** What a bulk-import batch did. */
export interface ImportResult {
  created: number;
  updated: number;
  unchanged: number;
}

function withoutMeta(r: FhirResource): string {
  const { meta: _meta, ...rest } = r;
  return canonicalJson(rest as Json);
}

/** Builds the vault over the platform's database, keys and bus. */
export function createVault(deps: VaultDeps): Vault {
  return new Vault(deps);
}

/** The encrypted FHIR repository (see the module comment). */
export class Vault {
  readonly #db: Kysely<VaultTables>;
  readonly #anyDb: AnyDb;
  readonly #ctx: VaultContext;
  readonly #bus: Bus;
  readonly #logger: Logger;
  readonly #signer: CheckpointSigner;
  readonly #version: string;
  readonly #keys: KeyRing;
  readonly #breakGlassMs: number;
  readonly #care: CarePolicy | null;
  readonly #binaries: BinaryStore;
  /** Resources bulk-imported by this vault, and the count at which planner statistics are refreshed next. */
  #imported = 0;
  #refreshStatsAt = 1000;
  /** The data keys (for erasure and rotation). */
  readonly dataKeys: DataKeyStore;
  /** The audit trail (for erasure and outside checkpoints). */
  readonly audit: AuditTrail;
  /** The blind index. */
  readonly index: BlindIndex;
  /** Legal holds (the CLI's `vigil vault hold` uses it directly, as an operator). */
  readonly legalHolds: LegalHoldStore;
  /** Erasure, legal holds, audit checkpoints and export for privacy officers (privacy-office.ts). */
  readonly privacy: PrivacyOffice;

  constructor(deps: VaultDeps) {
    this.#db = vaultDb(deps.db);
    this.#anyDb = deps.db;
    this.#bus = deps.bus;
    this.#logger = deps.logger;
    this.#version = deps.version ?? '0';
    this.#keys = deps.keys;
    this.#breakGlassMs = (deps.breakGlassMinutes ?? 60) * 60_000;
    this.dataKeys = new DataKeyStore(deps.db, deps.keys, { clock: deps.clock });
    this.#signer = CheckpointSigner.fromKeyRing(deps.keys);
    this.audit = new AuditTrail(deps.db, this.#signer, {
      clock: deps.clock,
      checkpointEvery: deps.checkpointEvery ?? 1000,
    });
    this.index = new BlindIndex(deps.db, deps.keys, VAULT_SEARCH_PARAMS);
    const resources = new SealedResourceStore(deps.db, this.dataKeys);
    const repo = new FhirRepository({
      resources,
      index: this.index,
      dataKeys: this.dataKeys,
      clock: deps.clock,
    });
    this.#care = deps.policy
      ? null
      : new CarePolicy(
          {
            repo,
            index: this.index,
            keys: deps.keys,
            clock: deps.clock,
            patientRef: patientRefHasher(deps.keys),
          },
          deps.care,
        );
    this.#ctx = {
      db: this.#db,
      repo,
      index: this.index,
      audit: this.audit,
      policy: deps.policy ?? this.#care!,
      patientRef: patientRefHasher(deps.keys),
      clock: deps.clock,
    };
    this.legalHolds = new LegalHoldStore(deps.db, deps.keys, deps.clock);
    this.privacy = new PrivacyOffice({
      db: deps.db,
      clock: deps.clock,
      dataKeys: this.dataKeys,
      index: this.index,
      audit: this.audit,
      signer: this.#signer,
      patientRef: this.#ctx.patientRef,
      holds: this.legalHolds,
      publish: (events) => this.#publish(events),
    });
    this.#binaries = new BinaryStore(this.#db, this.dataKeys, deps.clock);
  }

  /**
   * Erases a patient (crypto-shredding: their data key is destroyed, their index rows removed, the
   * audit trail stays pseudonymous). Privacy officers only (others: FORBIDDEN, audited); CONFLICT
   * with the reason under a legal hold.
   */
  erase(principal: VaultPrincipal, patientId: string): Promise<ErasureResult> {
    return this.privacy.erase(principal, patientId);
  }

  /** Indexes the R4 definitions now (a few seconds) rather than on the first write. */
  warmUp(): Promise<void> {
    return warmUpValidation();
  }

  /** The PEM public key that verifies audit checkpoints (for outside verifiers). */
  auditPublicKeyPem(): string {
    return this.#signer.publicKeyPem();
  }

  /** Recomputes the audit chain and checks the signed checkpoints. */
  verifyAudit(): Promise<AuditVerification> {
    return verifyAudit(this.#anyDb, this.#signer.publicKey);
  }

  /**
   * Links a console user to the Practitioner they are (an operator or admin action: it decides
   * whose care relationships the user inherits). The Practitioner must exist. Audited.
   */
  async linkStaff(actor: AuditActor, userId: string, practitioner: string): Promise<StaffLink> {
    const link = await this.#db.transaction().execute(async (trx) => {
      const practitionerId = await this.#practitionerId(trx, practitioner);
      const out = await linkStaff(trx, {
        userId,
        practitionerId,
        linkedBy: actor.id,
        at: this.#ctx.clock.now().toISOString(),
      });
      await this.audit.appendInTransaction(trx, {
        actor,
        action: 'update',
        resources: [`Practitioner/${practitionerId}`, `user/${userId}`],
        outcome: 'success',
      });
      return out;
    });
    this.#care?.forgetUser(userId);
    return link;
  }

  /**
   * A Practitioner named as `Practitioner/<id>`, `<id>` or by identifier `system|value` (an NPI):
   * its id; NOT_FOUND when there is none, CONFLICT when an identifier names several.
   */
  async #practitionerId(trx: Kysely<VaultTables>, name: string): Promise<string> {
    const text = name.trim();
    if (text.includes('|')) {
      const ids = await this.index.findIds('Practitioner', 'identifier', text.slice(0, 300), trx);
      const live = await this.#ctx.repo.currentMany(trx, 'Practitioner', ids);
      if (live.length === 1) return live[0]!.id;
      if (live.length > 1)
        throw new VigilError(
          'CONFLICT',
          `${live.length} practitioners have identifier ${text.slice(0, 100)}: link by id`,
        );
      throw new VigilError('NOT_FOUND', `No practitioner has identifier ${text.slice(0, 100)}`);
    }
    const id = text.replace(/^Practitioner\//, '');
    requireId(id, 'practitioner id');
    const head = await this.#ctx.repo.head(trx, 'Practitioner', id);
    if (!head || head.deleted) throw new VigilError('NOT_FOUND', `Practitioner/${id} does not exist`);
    return id;
  }

  /** Removes a user's practitioner link (they lose every care relationship). Audited. */
  async unlinkStaff(actor: AuditActor, userId: string): Promise<boolean> {
    const removed = await this.#db.transaction().execute(async (trx) => {
      const out = await unlinkStaff(trx, userId);
      if (out)
        await this.audit.appendInTransaction(trx, {
          actor,
          action: 'delete',
          resources: [`user/${userId.slice(0, 64)}`],
          outcome: 'success',
        });
      return out;
    });
    this.#care?.forgetUser(userId);
    return removed;
  }

  /** Every user–practitioner link. */
  staffLinks(): Promise<StaffLink[]> {
    return staffLinks(this.#db);
  }

  /**
   * Break-the-glass: a clinician without a care relationship declares an emergency for a patient,
   * with a reason. The grant lasts `breakGlassMinutes`; the declaration is audited with its
   * reason, and a `vault.break_glass.declared` event (severity high) goes to privacy review.
   */
  async declareBreakGlass(
    principal: VaultPrincipal,
    patientId: string,
    reason: unknown,
  ): Promise<BreakGlassGrant> {
    if (principal.role !== 'clinician')
      throw new VigilError('FORBIDDEN', 'Only clinicians may declare an emergency (break-the-glass)');
    requireId(patientId, 'patient id');
    const text = cleanReason(reason);
    const now = this.#ctx.clock.now();
    const grant: BreakGlassGrant = {
      id: newId(),
      userId: principal.id,
      patientId,
      reason: text,
      grantedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.#breakGlassMs).toISOString(),
    };
    await this.#run(async (trx, events) => {
      const head = await this.#ctx.repo.head(trx, 'Patient', patientId);
      if (!head || head.deleted) throw new VigilError('NOT_FOUND', `Patient/${patientId} does not exist`);
      await insertGrant(trx, this.#keys, grant);
      await this.audit.appendInTransaction(trx, {
        actor: { id: principal.id, role: principal.role },
        action: 'break-glass',
        resources: [`Patient/${patientId}`],
        patientRef: this.#ctx.patientRef(patientId),
        outcome: 'success',
        breakGlass: { reason: text },
      });
      events.push({
        kind: 'vault.break_glass.declared',
        source: 'vault',
        severity: 'high',
        user: { id: principal.id, role: principal.role },
        patientRef: this.#ctx.patientRef(patientId),
        data: { grantId: grant.id, expiresAt: grant.expiresAt, minutes: this.#breakGlassMs / 60_000 },
      });
    });
    return grant;
  }

  /** Break-the-glass grants since `since`, newest first, for the privacy officer's review. */
  async breakGlassGrants(principal: VaultPrincipal, since: Date, limit = 200): Promise<BreakGlassGrant[]> {
    if (principal.role !== 'privacy-officer')
      throw new VigilError('FORBIDDEN', 'Only privacy officers review break-the-glass grants');
    return this.#run(async (trx) => {
      const grants = await listGrants(trx, this.#keys, {
        since: since.toISOString(),
        limit: Math.min(Math.max(limit, 1), 1000),
      });
      await this.audit.appendInTransaction(trx, {
        actor: { id: principal.id, role: principal.role },
        action: 'read',
        resources: grants.map((g) => `break-glass/${g.id}`),
        outcome: 'success',
      });
      return grants;
    });
  }

  /** The CapabilityStatement (generated from what is implemented). */
  capabilityStatement(): FhirResource {
    return capabilityStatement(this.#version, this.#ctx.clock.now().toISOString());
  }

  async #publish(events: readonly EventInput[]): Promise<void> {
    if (!events.length) return;
    const written = new Set<string>();
    for (const e of events)
      if (e.kind !== 'vault.resource.read' && e.kind !== 'vault.resource.searched') {
        const type = (e.data as { resourceType?: unknown } | undefined)?.resourceType;
        if (typeof type === 'string') written.add(type);
        if (e.kind === 'vault.import.batch')
          for (const t of (e.data as { types?: string[] }).types ?? []) written.add(t);
      }
    if (written.size) this.#ctx.policy.changed?.(written);
    const now = this.#ctx.clock.now();
    try {
      await this.#bus.publish(events.map((e) => makeEvent(e, now)));
    } catch (err) {
      // The data change is committed and audited; a bus outage must not turn it into an error.
      this.#logger.warn({ err, kinds: events.map((e) => e.kind) }, 'vault events not published');
    }
  }

  async #run<T>(fn: (trx: Kysely<VaultTables>, pending: PendingEvents) => Promise<T>): Promise<T> {
    const pending: PendingEvents = [];
    try {
      const out = await this.#db.transaction().execute((trx) => fn(trx, pending));
      await this.#publish(pending);
      return out;
    } catch (err) {
      if (err instanceof AccessDeniedError) {
        await this.audit.append(err.auditEntry);
        await this.#publish([err.event]);
      }
      throw err;
    }
  }

  async #valid(resource: unknown, expectedType?: string): Promise<FhirResource> {
    if (!resource || typeof resource !== 'object' || Array.isArray(resource))
      throw new VigilError('BAD_REQUEST', 'The body must be a FHIR resource (a JSON object)', {
        details: { fhirCode: 'invalid' },
      });
    const r = resource as FhirResource;
    if (typeof r.resourceType !== 'string')
      throw new VigilError('BAD_REQUEST', 'resourceType is required', {
        details: { expression: ['resourceType'] },
      });
    if (expectedType !== undefined && r.resourceType !== expectedType)
      throw new VigilError(
        'BAD_REQUEST',
        `The body is a ${r.resourceType.slice(0, 64)}, the URL names ${expectedType}`,
        {
          details: { expression: ['resourceType'] },
        },
      );
    requireStoredType(r.resourceType);
    if (r.resourceType === 'Binary')
      throw new VigilError(
        'BAD_REQUEST',
        'A Binary is stored with POST /fhir/Binary (streamed and encrypted)',
        {
          details: { fhirCode: 'not-supported' },
        },
      );
    await validateFhir(r);
    return linkBinaryAttachments(r, (id) => this.#binaries.describe(id));
  }

  /**
   * Stores a binary for a patient, streamed and encrypted (binary-interactions.ts): the caller
   * must be allowed to create the patient's data; 413 past `maxBytes`, 415 for a type not allowed.
   */
  createBinary(principal: VaultPrincipal, upload: BinaryUpload): Promise<BinaryInfo> {
    return createBinaryIn(this.#ctx, this.#binaries, (fn) => this.#run(fn), principal, upload);
  }

  /** Opens a binary for reading, checked and audited by its patient. */
  readBinary(principal: VaultPrincipal, id: string, options?: ReadBinaryOptions): Promise<OpenedBinary> {
    return readBinaryIn(this.#ctx, this.#binaries, (fn) => this.#run(fn), principal, id, options);
  }

  /** Creates a resource with a server-assigned id, version 1. */
  async create(principal: VaultPrincipal, resource: unknown, type?: string): Promise<StoredVersion> {
    const r = await this.#valid(resource, type);
    return this.#run((trx, pending) => createIn(this.#ctx, trx, principal, r, pending));
  }

  /**
   * Runs a read-only interaction outside a transaction: its audit entry goes through the trail's
   * group commit (`appendDurably`) and is durable before this resolves; a denial is audited the
   * same way.
   */
  async #readOnly<T>(fn: (db: Kysely<VaultTables>, pending: PendingEvents) => Promise<T>): Promise<T> {
    const pending: PendingEvents = [];
    try {
      const out = await fn(this.#db, pending);
      await this.#publish(pending);
      return out;
    } catch (err) {
      if (err instanceof AccessDeniedError) {
        await this.audit.appendDurably(err.auditEntry);
        await this.#publish([err.event]);
      }
      throw err;
    }
  }

  /**
   * Reads the current version (410 via details.fhirStatus when deleted). The common case is one
   * query (head and body together), the access decision, and a group-committed audit entry.
   */
  async read(principal: VaultPrincipal, type: string, id: string): Promise<StoredVersion> {
    requireStoredType(type);
    requireId(id);
    const [v] = await this.#ctx.repo.currentMany(this.#db, type, [id]);
    // Absent, deleted or erased: the transactional path answers each precisely.
    if (!v) return this.#run((trx, pending) => readIn(this.#ctx, trx, principal, type, id, pending));
    return this.#readOnly(async (db, pending) => {
      const allowed = await authorize(
        this.#ctx,
        db,
        principal,
        { patientId: v.patientId, resourceType: type, action: 'read' },
        [`${type}/${id}`],
      );
      const { entry, event } = auditOf(this.#ctx, principal, 'read', v, 'resource.read', allowed);
      await this.audit.appendDurably(entry);
      pending.push(event);
      return v;
    });
  }

  /** Reads one version. */
  vread(principal: VaultPrincipal, type: string, id: string, versionId: string): Promise<StoredVersion> {
    return this.#run((trx, pending) => vreadIn(this.#ctx, trx, principal, type, id, versionId, pending));
  }

  /** Updates (or creates with the client's id); `ifMatch` is the If-Match header when present. */
  async update(
    principal: VaultPrincipal,
    type: string,
    id: string,
    resource: unknown,
    ifMatch?: string,
  ): Promise<{ version: StoredVersion; created: boolean }> {
    const expected = ifMatch === undefined ? undefined : parseIfMatch(ifMatch);
    const r = await this.#valid(resource, type);
    return this.#run((trx, pending) => updateIn(this.#ctx, trx, principal, type, id, r, expected, pending));
  }

  /** Deletes (a deleted version); null when it was deleted already. */
  delete(principal: VaultPrincipal, type: string, id: string): Promise<StoredVersion | null> {
    return this.#run((trx, pending) => deleteIn(this.#ctx, trx, principal, type, id, pending));
  }

  /** Instance history as a Bundle, newest first. */
  history(
    principal: VaultPrincipal,
    type: string,
    id: string,
    params: ReadonlyArray<readonly [string, string]>,
    base: string,
  ): Promise<FhirResource> {
    let count = 100;
    let before: number | null = null;
    const self: Array<[string, string]> = [];
    for (const [k, v] of params) {
      if (k === '_count') count = Math.max(1, parseCount(v));
      else if (k === '_cursor') {
        const m = /^v([1-9]\d{0,9})$/.exec(v);
        if (!m)
          throw new VigilError('BAD_REQUEST', 'Search parameter _cursor is not a cursor this server issued');
        before = Number(m[1]);
        continue;
      } else
        throw new VigilError('BAD_REQUEST', `Parameter ${k.slice(0, 64)} is not supported on history`, {
          details: { fhirCode: 'not-supported', parameter: k.slice(0, 64) },
        });
      self.push([k, v]);
    }
    return this.#run(async (trx, pending) => {
      const h = await historyIn(this.#ctx, trx, principal, type, id, count, before, pending);
      const next = h.more && h.versions.length ? `v${h.versions.at(-1)!.versionId}` : null;
      return historyBundle(base, `${type}/${id}/_history`, h.versions, next, self);
    });
  }

  /** One page of a type search (see search.ts for what is supported). */
  search(
    principal: VaultPrincipal,
    type: string,
    params: ReadonlyArray<readonly [string, string]>,
  ): Promise<SearchPage> {
    if (type === AUDIT_EVENT) throw new VigilError('INTERNAL', 'Use searchAuditEvents for AuditEvent');
    return this.#readOnly((db, pending) =>
      searchIn(this.#ctx, db, principal, type, params, pending, (entry) => this.audit.appendDurably(entry)),
    );
  }

  /** One AuditEvent (privacy officers); the reading is itself audited. */
  readAuditEvent(principal: VaultPrincipal, id: string): Promise<FhirResource> {
    return this.#run(async (trx) => {
      await authorize(
        this.#ctx,
        trx,
        principal,
        { patientId: null, resourceType: AUDIT_EVENT, action: 'read' },
        [`${AUDIT_EVENT}/${id.slice(0, 20)}`],
      );
      const event = await readAuditEvent(trx, id);
      await this.audit.appendInTransaction(trx, {
        actor: { id: principal.id, role: principal.role },
        action: 'read',
        resources: [`${AUDIT_EVENT}/${event.id}`],
        outcome: 'success',
      });
      return event;
    });
  }

  /** A page of AuditEvents, newest first (privacy officers); audited with the ids returned. */
  searchAuditEvents(
    principal: VaultPrincipal,
    params: ReadonlyArray<readonly [string, string]>,
  ): Promise<{ resources: FhirResource[]; next: string | null; self: Array<[string, string]> }> {
    return this.#run(async (trx) => {
      await authorize(
        this.#ctx,
        trx,
        principal,
        { patientId: null, resourceType: AUDIT_EVENT, action: 'search' },
        [AUDIT_EVENT],
      );
      const page = await searchAuditEvents(trx, params, this.#ctx.patientRef);
      await this.audit.appendInTransaction(trx, {
        actor: { id: principal.id, role: principal.role },
        action: 'search',
        resources: [AUDIT_EVENT],
        outcome: 'success',
        searchResultIds: page.resources.map((r) => `${AUDIT_EVENT}/${r.id}`),
      });
      return page;
    });
  }

  /**
   * A `batch` or `transaction` Bundle; answers the response Bundle. A transaction runs in one
   * database transaction: the first failing entry rolls everything back (no data, no audit entries
   * of its writes) and the error names the entry.
   */
  async bundle(principal: VaultPrincipal, body: unknown, base: string): Promise<FhirResource> {
    const { type, entries } = parseBundle(body);
    if (type === 'batch') {
      const out: unknown[] = [];
      for (const e of entries) {
        try {
          out.push(await this.#batchEntry(principal, e, base));
        } catch (err) {
          if (!isVigilError(err)) throw err;
          const status = typeof err.details?.fhirStatus === 'number' ? err.details.fhirStatus : err.status;
          out.push({
            response: {
              status: String(status),
              outcome: {
                resourceType: 'OperationOutcome',
                issue: [{ severity: 'error', code: 'processing', diagnostics: err.message }],
              },
            },
          });
        }
      }
      return { resourceType: 'Bundle', type: 'batch-response', entry: out };
    }
    const resources = new Map<number, FhirResource>();
    for (const e of entries) {
      if (!e.resource) continue;
      try {
        resources.set(e.index, await this.#valid(e.resource, e.type));
      } catch (err) {
        throw atEntry(err, e.index);
      }
    }
    const responses = await this.#run(async (trx, pending) => {
      const out = new Map<number, unknown>();
      for (const e of transactionOrder(entries)) {
        try {
          out.set(
            e.index,
            await this.#entryIn(trx, pending, principal, e, resources.get(e.index) ?? null, base),
          );
        } catch (err) {
          throw atEntry(err, e.index);
        }
      }
      return out;
    });
    return {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: entries.map((e) => responses.get(e.index)),
    };
  }

  async #batchEntry(principal: VaultPrincipal, e: BundleEntryRequest, base: string): Promise<unknown> {
    const resource = e.resource ? await this.#valid(e.resource, e.type) : null;
    return this.#run((trx, pending) => this.#entryIn(trx, pending, principal, e, resource, base));
  }

  async #entryIn(
    trx: Kysely<VaultTables>,
    pending: PendingEvents,
    principal: VaultPrincipal,
    e: BundleEntryRequest,
    resource: FhirResource | null,
    base: string,
  ): Promise<unknown> {
    const ctx = this.#ctx;
    const expected = e.ifMatch === null ? undefined : parseIfMatch(e.ifMatch);
    const written = (v: StoredVersion, status: string) => ({
      resource: v.resource,
      response: { status, location: versionRef(v), etag: etagOf(v), lastModified: v.lastUpdated },
    });
    switch (e.method) {
      case 'POST':
        return written(
          await createIn(ctx, trx, principal, resource!, pending, e.assignedId ?? undefined),
          '201 Created',
        );
      case 'PUT': {
        const r = await updateIn(ctx, trx, principal, e.type, e.id!, resource!, expected, pending);
        return written(r.version, r.created ? '201 Created' : '200 OK');
      }
      case 'DELETE':
        await deleteIn(ctx, trx, principal, e.type, e.id!, pending, expected);
        return { response: { status: '204 No Content' } };
      case 'GET': {
        if (e.query !== null || e.id === null) {
          const page = await searchIn(ctx, trx, principal, e.type, e.query ?? [], pending);
          return { resource: searchsetBundle(base, e.type, page), response: { status: '200 OK' } };
        }
        const v = e.versionId
          ? await vreadIn(ctx, trx, principal, e.type, e.id, e.versionId, pending)
          : await readIn(ctx, trx, principal, e.type, e.id, pending);
        return {
          resource: v.resource,
          response: { status: '200 OK', etag: etagOf(v), lastModified: v.lastUpdated },
        };
      }
    }
  }

  /**
   * Bulk import of one batch in one transaction, keeping each resource's source id. Idempotent: a
   * resource whose type/id exists with the same content (ignoring `meta`) is left alone; a changed
   * one becomes a new version. So re-running an interrupted import resumes it. Audited as one
   * entry per patient per batch; the importer is an operator on the server (the CLI, with the
   * key directory), so the access policy is not asked.
   */
  async importBatch(actor: AuditActor, batch: readonly unknown[]): Promise<ImportResult> {
    const resources: FhirResource[] = [];
    for (const [i, raw] of batch.entries()) {
      const r = await this.#valid(raw).catch((err: unknown) => {
        throw atEntry(err, i, 'line');
      });
      if (typeof r.id !== 'string')
        throw atEntry(new VigilError('BAD_REQUEST', 'A bulk resource needs its id'), i, 'line');
      requireId(r.id);
      resources.push(r);
    }
    const result: ImportResult = { created: 0, updated: 0, unchanged: 0 };
    const pending: PendingEvents = [];
    await this.#db.transaction().execute(async (trx) => {
      const byType = new Map<string, FhirResource[]>();
      for (const r of resources) {
        const list = byType.get(r.resourceType);
        if (list) list.push(r);
        else byType.set(r.resourceType, [r]);
      }
      // The heads first (one query per 200 ids); only resources that have a live version are read
      // and decrypted to compare (none on a first import).
      const current = new Map<string, StoredVersion>();
      const heads = new Map<string, Map<string, CurrentRow>>();
      for (const [type, list] of byType) {
        const found = await this.#ctx.repo.heads(
          trx,
          type,
          list.map((r) => r.id!),
        );
        heads.set(type, found);
        const live = [...found.values()].filter((h) => !h.deleted).map((h) => h.id);
        for (const v of await this.#ctx.repo.currentMany(trx, type, live)) current.set(`${type}/${v.id}`, v);
      }
      const touched = new Map<string | null, string[]>();
      const touch = (v: StoredVersion) => {
        const refs = touched.get(v.patientId);
        if (refs) refs.push(versionRef(v));
        else touched.set(v.patientId, [versionRef(v)]);
      };
      // New resources (no history) are written together; an update needs its own statement.
      const fresh: Array<{ resource: FhirResource; id: string; patientId: string | null }> = [];
      const pendingKeys = new Set<string>();
      const flush = async () => {
        for (const v of await this.#ctx.repo.writeNew(trx, fresh.splice(0))) {
          current.set(`${v.resourceType}/${v.id}`, v);
          touch(v);
        }
        pendingKeys.clear();
      };
      for (const r of resources) {
        const key = `${r.resourceType}/${r.id}`;
        // The same resource twice in one batch: the earlier line is written first.
        if (pendingKeys.has(key)) await flush();
        const existing = current.get(key);
        if (existing && withoutMeta(existing.resource) === withoutMeta(r)) {
          result.unchanged++;
          continue;
        }
        const head = existing ? undefined : heads.get(r.resourceType)?.get(r.id!);
        if (!existing && !head) {
          fresh.push({ resource: r, id: r.id!, patientId: patientOf(r) });
          pendingKeys.add(key);
          result.created++;
          continue;
        }
        const v = await this.#ctx.repo.write(trx, {
          resource: r,
          id: r.id!,
          patientId: patientOf(r),
          expectedVersion: existing?.versionId ?? head?.version_id ?? 0,
        });
        current.set(key, v);
        result.updated++;
        touch(v);
      }
      await flush();
      await this.audit.appendManyInTransaction(
        trx,
        [...touched].map(([patientId, refs]) => ({
          actor,
          action: 'create' as const,
          resources: refs,
          patientRef: patientId === null ? null : this.#ctx.patientRef(patientId),
          outcome: 'success' as const,
        })),
      );
      pending.push({
        kind: 'vault.import.batch',
        source: 'vault',
        severity: 'info',
        user: { id: actor.id, role: actor.role },
        data: { ...result, types: [...byType.keys()] },
      });
    });
    await this.#publish(pending);
    // After bulk loads the planner's statistics are stale (planner-stats.ts): refreshed each time
    // the imported count doubles, a handful of times however large the import.
    this.#imported += result.created;
    if (this.#imported >= this.#refreshStatsAt) {
      this.#refreshStatsAt = this.#imported * 2;
      await refreshPlannerStats(this.#anyDb, [
        'vault_current',
        'vault_resources',
        'vault_search',
        'vault_audit',
      ]);
    }
    return result;
  }
}

function atEntry(err: unknown, index: number, what = 'Bundle.entry'): unknown {
  if (!isVigilError(err)) return err;
  const at = what === 'line' ? `line ${index + 1}` : `Bundle.entry[${index}]`;
  const expression = Array.isArray(err.details?.expression)
    ? (err.details.expression as string[]).map((x) => (what === 'line' ? x : `${at}.resource.${x}`))
    : [at];
  const wrapped = new VigilError(err.code, `${at}: ${err.message}`, {
    details: { ...(err.details ?? {}), expression, entry: index },
    cause: err,
  });
  return err instanceof AccessDeniedError ? Object.assign(err, { message: wrapped.message }) : wrapped;
}
