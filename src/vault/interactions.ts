/**
 * @module vault/interactions
 * The FHIR interactions on one resource (create, read, vread, update, delete, history), each run
 * inside a caller's transaction together with its access decision and its audit entry: the data
 * change and the entry commit or roll back together, and a read's entry is durable before the
 * caller answers (the transaction commits first). Bus events are collected in `pending` and
 * published by the caller after the commit, so a rolled-back write announces nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Clock, type EventInput, VigilError } from '../core/index.js';
import type { AccessAction, AccessDecision, AccessPolicy, VaultPrincipal } from './access-policy.js';
import type { AuditAction, AuditEntryInput } from './audit-entry.js';
import type { AuditTrail } from './audit-trail.js';
import type { BlindIndex } from './blind-index.js';
import { type FhirResource, patientOf, requireId, requireStoredType } from './fhir-types.js';
import type { PatientRefHasher } from './patient-ref.js';
import { type FhirRepository, patientOfOwner, type StoredVersion } from './repository.js';
import type { VaultTables } from './tables.js';

/** What the interactions need. */
export interface VaultContext {
  db: Kysely<VaultTables>;
  repo: FhirRepository;
  index: BlindIndex;
  audit: AuditTrail;
  policy: AccessPolicy;
  patientRef: PatientRefHasher;
  clock: Clock;
}

/** Events to publish once the transaction has committed. */
export type PendingEvents = EventInput[];

/**
 * A refusal by the access policy. It carries the audit entry to append after the transaction
 * rolled back (a denial must be recorded even though nothing else is).
 */
export class AccessDeniedError extends VigilError {
  readonly auditEntry: AuditEntryInput;
  readonly event: EventInput;
  constructor(message: string, auditEntry: AuditEntryInput, event: EventInput, breakGlass: boolean) {
    super('FORBIDDEN', message, {
      details: { fhirCode: 'forbidden', ...(breakGlass ? { breakGlassPossible: true } : {}) },
    });
    this.name = 'AccessDeniedError';
    this.auditEntry = auditEntry;
    this.event = event;
  }
}

/** An event about a vault interaction: who, which patient (keyed hash), what kind; never ids or names. */
export function vaultEvent(
  ctx: VaultContext,
  kind: string,
  principal: VaultPrincipal,
  patientId: string | null,
  data: Record<string, unknown>,
  severity: EventInput['severity'] = 'info',
): EventInput {
  return {
    kind: `vault.${kind}`,
    source: 'vault',
    severity,
    user: { id: principal.id, role: principal.role },
    ...(patientId !== null ? { patientRef: ctx.patientRef(patientId) } : {}),
    data,
  };
}

/** What an allowed interaction records: the break-the-glass reason when a grant allowed it. */
export type Allowed = Extract<AccessDecision, { effect: 'allow' }>;

/** Asks the policy (inside `trx`); throws {@link AccessDeniedError} unless it allows. */
export async function authorize(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  question: { patientId: string | null; resourceType: string; action: AccessAction },
  resources: readonly string[],
): Promise<Allowed> {
  const decision = await ctx.policy.decide({ principal, ...question }, trx);
  if (decision.effect === 'allow') return decision;
  const auditAction: AuditAction = question.action === 'search' ? 'search' : question.action;
  throw new AccessDeniedError(
    decision.why,
    {
      actor: { id: principal.id, role: principal.role },
      action: auditAction,
      resources,
      patientRef: question.patientId === null ? null : ctx.patientRef(question.patientId),
      outcome: 'denied',
    },
    vaultEvent(
      ctx,
      'access.denied',
      principal,
      question.patientId,
      { resourceType: question.resourceType, action: question.action, decision: decision.effect },
      'medium',
    ),
    decision.effect === 'needs-break-glass',
  );
}

