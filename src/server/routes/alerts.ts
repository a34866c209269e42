/**
 * @module server/routes/alerts
 * Detection alerts. Analysts, admins and privacy officers read them (list with filters, one with
 * its evidence and timeline, the rules behind them, an OCSF Detection Finding export); analysts
 * and admins work them (status, assignee, notes, bulk changes) and see the outputs' counters.
 * Parsing and authorization only; the store does the work.
 */
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Actor,
  ALERT_LEVELS,
  ALERT_STATUSES,
  type AlertDispatcher,
  type AlertQuery,
  type AlertStore,
  ASSIGNABLE_ROLES,
  BULK_MAX,
  NOTE_MAX,
  type ProductInfo,
  toDetectionFinding,
} from '../../detect/index.js';
import type { Identity } from '../../identity/index.js';
import type { RouteAccess } from '../access.js';

/** An alert, case or user id (UUID). */
export const idSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'an id (UUID)');

export const alertView = z.object({
  id: z.string(),
  time: z.string(),
  ruleId: z.string(),
  ruleTitle: z.string(),
  level: z.string(),
  tags: z.array(z.string()),
  entity: z.string(),
  eventIds: z.array(z.string()),
  dedupKey: z.string(),
  count: z.number(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  status: z.enum(ALERT_STATUSES),
  statusChangedAt: z.string().nullable(),
  statusChangedBy: z.string().nullable(),
  assignee: z.string().nullable(),
  caseId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const activityView = z.object({
  id: z.string(),
  time: z.string(),
  actor: z.object({ id: z.string(), name: z.string() }).nullable(),
  action: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

const alertDetailView = alertView.extend({ evidence: z.array(z.unknown()), timeline: z.array(activityView) });

export const noteBody = z.object({ text: z.string().trim().min(1).max(NOTE_MAX) }).strict();

/** A comma-separated list of statuses (`new,acknowledged`). */
const statusList = z
  .string()
  .max(200)
  .transform((s) => s.split(',').filter(Boolean))
  .pipe(z.array(z.enum(ALERT_STATUSES)).max(ALERT_STATUSES.length));

const filters = {
  status: statusList.optional(),
  level: z.enum(ALERT_LEVELS).optional(),
  ruleId: z.string().min(1).max(200).optional(),
  q: z.string().trim().min(1).max(200).optional(),
  /** A user id, or `me`. */
  assignee: z.union([z.literal('me'), idSchema]).optional(),
  caseId: idSchema.optional(),
  since: z.string().datetime({ offset: true }).optional(),
  until: z.string().datetime({ offset: true }).optional(),
};

export function actorOf(request: FastifyRequest): Actor {
  return { id: request.principal!.id, name: request.principal!.username };
}

function queryOf(
  request: FastifyRequest,
  q: Omit<AlertQuery, 'assignee'> & { assignee?: string },
): AlertQuery {
  return { ...q, assignee: q.assignee === 'me' ? request.principal!.id : q.assignee };
}

export interface AlertRouteOptions {
  alerts: AlertStore;
  outputs: AlertDispatcher;
  identity: Identity;
  product: ProductInfo;
}

export const alertRoutes: FastifyPluginAsyncZod<AlertRouteOptions> = async (
  app,
  { alerts, outputs, identity, product },
) => {
  const read: RouteAccess = { roles: ['admin', 'analyst', 'privacy-officer'] };
  const triage: RouteAccess = { roles: ['admin', 'analyst'] };

  app.get(
    '/api/alerts',
    {
      config: { access: read },
      schema: {
        tags: ['alerts'],
        summary: 'List detection alerts, most recently seen first',
        querystring: z
          .object({
            ...filters,
            limit: z.coerce.number().int().min(1).max(500).default(50),
            offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
          })
          .strict(),
        response: { 200: z.object({ alerts: z.array(alertView), total: z.number() }) },
      },
    },
    async (request) => alerts.list(queryOf(request, request.query)),
  );

  app.get(
    '/api/alerts/rules',
    {
      config: { access: read },
      schema: {
        tags: ['alerts'],
        summary: 'The rules that raised alerts, with how many',
        response: {
          200: z.object({
            rules: z.array(z.object({ ruleId: z.string(), ruleTitle: z.string(), alerts: z.number() })),
          }),
        },
      },
    },
    async () => ({ rules: await alerts.rules() }),
  );

  app.get(
    '/api/alerts/assignees',
    {
      config: { access: read },
      schema: {
        tags: ['alerts'],
        summary: 'Who alerts and cases can be assigned to (active analysts and admins)',
        response: {
          200: z.object({
            people: z.array(
              z.object({ id: z.string(), username: z.string(), displayName: z.string(), role: z.string() }),
            ),
          }),
        },
      },
    },
    async () => ({
      people: (await identity.users.list())
        .filter((u) => u.status === 'active' && ASSIGNABLE_ROLES.has(u.role))
        .map((u) => ({ id: u.id, username: u.username, displayName: u.displayName, role: u.role })),
    }),
  );

  app.get(
    '/api/alerts/outputs',
    {
      config: { access: triage },
      schema: {
        tags: ['alerts'],
        summary: 'The alert outputs (webhooks, syslog, email) and their delivery counters',
        response: {
          200: z.object({
            outputs: z.array(
              z.object({
                name: z.string(),
                kind: z.string(),
                minLevel: z.string(),
                queued: z.number(),
                sent: z.number(),
                failed: z.number(),
                dropped: z.number(),
                retries: z.number(),
                lastError: z.string().nullable(),
                lastErrorAt: z.string().nullable(),
                lastSentAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ outputs: outputs.status() }),
  );

  app.get(
    '/api/alerts/export.ocsf',
    {
      config: { access: read },
      schema: {
        tags: ['alerts'],
        summary: 'Alerts as a JSON array of OCSF 1.3 Detection Findings (class 2004), streamed',
        querystring: z.object(filters).strict(),
      },
    },
    async (request, reply) => {
      const q = queryOf(request, request.query);
      async function* body() {
        yield '[';
        let first = true;
        for await (const alert of alerts.each(q)) {
          yield `${first ? '\n' : ',\n'}${JSON.stringify(toDetectionFinding(alert, product))}`;
          first = false;
        }
        yield '\n]\n';
      }
      const day = new Date().toISOString().slice(0, 10);
      return reply
        .type('application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="vigil-alerts-${day}.ocsf.json"`)
        .send(Readable.from(body()));
    },
  );

  app.get(
    '/api/alerts/:id',
    {
      config: { access: read },
      schema: {
        tags: ['alerts'],
        summary: 'One alert with its evidence and timeline (status changes, assignments, notes)',
        params: z.object({ id: idSchema }),
        response: { 200: alertDetailView },
      },
    },
    async (request) => alerts.detail(request.params.id),
  );

  app.post(
    '/api/alerts/:id/status',
    {
      config: { access: triage },
      schema: {
        tags: ['alerts'],
        summary:
          'Move an alert to a status (new, acknowledged, resolved, false-positive), optionally assigning it',
        params: z.object({ id: idSchema }),
        body: z.object({ status: z.enum(ALERT_STATUSES), assignee: idSchema.nullable().optional() }).strict(),
        response: { 200: alertView },
      },
    },
    async (request) =>
      (
        await alerts.update(
          [request.params.id],
          { status: request.body.status, assignee: request.body.assignee },
          actorOf(request),
        )
      )[0]!,
  );

  app.post(
    '/api/alerts/:id/assign',
    {
      config: { access: triage },
      schema: {
        tags: ['alerts'],
        summary: 'Assign an alert to an analyst or admin (null: unassign)',
        params: z.object({ id: idSchema }),
        body: z.object({ assignee: idSchema.nullable() }).strict(),
        response: { 200: alertView },
      },
    },
    async (request) => alerts.assign(request.params.id, request.body.assignee, actorOf(request)),
  );

  app.post(
    '/api/alerts/:id/notes',
    {
      config: { access: triage },
      schema: {
        tags: ['alerts'],
        summary: 'Add a note to an alert (notes are never edited nor deleted)',
        params: z.object({ id: idSchema }),
        body: noteBody,
        response: { 201: z.object({ note: activityView }) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send({ note: await alerts.addNote(request.params.id, request.body.text, actorOf(request)) }),
  );

  app.post(
    '/api/alerts/bulk',
    {
      config: { access: triage },
      schema: {
        tags: ['alerts'],
        summary: `Change the status and/or assignee of up to ${BULK_MAX} alerts at once (all or none)`,
        body: z
          .object({
            ids: z.array(idSchema).min(1).max(BULK_MAX),
            status: z.enum(ALERT_STATUSES).optional(),
            assignee: idSchema.nullable().optional(),
          })
          .strict()
          .refine((b) => b.status !== undefined || b.assignee !== undefined, {
            message: 'give a status, an assignee or both',
            path: ['status'],
          }),
        response: { 200: z.object({ alerts: z.array(alertView) }) },
      },
    },
    async (request) => ({
      alerts: await alerts.update(
        request.body.ids,
        { status: request.body.status, assignee: request.body.assignee },
        actorOf(request),
      ),
    }),
  );
};
