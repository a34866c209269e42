/**
 * @module server/routes/users
 * Administration of console users (admin only).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROLES } from '../../core/index.js';
import type { Identity } from '../../identity/index.js';
import { ADMIN_ONLY } from '../access.js';

export const userView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  email: z.string().nullable(),
  role: z.enum(ROLES),
  status: z.enum(['active', 'disabled']),
  mfaEnrolled: z.boolean(),
  mustChangePassword: z.boolean(),
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
});

const idParams = z.object({ id: z.string().min(1).max(64) });

export const userRoutes: FastifyPluginAsyncZod<{ identity: Identity }> = async (app, { identity }) => {
  app.get(
    '/api/users',
    {
      config: { access: ADMIN_ONLY },
      schema: {
        tags: ['users'],
        summary: 'List console users',
        response: { 200: z.object({ users: z.array(userView) }) },
      },
    },
    async () => ({ users: await identity.users.list() }),
  );

  app.post(
    '/api/users',
    {
      config: { access: ADMIN_ONLY },
      schema: {
        tags: ['users'],
        summary: 'Create a user; the one-time password is shown once',
        body: z
          .object({
            username: z.string().min(2).max(64),
            displayName: z.string().min(1).max(200),
            email: z.email().max(254).optional(),
            role: z.enum(ROLES),
          })
          .strict(),
        response: { 201: z.object({ user: userView, oneTimePassword: z.string() }) },
      },
    },
    async (request, reply) => {
      const created = await identity.users.create(request.body, request.principal!);
      return reply.status(201).send(created);
    },
  );

  for (const [action, run] of [
    [
      'disable',
      (id: string, p: Parameters<typeof identity.users.resetMfa>[1]) =>
        identity.users.setStatus(id, 'disabled', p),
    ],
    [
      'enable',
      (id: string, p: Parameters<typeof identity.users.resetMfa>[1]) =>
        identity.users.setStatus(id, 'active', p),
    ],
    [
      'reset-mfa',
      (id: string, p: Parameters<typeof identity.users.resetMfa>[1]) => identity.users.resetMfa(id, p),
    ],
  ] as const) {
    app.post(
      `/api/users/:id/${action}`,
      {
        config: { access: ADMIN_ONLY },
        schema: {
          tags: ['users'],
          summary: `${action} a user`,
          params: idParams,
          response: { 200: z.object({ user: userView }) },
        },
      },
      async (request) => ({ user: await run(request.params.id, request.principal!) }),
    );
  }
};
