/**
 * @module vault/binary-interactions
 * Creating and reading a Binary, with the access decision and the audit entry, as interactions.ts
 * does for resources. The access check is always by the binary's patient (its security context).
 *
 * Create: the policy is asked first (a denial is audited and nothing is read), the bytes stream
 * into an incomplete binary outside any transaction, and a short transaction asks the policy
 * again (access may have ended during a long upload), marks the binary complete and appends the
 * `create` entry. A failed upload (too large, interrupted, refused at the end) leaves no rows and
 * appends a `failure` entry. Read: the decision and the `read` entry commit before the first
 * byte is sent.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import type { VaultPrincipal } from './access-policy.js';
import {
  type BinaryInfo,
  type BinaryStore,
  type BinaryUpload,
  DEFAULT_BINARY_CONTENT_TYPES,
  mediaTypeOf,
  type OpenedBinary,
  requireAllowedType,
} from './binaries.js';
import { keyOwner } from './data-keys.js';
import { requireId } from './fhir-types.js';
import { authorize, type PendingEvents, type VaultContext, vaultEvent } from './interactions.js';
import { patientOfOwner } from './repository.js';
import type { VaultTables } from './tables.js';

/** Runs `fn` in a transaction, audits a denial after the rollback, publishes after the commit. */
export type VaultRun = <T>(
  fn: (trx: Kysely<VaultTables>, pending: PendingEvents) => Promise<T>,
) => Promise<T>;

const BINARY = 'Binary';

/** Stores an uploaded binary for a patient (see the module comment). */
export async function createBinaryIn(
  ctx: VaultContext,
  store: BinaryStore,
  run: VaultRun,
  principal: VaultPrincipal,
  upload: BinaryUpload,
): Promise<BinaryInfo> {
  const contentType = mediaTypeOf(upload.contentType);
  requireAllowedType(contentType, upload.allowedContentTypes ?? DEFAULT_BINARY_CONTENT_TYPES);
  if (!Number.isSafeInteger(upload.maxBytes) || upload.maxBytes < 1)
    throw new VigilError('INTERNAL', 'An upload needs a positive size limit');
  const patientId = upload.patientId;
  requireId(patientId, 'The patient id');
  const id = randomUUID();
  const owner = keyOwner(BINARY, patientId);
  const question = { patientId, resourceType: BINARY, action: 'create' as const };
  const refs = [`${BINARY}/${id}`];

  await run(async (trx) => {
    await authorize(ctx, trx, principal, question, refs);
    const patient = await ctx.repo.head(trx, 'Patient', patientId);
    if (!patient || patient.deleted)
      throw new VigilError('BAD_REQUEST', `securityContext: Patient/${patientId} does not exist`, {
        details: { expression: ['Binary.securityContext'] },
      });
  });

  let received: { size: number; sha256: string; sha1: string };
  try {
    received = await store.receive(id, owner, contentType, upload.stream, upload.maxBytes);
  } catch (err) {
    await ctx.audit
      .append({
        actor: { id: principal.id, role: principal.role },
        action: 'create',
        resources: refs,
        patientRef: ctx.patientRef(patientId),
        outcome: 'failure',
      })
      .catch(() => {});
    throw err;
  }

  try {
    return await run(async (trx, pending) => {
      const allowed = await authorize(ctx, trx, principal, question, refs);
      await store.complete(trx, id, owner, received);
      await ctx.audit.appendInTransaction(trx, {
        actor: { id: principal.id, role: principal.role },
        action: 'create',
        resources: [`${BINARY}/${id}/_history/1`],
        patientRef: ctx.patientRef(patientId),
        outcome: 'success',
        breakGlass: allowed.breakGlass ?? null,
      });
      pending.push(
        vaultEvent(ctx, 'resource.created', principal, patientId, { resourceType: BINARY, action: 'create' }),
      );
      return {
        id,
        patientId,
        contentType,
        size: received.size,
        sha256: received.sha256,
        sha1: received.sha1,
        createdAt: ctx.clock.now().toISOString(),
      };
    });
  } catch (err) {
    await store.discard(id);
    throw err;
  }
}

/** Options of {@link readBinaryIn}. */
export interface ReadBinaryOptions {
  /**
   * Refuse (406, before the read is recorded) a binary larger than this: for answers that must
   * hold the bytes in memory, such as the Binary as FHIR JSON.
   */
  maxBytes?: number;
}

/** Opens a binary for a principal who may read its patient's data; the read is audited first. */
export async function readBinaryIn(
  ctx: VaultContext,
  store: BinaryStore,
  run: VaultRun,
  principal: VaultPrincipal,
  id: string,
  options: ReadBinaryOptions = {},
): Promise<OpenedBinary> {
  requireId(id);
  const opened = await run(async (trx, pending) => {
    const row = await store.row(trx, id);
    if (!row)
      throw new VigilError('NOT_FOUND', `${BINARY}/${id} does not exist`, {
        details: { fhirCode: 'not-found' },
      });
    const patientId = patientOfOwner(row.key_owner);
    const allowed = await authorize(
      ctx,
      trx,
      principal,
      { patientId, resourceType: BINARY, action: 'read' },
      [`${BINARY}/${id}`],
    );
    const size = Number(row.size);
    if (options.maxBytes !== undefined && size > options.maxBytes)
      throw new VigilError(
        'PAYLOAD_TOO_LARGE',
        `This file has ${size} bytes, too many for a JSON answer (at most ${options.maxBytes}): ask for the file itself (Accept: ${row.content_type})`,
        { details: { fhirStatus: 406, fhirCode: 'too-costly' } },
      );
    const info = await store.info(row, trx);
    await ctx.audit.appendInTransaction(trx, {
      actor: { id: principal.id, role: principal.role },
      action: 'read',
      resources: [`${BINARY}/${id}/_history/1`],
      patientRef: patientId === null ? null : ctx.patientRef(patientId),
      outcome: 'success',
      breakGlass: allowed.breakGlass ?? null,
    });
    pending.push(
      vaultEvent(ctx, 'resource.read', principal, patientId, { resourceType: BINARY, action: 'read' }),
    );
    return { row, info };
  });
  return { ...opened.info, stream: await store.open(opened.row, opened.info.sha256) };
}
