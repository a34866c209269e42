/**
 * @module server/routes/scim
 * SCIM 2.0 (RFC 7644) for identity providers, mounted at `/scim/v2`: Users (list with `filter`,
 * create, read, replace, patch, delete = terminate) and the discovery endpoints. Only an API token
 * of the admin role is admitted (create one per identity provider): a console session is refused,
 * so no browser can drive these routes. Answers are `application/scim+json`; every error, those of
 * authentication, the body parser and unknown paths included, takes SCIM's error shape
 * (`urn:ietf:params:scim:api:messages:2.0:Error` with `status` and, where one applies, `scimType`).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor, Awareness } from '../../awareness/index.js';
import {
  resourceTypeById,
  resourceTypes,
  SCIM_MESSAGES,
  schemaById,
  schemas,
  scimError,
  serviceProviderConfig,
} from '../../awareness/index.js';
import type { RouteAccess } from '../access.js';

/** Largest SCIM request body (a User is a few hundred bytes; a PATCH of 100 operations a few KiB). */
export const SCIM_BODY_LIMIT = 64 * 1024;
export const SCIM_PREFIX = '/scim/v2';
const SCIM_JSON = 'application/scim+json; charset=utf-8';

const access: RouteAccess = { roles: ['admin'] };

/** The SCIM base URL as the caller reached it (the Host header is checked, not echoed blindly). */
function baseOf(request: FastifyRequest): string {
  const host = request.host;
  const safe = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/.test(host)
    ? host
    : 'localhost';
  return `${request.protocol}://${safe}${SCIM_PREFIX}`;
}

function actorOf(request: FastifyRequest): Actor {
  const p = request.principal!;
  return { id: p.id, name: p.username, role: p.role };
}

function intParam(query: Record<string, unknown>, name: string): number | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^-?\d{1,9}$/.test(raw))
    throw scimError(400, 'invalidValue', `${name}: expected an integer`);
  return Number(raw);
}

/** Turns the Vigil error body of any 4xx/5xx under this prefix into SCIM's error shape. */
function toScimError(status: number, payload: string): string {
  let body: { error?: { code?: string; message?: string; details?: { scimType?: unknown } } };
  try {
    body = JSON.parse(payload) as typeof body;
  } catch {
    return payload;
  }
  const e = body.error;
  if (!e) return payload;
  let scimType = typeof e.details?.scimType === 'string' ? e.details.scimType : undefined;
  if (!scimType && status === 400) scimType = e.code === 'BAD_REQUEST' ? 'invalidValue' : 'invalidSyntax';
  if (!scimType && status === 409) scimType = 'uniqueness';
  return JSON.stringify({
    schemas: [SCIM_MESSAGES.error],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail: e.message ?? 'error',
  });
}

export const scimRoutes: FastifyPluginAsync<{ awareness: Awareness }> = async (
  app: FastifyInstance,
  { awareness },
) => {
  const users = awareness.scim;
  app.addContentTypeParser(
    'application/scim+json',
    { parseAs: 'string', bodyLimit: SCIM_BODY_LIMIT },
    app.getDefaultJsonParser('error', 'error'),
  );
  // After the global authentication: identity providers only, never a browser session.
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404 || reply.sent) return;
    if (request.principal?.kind !== 'token')
      return reply
        .status(403)
        .type(SCIM_JSON)
        .send(
          JSON.stringify({
            schemas: [SCIM_MESSAGES.error],
            status: '403',
            detail: 'SCIM is for identity providers: authenticate with an API token (Authorization: Bearer)',
          }),
        );
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 204) return payload;
    reply.header('content-type', SCIM_JSON);
    if (reply.statusCode >= 400 && typeof payload === 'string') return toScimError(reply.statusCode, payload);
    return payload;
  });
  // Unknown SCIM paths answer SCIM's 404 (after authentication), not the console's page.
  const notFound = async (request: FastifyRequest) => {
    throw scimError(
      404,
      null,
      `No SCIM endpoint ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
    );
  };
  app.setNotFoundHandler(notFound);
  app.all('/*', { config: { access }, schema: { hide: true } }, notFound);

  const opts = (summary: string) => ({
    config: { access },
    bodyLimit: SCIM_BODY_LIMIT,
    schema: { tags: ['scim'], summary },
  });
  const send = (reply: FastifyReply, status: number, body: unknown) =>
    reply.status(status).type(SCIM_JSON).send(JSON.stringify(body));

  app.get('/ServiceProviderConfig', opts('SCIM service provider configuration'), async (request, reply) =>
    send(reply, 200, serviceProviderConfig(baseOf(request))),
  );
  app.get('/ResourceTypes', opts('SCIM resource types'), async (request, reply) =>
    send(reply, 200, resourceTypes(baseOf(request))),
  );
  app.get<{ Params: { id: string } }>(
    '/ResourceTypes/:id',
    opts('One SCIM resource type'),
    async (request, reply) => {
      const r = resourceTypeById(baseOf(request), request.params.id);
      if (!r) throw scimError(404, null, 'No such resource type');
      return send(reply, 200, r);
    },
  );
  app.get('/Schemas', opts('SCIM schemas'), async (request, reply) =>
    send(reply, 200, schemas(baseOf(request))),
  );
  app.get<{ Params: { id: string } }>('/Schemas/:id', opts('One SCIM schema'), async (request, reply) => {
    const s = schemaById(baseOf(request), request.params.id);
    if (!s) throw scimError(404, null, 'No such schema');
    return send(reply, 200, s);
  });

  app.get(
    '/Users',
    opts('List SCIM users (filter: eq comparisons joined with and)'),
    async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      if (query.sortBy !== undefined || query.sortOrder !== undefined)
        throw scimError(400, 'invalidValue', 'sorting is not supported (see ServiceProviderConfig)');
      const filter = query.filter;
      if (filter !== undefined && typeof filter !== 'string')
        throw scimError(400, 'invalidFilter', 'filter: give it once');
      const startIndex = intParam(query, 'startIndex');
      const count = intParam(query, 'count');
      return send(
        reply,
        200,
        await users.list(
          {
            filter,
            ...(startIndex !== undefined ? { startIndex } : {}),
            ...(count !== undefined ? { count } : {}),
          },
          baseOf(request),
        ),
      );
    },
  );
  app.post('/Users', opts('Create a SCIM user'), async (request, reply) =>
    send(reply, 201, await users.create(request.body, baseOf(request), actorOf(request))),
  );
  app.get<{ Params: { id: string } }>('/Users/:id', opts('Read a SCIM user'), async (request, reply) =>
    send(reply, 200, await users.get(request.params.id, baseOf(request))),
  );
  app.put<{ Params: { id: string } }>('/Users/:id', opts('Replace a SCIM user'), async (request, reply) =>
    send(reply, 200, await users.replace(request.params.id, request.body, baseOf(request), actorOf(request))),
  );
  app.patch<{ Params: { id: string } }>(
    '/Users/:id',
    opts('Patch a SCIM user (PatchOp)'),
    async (request, reply) =>
      send(reply, 200, await users.patch(request.params.id, request.body, baseOf(request), actorOf(request))),
  );
  app.delete<{ Params: { id: string } }>(
    '/Users/:id',
    opts('Deactivate a SCIM user: the person becomes terminated and their access is revoked'),
    async (request, reply) => {
      await users.remove(request.params.id, actorOf(request));
      return reply.status(204).send();
    },
  );
};
