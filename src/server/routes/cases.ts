/**
 * @module server/routes/cases
 * Cases that group alerts. Analysts, admins and privacy officers read them; analysts and admins
 * open them (from selected alerts), add and remove alerts, change title, status, severity and
 * assignee, and add notes. Parsing and authorization only; the case store does the work.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALERT_LEVELS, BULK_MAX, CASE_STATUSES, type CaseStore } from '../../detect/index.js';
import type { RouteAccess } from '../access.js';
import { activityView, actorOf, alertView, idSchema, noteBody } from './alerts.js';

const caseView = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  severity: z.enum(ALERT_LEVELS),
  severityAuto: z.boolean(),
  status: z.enum(CASE_STATUSES),
  assignee: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  alertCount: z.number(),
});

const caseDetailView = caseView.extend({ alerts: z.array(alertView), timeline: z.array(activityView) });

const title = z.string().trim().min(1).max(200);
const description = z.string().trim().max(4000);

export const caseRoutes: FastifyPluginAsyncZod<{ cases: CaseStore }> = async (app, { cases }) => {
  const read: RouteAccess = { roles: ['admin', 'analyst', 'privacy-officer'] };
  const manage: RouteAccess = { roles: ['admin', 'analyst'] };
  const params = z.object({ id: idSchema });

  app.get(
    '/api/cases',
    {
      config: { access: read },
      schema: {
        tags: ['cases'],
        summary: 'List cases, most recently changed first',
        querystring: z
          .object({
            status: z.enum(CASE_STATUSES).optional(),
            q: z.string().trim().min(1).max(200).optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
            offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
          })
          .strict(),
        response: { 200: z.object({ cases: z.array(caseView), total: z.number() }) },
      },
    },
    async (request) => cases.list(request.query),
  );

  app.post(
    '/api/cases',
    {
      config: { access: manage },
      schema: {
        tags: ['cases'],
        summary: 'Open a case, optionally from alerts (each in no other case)',
        body: z
          .object({
            title,
            description: description.optional(),
            alertIds: z.array(idSchema).max(BULK_MAX).optional(),
            severity: z.enum(ALERT_LEVELS).optional(),
            assignee: idSchema.nullable().optional(),
          })
          .strict(),
        response: { 201: caseDetailView },
      },
    },
    async (request, reply) => reply.status(201).send(await cases.create(request.body, actorOf(request))),
  );

  app.get(
    '/api/cases/:id',
    {
      config: { access: read },
      schema: {
        tags: ['cases'],
        summary: 'One case with its alerts and timeline',
        params,
        response: { 200: caseDetailView },
      },
    },
    async (request) => cases.get(request.params.id),
  );

  app.patch(
    '/api/cases/:id',
    {
      config: { access: manage },
      schema: {
        tags: ['cases'],
        summary: 'Change a case: title, description, status, severity (a level or auto), assignee',
        params,
        body: z
          .object({
            title: title.optional(),
            description: description.optional(),
            status: z.enum(CASE_STATUSES).optional(),
            severity: z.enum([...ALERT_LEVELS, 'auto']).optional(),
            assignee: idSchema.nullable().optional(),
          })
          .strict(),
        response: { 200: caseDetailView },
      },
    },
    async (request) => cases.update(request.params.id, request.body, actorOf(request)),
  );

  app.post(
    '/api/cases/:id/alerts',
    {
      config: { access: manage },
      schema: {
        tags: ['cases'],
        summary: 'Add alerts to a case (an alert in another case is refused with 409)',
        params,
        body: z.object({ alertIds: z.array(idSchema).min(1).max(BULK_MAX) }).strict(),
        response: { 200: caseDetailView },
      },
    },
    async (request) => cases.addAlerts(request.params.id, request.body.alertIds, actorOf(request)),
  );

  app.delete(
    '/api/cases/:id/alerts/:alertId',
    {
      config: { access: manage },
      schema: {
        tags: ['cases'],
        summary: 'Take an alert out of a case',
        params: z.object({ id: idSchema, alertId: idSchema }),
        response: { 200: caseDetailView },
      },
    },
    async (request) => cases.removeAlert(request.params.id, request.params.alertId, actorOf(request)),
  );

  app.post(
    '/api/cases/:id/notes',
    {
      config: { access: manage },
      schema: {
        tags: ['cases'],
        summary: 'Add a note to a case (notes are never edited nor deleted)',
        params,
        body: noteBody,
        response: { 201: z.object({ note: activityView }) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send({ note: await cases.addNote(request.params.id, request.body.text, actorOf(request)) }),
  );
};
