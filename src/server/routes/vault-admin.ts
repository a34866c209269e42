/**
 * @module server/routes/vault-admin
 * The vault's privacy-office API under `/api/vault`: legal holds (privacy officers), the signed
 * audit checkpoints (privacy officers) and the public key that verifies them (public, for outside
 * verifiers), and the audit trail exported as FHIR AuditEvent NDJSON, streamed. Erasure itself is
 * FHIR: `DELETE /fhir/Patient/<id>?_erase=true` (fhir.ts). Parsing and authorization only; the
 * vault's privacy office does the work and audits it.
 */
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VigilError } from '../../core/index.js';
import {
  type FhirResource,
  MAX_HOLD_REASON,
  parseExportRange,
  type Vault,
  type VaultPrincipal,
} from '../../vault/index.js';
import { ANY_SIGNED_IN, type RouteAccess } from '../access.js';

const holdView = z.object({
  patientId: z.string(),
  reason: z.string(),
  setBy: z.string(),
  setAt: z.string(),
});

const patientParams = z.object({
  patientId: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a FHIR id (1-64 of A-Z a-z 0-9 - .)'),
});

function principalOf(request: FastifyRequest): VaultPrincipal {
  const p = request.principal;
  if (!p) throw new VigilError('UNAUTHENTICATED', 'Sign in first');
  return { id: p.id, role: p.role };
}

/** NDJSON lines of the exported events: one JSON object and a newline each. */
async function* ndjson(events: AsyncIterable<FhirResource>): AsyncGenerator<string> {
  for await (const e of events) yield `${JSON.stringify(e)}\n`;
}

/** Registers the privacy-office routes. */
export const vaultAdminRoutes: FastifyPluginAsyncZod<{ vault: Vault }> = async (app, { vault }) => {
  const officer: RouteAccess = { roles: ['privacy-officer'] };
  const tags = ['vault'];

  app.get(
    '/api/vault/audit/public-key',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary:
          'The Ed25519 public key (PEM, SPKI) that verifies the signed audit checkpoints, for outside verifiers',
        security: [],
      },
    },
    async (_request, reply) => {
      const { pem, keyId } = vault.privacy.publicKey();
      return reply
        .header('x-vigil-key-id', keyId)
        .header('cache-control', 'no-cache')
        .type('application/x-pem-file')
        .send(pem);
    },
  );

  app.get(
    '/api/vault/audit/checkpoints',
    {
      config: { access: officer },
      schema: {
        tags,
        summary: 'Signed audit checkpoints, oldest first, each with the exact message that was signed',
        querystring: z
          .object({
            after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
          })
          .strict(),
        response: {
          200: z.object({
            keyId: z.string(),
            checkpoints: z.array(
              z.object({
                uptoSeq: z.number(),
                hash: z.string(),
                signature: z.string(),
                keyId: z.string(),
                createdAt: z.string(),
                message: z.string(),
              }),
            ),
            next: z.number().nullable(),
          }),
        },
      },
    },
    async (request) => vault.privacy.checkpoints(principalOf(request), request.query),
  );

  app.get(
    '/api/vault/audit/export',
    {
      // Any signed-in caller reaches the vault, which admits privacy officers only and audits a
      // refusal: an attempt to take the audit trail away is itself worth recording.
      config: { access: ANY_SIGNED_IN },
      schema: {
        tags,
        summary:
          'The audit trail as FHIR AuditEvent NDJSON, oldest first, streamed; since inclusive, until exclusive',
        querystring: z
          .object({ since: z.string().max(64).optional(), until: z.string().max(64).optional() })
          .strict(),
      },
    },
    async (request, reply) => {
      const range = parseExportRange(request.query.since, request.query.until);
      const exported = await vault.privacy.exportAudit(principalOf(request), range);
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', 'attachment; filename="AuditEvent.ndjson"')
        .type('application/fhir+ndjson')
        .send(Readable.from(ndjson(exported.events)));
    },
  );

  app.get(
    '/api/vault/legal-holds',
    {
      config: { access: officer },
      schema: {
        tags,
        summary: 'Every legal hold with its reason, newest first',
        response: { 200: z.object({ holds: z.array(holdView) }) },
      },
    },
    async (request) => ({ holds: await vault.privacy.listHolds(principalOf(request)) }),
  );

  app.put(
    '/api/vault/legal-holds/:patientId',
    {
      config: { access: officer },
      schema: {
        tags,
        summary:
          'Put a patient under a legal hold (erasure is refused while it stands), or change its reason',
        params: patientParams,
        body: z.object({ reason: z.string().min(1).max(MAX_HOLD_REASON) }).strict(),
        response: { 200: z.object({ hold: holdView }) },
      },
    },
    async (request) => ({
      hold: await vault.privacy.setHold(principalOf(request), request.params.patientId, request.body.reason),
    }),
  );

  app.delete(
    '/api/vault/legal-holds/:patientId',
    {
      config: { access: officer },
      schema: {
        tags,
        summary: 'Release a legal hold',
        params: patientParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await vault.privacy.releaseHold(principalOf(request), request.params.patientId);
      return reply.status(204).send(null);
    },
  );
};
