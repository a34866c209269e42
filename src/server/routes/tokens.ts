/**
 * @module server/routes/tokens
 * API tokens for integrations (admin only). The secret is in the creation answer and nowhere else.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROLES } from '../../core/index.js';
import type { Identity } from '../../identity/index.js';
import type { RouteAccess } from '../access.js';

const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export const tokenRoutes: FastifyPluginAsyncZod<{ identity: Identity }> = async (app, { identity }) => {
  // Only a person may manage tokens: a token must not mint or revoke tokens.
  const access: RouteAccess = { roles: ['admin'], tokens: false };
  app.get(
    '/api/tokens',
    {
      config: { access },
      schema: {
        tags: ['tokens'],
        summary: 'List API tokens',
        response: { 200: z.object({ tokens: z.array(tokenView) }) },
      },
    },
    async () => ({ tokens: await identity.tokens.list() }),
  );
  app.post(
    '/api/tokens',
    {
      config: { access },
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token scoped to a role; the secret is shown once',
        body: z.object({ name: z.string().min(1).max(100), role: z.enum(ROLES) }).strict(),
        response: { 201: z.object({ token: tokenView, secret: z.string() }) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await identity.tokens.create(request.body.name, request.body.role, request.principal!)),
  );
  app.delete(
    '/api/tokens/:id',
    {
      config: { access },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token',
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await identity.tokens.revoke(request.params.id, request.principal!);
      return reply.status(204).send(null);
    },
  );
};
