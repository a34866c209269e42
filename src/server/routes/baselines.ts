/**
 * @module server/routes/baselines
 * Device behaviour baselines over HTTP: the list (learning or active), one device's baseline
 * (by inventory id, MAC or address), and a reset that returns it to learning (after a planned
 * change of the device's behaviour: a new PACS, a software update). Analysts and biomedical
 * engineers reset; admins also read. Parsing and authorization only.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VigilError } from '../../core/index.js';
import type { Baselines } from '../../detect/index.js';
import type { RouteAccess } from '../access.js';

const READ: RouteAccess = { roles: ['admin', 'analyst', 'biomed'] };
const RESET: RouteAccess = { roles: ['analyst', 'biomed'] };

const summary = z.object({
  device: z.string(),
  status: z.enum(['learning', 'active']),
  learningSince: z.string(),
  learningUntil: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  peers: z.number(),
  ports: z.number(),
  protocols: z.number(),
  saturated: z.object({ peers: z.boolean(), ports: z.boolean(), protocols: z.boolean() }),
  anomalies: z.number(),
  resets: z.number(),
});
const detail = summary.extend({
  knownPeers: z.array(z.string()),
  knownPorts: z.array(z.string()),
  knownProtocols: z.array(z.string()),
  volumeHours: z.number(),
});
const params = z.object({ device: z.string().min(1).max(128) });

export const baselineRoutes: FastifyPluginAsyncZod<{ baselines: Baselines }> = async (app, { baselines }) => {
  app.get(
    '/api/baselines',
    {
      config: { access: READ },
      schema: {
        tags: ['devices'],
        summary: 'Device behaviour baselines: learning or active, with counts of what each learned',
        querystring: z
          .object({
            status: z.enum(['learning', 'active']).optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
          })
          .strict(),
        response: { 200: z.object({ baselines: z.array(summary), total: z.number() }) },
      },
    },
    async (request) => baselines.list(request.query),
  );

  app.get(
    '/api/baselines/:device',
    {
      config: { access: READ },
      schema: {
        tags: ['devices'],
        summary: "One device's baseline (by inventory id, MAC or address): peers, ports, protocols",
        params,
        response: { 200: z.object({ baseline: detail }) },
      },
    },
    async (request) => {
      const baseline = await baselines.get(request.params.device);
      if (!baseline) throw new VigilError('NOT_FOUND', 'This device has no baseline.');
      return { baseline };
    },
  );

  app.post(
    '/api/baselines/:device/reset',
    {
      config: { access: RESET },
      schema: {
        tags: ['devices'],
        summary:
          "Return a device's baseline to learning: forget what it learned, no anomalies until learned again",
        params,
        response: { 200: z.object({ baseline: detail }) },
      },
    },
    async (request) => {
      const p = request.principal!;
      const baseline = await baselines.reset(request.params.device, {
        id: p.id,
        name: p.username,
        role: p.role,
      });
      return { baseline };
    },
  );
};