/** The audit entry and the event of a successful interaction on one version. */
export function auditOf(
  ctx: VaultContext,
  principal: VaultPrincipal,
  action: AuditAction,
  version: StoredVersion,
  eventKind: string,
  allowed: Allowed,
): { entry: AuditEntryInput; event: EventInput } {
  return {
    entry: {
      actor: { id: principal.id, role: principal.role },
      action,
      resources: [versionRef(version)],
      patientRef: version.patientId === null ? null : ctx.patientRef(version.patientId),
      outcome: 'success',
      breakGlass: allowed.breakGlass ?? null,
    },
    event: vaultEvent(ctx, eventKind, principal, version.patientId, {
      resourceType: version.resourceType,
      action,
      ...(allowed.breakGlass ? { breakGlass: true } : {}),
    }),
  };
}

async function record(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  action: AuditAction,
  version: StoredVersion,
  pending: PendingEvents,
  eventKind: string,
  allowed: Allowed,
): Promise<void> {
  const { entry, event } = auditOf(ctx, principal, action, version, eventKind, allowed);
  await ctx.audit.appendInTransaction(trx, entry);
  pending.push(event);
}

/** `Type/id/_history/n`. */
export function versionRef(v: { resourceType: string; id: string; versionId: number }): string {
  return `${v.resourceType}/${v.id}/_history/${v.versionId}`;
}

function gone(type: string, id: string, versionId: number): VigilError {
  return new VigilError('NOT_FOUND', `${type}/${id} was deleted`, {
    details: { fhirStatus: 410, fhirCode: 'deleted', versionId },
  });
}

function notFound(type: string, id: string): VigilError {
  return new VigilError('NOT_FOUND', `${type}/${id} does not exist`, { details: { fhirCode: 'not-found' } });
}

/** Create with a server-assigned id (or the given one: bulk import keeps source ids). */
export async function createIn(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  resource: FhirResource,
  pending: PendingEvents,
  id: string = randomUUID(),
): Promise<StoredVersion> {
  requireStoredType(resource.resourceType);
  requireId(id);
  const patientId = patientOf({ ...resource, id });
  const allowed = await authorize(
    ctx,
    trx,
    principal,
    { patientId, resourceType: resource.resourceType, action: 'create' },
    [`${resource.resourceType}/${id}`],
  );
  const v = await ctx.repo.write(trx, { resource, id, patientId, expectedVersion: 0 });
  await record(ctx, trx, principal, 'create', v, pending, 'resource.created', allowed);
  return v;
}

/** Read the current version: NOT_FOUND when absent, 410 (details.fhirStatus) when deleted. */
export async function readIn(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  type: string,
  id: string,
  pending: PendingEvents,
): Promise<StoredVersion> {
  requireStoredType(type);
  requireId(id);
  const head = await ctx.repo.head(trx, type, id);
  if (!head) throw notFound(type, id);
  const patientId = patientOfOwner(head.key_owner);
  const allowed = await authorize(ctx, trx, principal, { patientId, resourceType: type, action: 'read' }, [
    `${type}/${id}`,
  ]);
  if (head.deleted) throw gone(type, id, head.version_id);
  const v = await ctx.repo.version(trx, type, id, head.version_id);
  if (!v) throw new VigilError('INTERNAL', 'The current version of a resource is missing');
  await record(ctx, trx, principal, 'read', v, pending, 'resource.read', allowed);
  return v;
}

/** Read one version of the history. */
export async function vreadIn(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  type: string,
  id: string,
  versionId: string,
  pending: PendingEvents,
): Promise<StoredVersion> {
  requireStoredType(type);
  requireId(id);
  if (!/^[1-9]\d{0,9}$/.test(versionId)) throw notFound(`${type}/${id}/_history`, versionId.slice(0, 16));
  const v = await ctx.repo.version(trx, type, id, Number(versionId));
  if (!v) throw notFound(type, `${id}/_history/${versionId}`);
  const allowed = await authorize(
    ctx,
    trx,
    principal,
    { patientId: v.patientId, resourceType: type, action: 'read' },
    [versionRef(v)],
  );
  if (v.deleted) throw gone(type, id, v.versionId);
  await record(ctx, trx, principal, 'vread', v, pending, 'resource.read', allowed);
  return v;
}

