/**
 * @module server/routes/health
 * Liveness (`/healthz`: the process answers) and readiness (`/readyz`: database and bus usable).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services.js';

export const healthRoutes: FastifyPluginAsyncZod<{ services: Services; isClosing: () => boolean }> = async (
  app,
  opts,
) => {
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: database and bus',
        response: {
          200: z.object({ status: z.string(), database: z.boolean(), bus: z.boolean() }),
          503: z.object({ status: z.string(), database: z.boolean(), bus: z.boolean() }),
        },
      },
    },
    async (_request, reply) => {
      const [database, bus] = await Promise.all([
        opts.services.database.ping(),
        opts.services.bus.ready().catch(() => false),
      ]);
      const ok = database && bus && !opts.isClosing();
      return reply
        .status(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : opts.isClosing() ? 'closing' : 'not ready', database, bus });
    },
  );
};
