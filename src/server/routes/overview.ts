/**
 * @module server/routes/overview
 * Live figures for the console's Overview, and the recent event log.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services.js';

const overviewOut = z.object({
  users: z.object({
    total: z.number(),
    active: z.number(),
    disabled: z.number(),
    byRole: z.record(z.string(), z.number()),
  }),
  sessions: z.object({ active: z.number() }),
  events24h: z.object({
    total: z.number(),
    byKind: z.array(z.object({ kind: z.string(), count: z.number() })),
  }),
  bus: z.object({ kind: z.string(), published: z.number(), delivered: z.number(), queued: z.number() }),
  generatedAt: z.string(),
});

export const overviewRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/overview',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['overview'],
        summary: 'Figures for the Overview page',
        response: { 200: overviewOut },
      },
    },
    async () => {
      const now = services.clock.now();
      const [users, activeSessions, byKind] = await Promise.all([
        services.identity.users.stats(),
        services.identity.sessions.countActive(),
        services.activity.countsSince(new Date(now.getTime() - 86_400_000)),
      ]);
      const bus = services.bus.stats();
      return {
        users,
        sessions: { active: activeSessions },
        events24h: { total: byKind.reduce((n, k) => n + k.count, 0), byKind },
        bus: {
          kind: services.bus.kind,
          published: bus.published,
          delivered: bus.delivered,
          queued: bus.queued,
        },
        generatedAt: now.toISOString(),
      };
    },
  );

  app.get(
    '/api/events',
    {
      config: { access: { roles: ['admin', 'analyst', 'privacy-officer'] } },
      schema: {
        tags: ['overview'],
        summary: 'Recent events, newest first',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          kind: z
            .string()
            .regex(/^[a-z0-9._-]{1,128}$/)
            .optional(),
        }),
      },
    },
    async (request) => ({ events: await services.activity.recent(request.query.limit, request.query.kind) }),
  );
};