/** Update (or create with the client's id); `expectedVersion` comes from If-Match. */
export async function updateIn(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  type: string,
  id: string,
  resource: FhirResource,
  expectedVersion: number | undefined,
  pending: PendingEvents,
): Promise<{ version: StoredVersion; created: boolean }> {
  requireStoredType(type);
  requireId(id);
  if (resource.resourceType !== type)
    throw new VigilError(
      'BAD_REQUEST',
      `The body is a ${String(resource.resourceType)}, the URL names ${type}`,
      {
        details: { expression: ['resourceType'] },
      },
    );
  if (resource.id !== id)
    throw new VigilError('BAD_REQUEST', `The body's id must equal the id in the URL (${id})`, {
      details: { expression: [`${type}.id`] },
    });
  const head = await ctx.repo.head(trx, type, id);
  const patientId = patientOf(resource);
  const refs = [`${type}/${id}`];
  if (head) {
    const before = patientOfOwner(head.key_owner);
    await authorize(ctx, trx, principal, { patientId: before, resourceType: type, action: 'update' }, refs);
  }
  const allowed = await authorize(
    ctx,
    trx,
    principal,
    { patientId, resourceType: type, action: head ? 'update' : 'create' },
    refs,
  );
  const v = await ctx.repo.write(trx, { resource, id, patientId, expectedVersion });
  const created = !head;
  await record(
    ctx,
    trx,
    principal,
    created ? 'create' : 'update',
    v,
    pending,
    created ? 'resource.created' : 'resource.updated',
    allowed,
  );
  return { version: v, created };
}

/** Delete: a new, deleted version (history keeps the old ones); deleting a deleted resource is a no-op. */
export async function deleteIn(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  type: string,
  id: string,
  pending: PendingEvents,
  expectedVersion?: number,
): Promise<StoredVersion | null> {
  requireStoredType(type);
  requireId(id);
  const head = await ctx.repo.head(trx, type, id);
  if (!head) throw notFound(type, id);
  const patientId = patientOfOwner(head.key_owner);
  const allowed = await authorize(ctx, trx, principal, { patientId, resourceType: type, action: 'delete' }, [
    `${type}/${id}`,
  ]);
  if (head.deleted) return null;
  const v = await ctx.repo.write(trx, {
    resource: { resourceType: type },
    id,
    patientId,
    expectedVersion,
    deleted: true,
  });
  await record(ctx, trx, principal, 'delete', v, pending, 'resource.deleted', allowed);
  return v;
}

/** Instance history, newest first: up to `count` versions below `before` (a version number). */
export async function historyIn(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  type: string,
  id: string,
  count: number,
  before: number | null,
  pending: PendingEvents,
): Promise<{ versions: StoredVersion[]; more: boolean }> {
  requireStoredType(type);
  requireId(id);
  const head = await ctx.repo.head(trx, type, id);
  if (!head) throw notFound(type, id);
  const patientId = patientOfOwner(head.key_owner);
  const allowed = await authorize(ctx, trx, principal, { patientId, resourceType: type, action: 'read' }, [
    `${type}/${id}`,
  ]);
  const numbers = (await ctx.repo.versions(trx, type, id)).filter((n) => before === null || n < before);
  const page = numbers.slice(0, count);
  const versions: StoredVersion[] = [];
  for (const n of page) {
    const v = await ctx.repo.version(trx, type, id, n);
    if (v) versions.push(v);
  }
  await ctx.audit.appendInTransaction(trx, {
    actor: { id: principal.id, role: principal.role },
    action: 'vread',
    resources: versions.map(versionRef),
    patientRef: patientId === null ? null : ctx.patientRef(patientId),
    outcome: 'success',
    breakGlass: allowed.breakGlass ?? null,
  });
  pending.push(
    vaultEvent(ctx, 'resource.read', principal, patientId, { resourceType: type, action: 'history' }),
  );
  return { versions, more: numbers.length > count };
}
