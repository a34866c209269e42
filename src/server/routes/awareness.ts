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
import {
  type Awareness,
  CERTIFICATE_CSS,
  certificateHtml,
  EMPLOYMENT_STATUSES,
  type Person,
} from '../../awareness/index.js';
import { VigilError } from '../../core/index.js';
import { ANY_SIGNED_IN, type RouteAccess } from '../access.js';

const ADMIN_ANALYST: RouteAccess = { roles: ['admin', 'analyst'] };
const id = z.object({ id: z.string().min(1).max(64) });
const courseParams = z.object({ courseId: z.string().min(1).max(64) });
const completionParams = z.object({ completionId: z.string().min(1).max(64) });
const codeParams = z.object({ code: z.string().min(1).max(200) });
const tag = ['awareness'];
/** Per-address budget of the public certificate verification. */
const VERIFY_RATE = { max: 30, timeWindow: 60_000 };
/** The most a directory CSV upload may weigh (the CSV reader's own default limit). */
const IMPORT_BYTES = 16 * 1024 * 1024;
const CERTIFICATE_CSS_PATH = '/api/awareness/certificate.css';

export const awarenessRoutes: FastifyPluginAsyncZod<{ awareness: Awareness }> = async (
  app,
  { awareness: a },
) => {
  const me = (request: FastifyRequest) => a.personOfUser(request.principal!.id);
  const seesAll = (request: FastifyRequest) =>
    request.principal!.role === 'admin' || request.principal!.role === 'analyst';
  const origin = (request: FastifyRequest) => `${request.protocol}://${request.host}`;
  // The directory import posts the CSV file as it is; parsed (and size-checked) by the domain.
  app.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { parseAs: 'buffer', bodyLimit: IMPORT_BYTES },
    (_r, body, done) => done(null, body),
  );
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
        body: z
          .object({
            answers: z
              .record(z.string().max(64), z.unknown())
              .refine((o) => Object.keys(o).length <= 100, 'at most 100 answers'),
          })
          .strict(),
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

  // ---- The learner: who am I, certificates ----
  app.get(
    '/api/awareness/me',
    {
      config: { access: ANY_SIGNED_IN },
      schema: { tags: tag, summary: 'The person my console account is linked to, and what I can see' },
    },
    async (request) => {
      const person = await a.directory.getByConsoleUser(request.principal!.id);
      const manages = person
        ? (await a.directory.list({ managerId: person.id, limit: 1 })).length > 0
        : false;
      return {
        person: person
          ? {
              id: person.id,
              name: person.name,
              email: person.email,
              department: person.department,
              jobRole: person.jobRole,
            }
          : null,
        manages,
        seesAllDepartments: seesAll(request),
      };
    },
  );
  app.get(
    '/api/awareness/me/certificates',
    { config: { access: ANY_SIGNED_IN }, schema: { tags: tag, summary: 'My certificates (passed courses)' } },
    async (request) => ({
      certificates: await a.certificates.listOf((await me(request)).id),
    }),
  );
  app.get(
    '/api/awareness/me/certificates/:completionId',
    {
      config: { access: ANY_SIGNED_IN },
      schema: {
        tags: tag,
        params: completionParams,
        summary: 'A printable certificate of a passed course (HTML)',
      },
    },
    async (request, reply) => {
      const cert = await a.certificates.of((await me(request)).id, request.params.completionId);
      return reply.type('text/html; charset=utf-8').send(
        certificateHtml(cert, {
          stylesheet: CERTIFICATE_CSS_PATH,
          verifyUrl: `${origin(request)}/api/awareness/certificates/verify/${encodeURIComponent(cert.code)}`,
        }),
      );
    },
  );
  app.get(
    CERTIFICATE_CSS_PATH,
    { config: { access: ANY_SIGNED_IN }, schema: { hide: true } },
    async (_request, reply) => reply.type('text/css; charset=utf-8').send(CERTIFICATE_CSS),
  );
  app.get(
    '/api/awareness/certificates/verify/:code',
    {
      config: { access: 'public', rateLimit: VERIFY_RATE },
      schema: {
        tags: tag,
        params: codeParams,
        summary: 'Checks a certificate code: valid or not, and if valid its course and date only',
        security: [],
      },
    },
    async (request) => a.certificates.verify(request.params.code),
  );

  // ---- A manager's team, or a department (administrators and analysts) ----
  app.get(
    '/api/awareness/team',
    {
      config: { access: ANY_SIGNED_IN },
      schema: {
        tags: tag,
        summary: 'Training report of my team, or of a department (administrators and analysts)',
        querystring: z.object({ department: z.string().min(1).max(120).optional() }).strict(),
      },
    },
    async (request) => {
      const { department } = request.query;
      let people: Person[];
      let scope: 'team' | 'department' | 'all';
      if (
        department !== undefined ||
        (seesAll(request) && !(await a.directory.getByConsoleUser(request.principal!.id)))
      ) {
        if (!seesAll(request))
          throw new VigilError('FORBIDDEN', 'Only administrators and analysts see any department', {
            details: { field: 'department' },
          });
        people = await a.directory.list({ ...(department !== undefined ? { department } : {}), limit: 500 });
        scope = department !== undefined ? 'department' : 'all';
      } else {
        const person = seesAll(request)
          ? await a.directory.getByConsoleUser(request.principal!.id)
          : await me(request);
        people = person ? await a.teamOf(person) : [];
        scope = 'team';
        if (!people.length) {
          if (!seesAll(request))
            throw new VigilError('FORBIDDEN', 'Only a manager sees a team', { details: { field: 'user' } });
          people = await a.directory.list({ limit: 500 });
          scope = 'all';
        }
      }
      people = people.filter((p) => p.status !== 'terminated');
      return {
        scope,
        department: department ?? null,
        departments: seesAll(request) ? await a.roster.departments() : [],
        ...(await a.roster.report(people)),
      };
    },
  );

  // ---- The staff directory (administrators and analysts read, administrators import) ----
  app.get(
    '/api/awareness/people',
    {
      config: { access: ADMIN_ANALYST },
      schema: {
        tags: tag,
        summary: 'Search the staff directory',
        querystring: z
          .object({
            q: z.string().max(200).optional(),
            department: z.string().min(1).max(120).optional(),
            status: z.enum(EMPLOYMENT_STATUSES).optional(),
            limit: z.coerce.number().int().min(1).max(500).optional(),
            offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
          })
          .strict(),
      },
    },
    async (request) => {
      const q = request.query;
      const found = await a.roster.search({
        ...(q.q !== undefined ? { q: q.q } : {}),
        ...(q.department !== undefined ? { department: q.department } : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.offset !== undefined ? { offset: q.offset } : {}),
      });
      return { ...found, departments: await a.roster.departments() };
    },
  );
  app.get(
    '/api/awareness/people/:id',
    {
      config: { access: ADMIN_ANALYST },
      schema: {
        tags: tag,
        params: id,
        summary: 'A person: training, quiz results, phishing timeline and risk with reasons',
      },
    },
    async (request) => {
      const profile = await a.roster.profile(request.params.id);
      if (!profile) throw new VigilError('NOT_FOUND', 'No such person', { details: { field: 'id' } });
      return profile;
    },
  );
  app.post(
    '/api/awareness/people/import',
    {
      config: { access: { roles: ['admin'] } },
      bodyLimit: IMPORT_BYTES,
      schema: {
        tags: tag,
        summary: 'Import the staff directory from CSV (a text/csv body, or JSON {csv}); all rows or none',
      },
    },
    async (request) => {
      // The CSV file as the body (text/csv), or, from the console, JSON `{ "csv": "…" }`.
      const body = request.body as unknown;
      const csv = Buffer.isBuffer(body)
        ? body
        : typeof body === 'object' && body !== null && typeof (body as { csv?: unknown }).csv === 'string'
          ? (body as { csv: string }).csv
          : undefined;
      if (csv === undefined)
        throw new VigilError('BAD_REQUEST', 'Send the CSV file as the body with Content-Type: text/csv', {
          details: { field: 'file' },
        });
      const p = request.principal!;
      return {
        summary: await a.directory.importCsv(csv, {
          actor: { id: p.id, name: p.username, role: p.role },
        }),
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
    '/api/awareness/phishing/landings',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, summary: 'Landing pages (what they ask for, never what was typed)' },
    },
    async () => ({
      landings: a.campaigns.landings(),
    }),
  );
  app.get(
    '/api/awareness/phishing/campaigns',
    { config: { access: ADMIN_ANALYST }, schema: { tags: tag, summary: 'Campaigns' } },
    async () => {
      const counts = await a.reports.counts();
      return {
        campaigns: (await a.campaigns.list()).map((c) => ({ ...c, counts: counts.get(c.id) ?? null })),
      };
    },
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
      scanner: (await a.reports.scannerCounts(request.params.id)).get(request.params.id) ?? {
        opens: 0,
        clicks: 0,
      },
    }),
  );
  app.get(
    '/api/awareness/phishing/campaigns/:id/recipients',
    {
      config: { access: ADMIN_ANALYST },
      schema: { tags: tag, params: id, summary: "A campaign's result per recipient" },
    },
    async (request) => {
      await a.campaigns.get(request.params.id);
      return { recipients: await a.reports.results(request.params.id) };
    },
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
