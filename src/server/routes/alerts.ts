/**
 * @module server/routes/alerts
 * Detection alerts: list with filters and paging (analysts, admins and privacy officers read
 * them), and move one through open → acknowledged → closed with an assignee (analysts and
 * admins). Parsing and authorization only; the store does the work.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALERT_STATUSES, type AlertStore } from '../../detect/index.js';
import type { RouteAccess } from '../access.js';

const alertView = z.object({
  id: z.string(),
  time: z.string(),
  ruleId: z.string(),
  ruleTitle: z.string(),
  level: z.string(),
  eventIds: z.array(z.string()),
  dedupKey: z.string(),
  status: z.enum(ALERT_STATUSES),
  assignee: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const alertRoutes: FastifyPluginAsyncZod<{ alerts: AlertStore }> = async (app, { alerts }) => {
  const read: RouteAccess = { roles: ['admin', 'analyst', 'privacy-officer'] };
  const triage: RouteAccess = { roles: ['admin', 'analyst'] };
  app.get(
    '/api/alerts',
    {
      config: { access: read },
      schema: {
        tags: ['alerts'],
        summary: 'List detection alerts, newest first',
        querystring: z
          .object({
            status: z.enum(ALERT_STATUSES).optional(),
            level: z.enum(['informational', 'low', 'medium', 'high', 'critical']).optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
            offset: z.coerce.number().int().min(0).default(0),
          })
          .strict(),
        response: { 200: z.object({ alerts: z.array(alertView), total: z.number() }) },
      },
    },
    async (request) => alerts.list(request.query),
  );
  app.post(
    '/api/alerts/:id/status',
    {
      config: { access: triage },
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledge, close or reopen an alert, optionally assigning it',
        params: z.object({ id: z.string().min(1).max(64) }),
        body: z
          .object({ status: z.enum(ALERT_STATUSES), assignee: z.string().max(100).nullable().optional() })
          .strict(),
        response: { 200: alertView },
      },
    },
    async (request) => alerts.setStatus(request.params.id, request.body.status, request.body.assignee),
  );
};
