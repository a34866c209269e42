/**
 * @module server/routes/fhir
 * The FHIR R4 API under `/fhir` (`application/fhir+json` or `application/json`): the
 * CapabilityStatement, create/read/vread/update/delete, instance history, type search, and
 * batch/transaction Bundles; AuditEvent read and search. Routes admit any signed-in principal and
 * leave the decision to the vault's access policy, which audits every denial; errors answer as
 * OperationOutcome (plugins/errors.ts).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../core/index.js';
import {
  AUDIT_EVENT,
  etagOf,
  type FhirResource,
  type StoredVersion,
  searchsetBundle,
  type Vault,
  type VaultPrincipal,
} from '../../vault/index.js';
import { ANY_SIGNED_IN } from '../access.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const TYPE_RE = /^[A-Z][A-Za-z]{0,63}$/;

type Params = { type: string; id: string; vid: string };

function principalOf(request: FastifyRequest): VaultPrincipal {
  const p = request.principal;
  if (!p) throw new VigilError('UNAUTHENTICATED', 'Sign in first');
  return { id: p.id, role: p.role };
}

function baseOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/fhir`;
}

function queryOf(request: FastifyRequest): Array<[string, string]> {
  const q = request.url.indexOf('?');
  return q < 0 ? [] : [...new URLSearchParams(request.url.slice(q + 1)).entries()];
}

/**
 * Whether a delete asks for erasure: `_erase=true` (or `false`, a plain delete) and no other
 * parameter; anything else is refused rather than ignored.
 */
function eraseRequested(params: ReadonlyArray<readonly [string, string]>): boolean {
  let erase: boolean | null = null;
  for (const [k, v] of params) {
    if (k !== '_erase')
      throw new VigilError('BAD_REQUEST', `Parameter ${k.slice(0, 64)} is not supported on delete`, {
        details: { fhirCode: 'not-supported', parameter: k.slice(0, 64) },
      });
    if (erase !== null) throw new VigilError('BAD_REQUEST', '_erase is given twice');
    if (v !== 'true' && v !== 'false')
      throw new VigilError('BAD_REQUEST', '_erase must be true or false', {
        details: { expression: ['_erase'] },
      });
    erase = v === 'true';
  }
  return erase === true;
}

function typeOf(request: FastifyRequest<{ Params: Partial<Params> }>): string {
  const type = request.params.type ?? '';
  if (!TYPE_RE.test(type))
    throw new VigilError('NOT_FOUND', 'No such resource type', { details: { fhirCode: 'not-supported' } });
  return type;
}

function sendVersion(reply: FastifyReply, v: StoredVersion, status = 200, base?: string): FastifyReply {
  reply.header('etag', etagOf(v)).header('last-modified', new Date(v.lastUpdated).toUTCString());
  if (base) reply.header('location', `${base}/${v.resourceType}/${v.id}/_history/${v.versionId}`);
  return reply.status(status).type(FHIR_JSON).send(v.resource);
}

function send(reply: FastifyReply, resource: FhirResource, status = 200): FastifyReply {
  return reply.status(status).type(FHIR_JSON).send(resource);
}

/** Registers the FHIR routes. */
export const fhirRoutes: FastifyPluginAsync<{ vault: Vault }> = async (app, { vault }) => {
  const config = { access: ANY_SIGNED_IN };
  const schema = (summary: string) => ({ tags: ['fhir'], summary });

  app.get(
    '/fhir/metadata',
    { config: { access: 'public' }, schema: schema('The CapabilityStatement: what this server implements') },
    async (_request, reply) => send(reply, vault.capabilityStatement()),
  );

  app.post('/fhir', { config, schema: schema('A batch or transaction Bundle') }, async (request, reply) =>
    send(reply, await vault.bundle(principalOf(request), request.body, baseOf(request))),
  );

  app.post<{ Params: Pick<Params, 'type'> }>(
    '/fhir/:type',
    { config, schema: schema('Create a resource (server-assigned id)') },
    async (request, reply) => {
      const v = await vault.create(principalOf(request), request.body, typeOf(request));
      return sendVersion(reply, v, 201, baseOf(request));
    },
  );

  app.get<{ Params: Pick<Params, 'type'> }>(
    '/fhir/:type',
    { config, schema: schema('Search a resource type') },
    async (request, reply) => {
      const type = typeOf(request);
      const page =
        type === AUDIT_EVENT
          ? await vault.searchAuditEvents(principalOf(request), queryOf(request))
          : await vault.search(principalOf(request), type, queryOf(request));
      return send(reply, searchsetBundle(baseOf(request), type, page));
    },
  );

  app.get<{ Params: Pick<Params, 'type' | 'id'> }>(
    '/fhir/:type/:id',
    { config, schema: schema('Read the current version') },
    async (request, reply) => {
      const type = typeOf(request);
      if (type === AUDIT_EVENT)
        return send(reply, await vault.readAuditEvent(principalOf(request), request.params.id));
      return sendVersion(reply, await vault.read(principalOf(request), type, request.params.id));
    },
  );

  app.put<{ Params: Pick<Params, 'type' | 'id'> }>(
    '/fhir/:type/:id',
    { config, schema: schema('Update (or create with this id); If-Match: W/"n" checks the version') },
    async (request, reply) => {
      const ifMatch = request.headers['if-match'];
      const r = await vault.update(
        principalOf(request),
        typeOf(request),
        request.params.id,
        request.body,
        typeof ifMatch === 'string' ? ifMatch : undefined,
      );
      return sendVersion(reply, r.version, r.created ? 201 : 200, r.created ? baseOf(request) : undefined);
    },
  );

  app.delete<{ Params: Pick<Params, 'type' | 'id'> }>(
    '/fhir/:type/:id',
    {
      config,
      schema: schema(
        'Delete (a deleted version; history is kept). On a Patient, `_erase=true` erases them instead (privacy officers)',
      ),
    },
    async (request, reply) => {
      const type = typeOf(request);
      if (eraseRequested(queryOf(request))) {
        if (type !== 'Patient')
          throw new VigilError(
            'BAD_REQUEST',
            'Erasure is per patient: DELETE /fhir/Patient/<id>?_erase=true',
            {
              details: { fhirCode: 'not-supported' },
            },
          );
        const r = await vault.erase(principalOf(request), request.params.id);
        return send(reply, {
          resourceType: 'OperationOutcome',
          issue: [
            {
              severity: 'information',
              code: 'informational',
              diagnostics: r.keyDestroyed
                ? `The patient was erased: ${r.versions} resource version(s) can no longer be read`
                : 'The patient had been erased already',
            },
          ],
        });
      }
      await vault.delete(principalOf(request), type, request.params.id);
      return reply.status(204).send();
    },
  );

  app.get<{ Params: Pick<Params, 'type' | 'id'> }>(
    '/fhir/:type/:id/_history',
    { config, schema: schema('Instance history, newest first') },
    async (request, reply) =>
      send(
        reply,
        await vault.history(
          principalOf(request),
          typeOf(request),
          request.params.id,
          queryOf(request),
          baseOf(request),
        ),
      ),
  );

  app.get<{ Params: Params }>(
    '/fhir/:type/:id/_history/:vid',
    { config, schema: schema('Read one version') },
    async (request, reply) =>
      sendVersion(
        reply,
        await vault.vread(principalOf(request), typeOf(request), request.params.id, request.params.vid),
      ),
  );
};
