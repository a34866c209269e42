/**
 * @module server/routes/awareness
 * The awareness API. Administrators and analysts manage assignments, sending profiles, templates
 * and campaigns and read reports; any signed-in user reaches their own training (through the
 * person their console account is linked to); a manager — a person others report to — reads the
 * completion of their team. Routes parse, authorize and call the domain, nothing more.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Awareness } from '../../awareness/index.js';
import { VigilError } from '../../core/index.js';
import { ANY_SIGNED_IN, type RouteAccess } from '../access.js';

const ADMIN_ANALYST: RouteAccess = { roles: ['admin', 'analyst'] };
const id = z.object({ id: z.string().min(1).max(64) });
const courseParams = z.object({ courseId: z.string().min(1).max(64) });
const tag = ['awareness'];

export const awarenessRoutes: FastifyPluginAsyncZod<{ awareness: Awareness }> = async (
  app,
  { awareness: a },
) => {
  const me = (request: FastifyRequest) => a.personOfUser(request.principal!.id);
  const activityBase = (request: FastifyRequest) => `${request.protocol}://${request.host}/api/awareness`;

  // ---- Training: administration ----
  app.get(
    '/api/awareness/courses',
    { config: { access: ANY_SIGNED_IN }, schema: { tags: tag, summary: 'The curriculum' } },
    async () => ({
      courses: a.training.curriculum.courses.map((c) => ({
        id: c.id,
        title: c.title,
        summary: c.summary,
        threat: c.threat,
        duration: c.duration,
        recurrence: c.recurrence,
        passMark: c.passMark,
      })),
    }),
  );
  app.get(
    '/api/awareness/assignments',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, summary: 'Training assignments' } },
    async () => ({
      assignments: await a.training.listAssignments(),
    }),
  );
  app.post(
    '/api/awareness/assignments',
    {
      config: { access: ADMIN_ANALYST },
      schema: {
        tags: tag,
        summary: 'Assign a course to people or departments',
        body: z
          .object({
            courseId: z.string().min(1).max(64),
            personIds: z.array(z.string().max(64)).max(5000).optional(),
            departments: z.array(z.string().min(1).max(120)).max(200).optional(),
            dueAt: z.string().min(10).max(40),
            recurrence: z.string().max(20).nullable().optional(),
          })
          .strict(),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ assignments: await a.training.assign(request.body, request.principal!.id) }),
  );
  app.get(
    '/api/awareness/completions.csv',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, summary: 'Completion records as CSV' } },
    async (_request, reply) =>
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="completions.csv"')
        .send(await a.completionsCsv()),
  );
  app.get(
    '/api/awareness/completions/xapi',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, summary: 'Completion records as xAPI statements' },
    },
    async (request) => ({
      statements: await a.xapi(activityBase(request)),
    }),
  );
  app.post(
    '/api/awareness/reminders/run',
    { config: { access: { roles: ['admin'] } }, schema: { tags: tag, summary: 'Send due reminders now' } },
    async () => a.sendDueReminders(),
  );
  app.get(
    '/api/awareness/risk',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, summary: 'Risk per person' } },
    async () => ({ risk: await a.risk.list() }),
  );
  app.get(
    '/api/awareness/people/:id/risk',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, params: id, summary: "A person's risk" } },
    async (request) => a.risk.recompute(request.params.id),
  );
  app.get(
    '/api/awareness/people/:id/timeline',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, params: id, summary: "A person's phishing timeline" },
    },
    async (request) => ({
      events: await a.reports.timeline({ personId: request.params.id }),
    }),
  );

  // ---- Training: the learner ----
  app.get(
    '/api/awareness/me/courses',
    { config: { access: ANY_SIGNED_IN }, schema: { tags: tag, summary: 'My training' } },
    async (request) => ({
      enrolments: await a.training.enrolmentsOf([(await me(request)).id]),
    }),
  );
  app.get(
    '/api/awareness/me/courses/:courseId',
    {
      config: { access: ANY_SIGNED_IN },
      schema: { tags: tag, params: courseParams, summary: 'Read a course (safe HTML, quiz without answers)' },
    },
    async (request) => {
      const course = await a.training.readCourse((await me(request)).id, request.params.courseId);
      const { markdown: _markdown, file: _file, ...rest } = course;
      return { course: rest };
    },
  );
  app.post(
    '/api/awareness/me/courses/:courseId/quiz',
    {
      config: { access: ANY_SIGNED_IN },
      schema: {
        tags: tag,
        params: courseParams,
        summary: 'Submit quiz answers (graded on the server)',
        body: z.object({ answers: z.record(z.string(), z.unknown()) }).strict(),
      },
    },
    async (request) => ({
      result: await a.training.submitQuiz(await me(request), request.params.courseId, request.body.answers),
    }),
  );
  app.get(
    '/api/awareness/me/results',
    { config: { access: ANY_SIGNED_IN }, schema: { tags: tag, summary: 'My quiz attempts' } },
    async (request) => ({
      attempts: await a.training.attemptsOf((await me(request)).id),
    }),
  );

  // ---- Training: a manager's team ----
  app.get(
    '/api/awareness/team/completion',
    { config: { access: ANY_SIGNED_IN }, schema: { tags: tag, summary: "My team's training completion" } },
    async (request) => {
      const team = await a.teamOf(await me(request));
      if (!team.length)
        throw new VigilError('FORBIDDEN', 'Only a manager sees a team', { details: { field: 'user' } });
      return {
        people: team.map((p) => ({ id: p.id, name: p.name, department: p.department })),
        enrolments: await a.training.enrolmentsOf(team.map((p) => p.id)),
      };
    },
  );

  // ---- Phishing simulation ----
  app.get(
    '/api/awareness/phishing/profiles',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, summary: 'Sending profiles (passwords never shown)' },
    },
    async () => ({
      profiles: await a.profiles.list(),
    }),
  );
  app.post(
    '/api/awareness/phishing/profiles',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: tag,
        summary: 'Create a sending profile',
        body: z
          .object({
            name: z.string().min(1).max(120),
            host: z.string().min(1).max(253),
            port: z.number().int().min(1).max(65535),
            security: z.enum(['tls', 'starttls', 'none']),
            username: z.string().max(254).nullable().optional(),
            password: z.string().max(1024).nullable().optional(),
            fromAddress: z.string().min(3).max(320),
            verifyTls: z.boolean().optional(),
            notifications: z.boolean().optional(),
          })
          .strict(),
      },
    },
    async (request, reply) => reply.status(201).send({ profile: await a.profiles.create(request.body) }),
  );
  app.get(
    '/api/awareness/phishing/templates',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, summary: 'Phishing templates' } },
    async () => ({
      templates: await a.campaigns.listTemplates(),
    }),
  );
  app.post(
    '/api/awareness/phishing/templates',
    {
      config: { access: ADMIN_ANALYST },
      schema: {
        tags: tag,
        summary: 'Create a phishing template',
        body: z
          .object({
            name: z.string().min(1).max(200),
            subject: z.string().min(1).max(300),
            html: z.string().min(1).max(200_000),
            text: z.string().min(1).max(100_000),
            signs: z.array(z.string().min(1).max(500)).min(1).max(12),
          })
          .strict(),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ template: await a.campaigns.createTemplate(request.body) }),
  );
  app.get(
    '/api/awareness/phishing/campaigns',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, summary: 'Campaigns' } },
    async () => ({
      campaigns: await a.campaigns.list(),
    }),
  );
  app.post(
    '/api/awareness/phishing/campaigns',
    {
      config: { access: ADMIN_ANALYST },
      schema: {
        tags: tag,
        summary: 'Create a campaign to departments and/or people',
        body: z
          .object({
            name: z.string().min(1).max(200),
            templateId: z.string().min(1).max(64),
            landingId: z.string().max(64).nullable().optional(),
            profileId: z.string().min(1).max(64),
            baseUrl: z.string().min(1).max(500),
            departments: z.array(z.string().min(1).max(120)).max(200).optional(),
            personIds: z.array(z.string().max(64)).max(10_000).optional(),
            scheduledAt: z.string().max(40).optional(),
            ratePerMinute: z.number().int().min(1).max(100_000).optional(),
          })
          .strict(),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ campaign: await a.campaigns.create(request.body, request.principal!.id) }),
  );
  app.get(
    '/api/awareness/phishing/campaigns/:id',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, params: id, summary: 'A campaign with its results' },
    },
    async (request) => ({
      campaign: await a.campaigns.get(request.params.id),
      report: await a.reports.campaign(request.params.id),
    }),
  );
  app.post(
    '/api/awareness/phishing/campaigns/:id/cancel',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, params: id, summary: 'Cancel a campaign' } },
    async (request) => ({
      campaign: await a.campaigns.cancel(request.params.id),
    }),
  );
  app.get(
    '/api/awareness/phishing/campaigns/:id/timeline',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, params: id, summary: "A campaign's timeline" },
    },
    async (request) => {
      await a.campaigns.get(request.params.id);
      return { events: await a.reports.timeline({ campaignId: request.params.id }) };
    },
  );
  app.get(
    '/api/awareness/phishing/campaigns/:id/results.csv',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, params: id, summary: 'Results in GoPhish CSV layout' },
    },
    async (request, reply) => {
      await a.campaigns.get(request.params.id);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="results.csv"')
        .send(await a.reports.gophishCsv(request.params.id));
    },
  );
  app.get(
    '/api/awareness/phishing/departments',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, summary: 'Phishing rates per department' } },
    async () => ({
      departments: await a.reports.departments(),
    }),
  );
  app.post(
    '/api/awareness/phishing/reported',
    {
      config: { access: ADMIN_ANALYST },
      schema: {
        tags: tag,
        summary: 'Ingest a message forwarded to the report mailbox',
        body: z.object({ raw: z.string().min(1).max(5_000_000) }).strict(),
      },
    },
    async (request) => a.ingestReportedMessage(request.body.raw),
  );
};
