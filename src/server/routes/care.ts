/**
 * @module server/routes/care
 * Care-based access to the vault from the console: break-the-glass declarations (clinicians) and
 * their review (privacy officers), and the links from console users to the Practitioner they are
 * (admins: a link decides whose care relationships a user inherits, so it is an account setting,
 * not clinical data).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VigilError } from '../../core/index.js';
import type { Identity } from '../../identity/index.js';
import { REASON_MAX, type Vault } from '../../vault/index.js';
import type { RouteAccess } from '../access.js';

const grantView = z.object({
  id: z.string(),
  userId: z.string(),
  patientId: z.string(),
  reason: z.string(),
  grantedAt: z.string(),
  expiresAt: z.string(),
});
const linkView = z.object({
  userId: z.string(),
  practitionerId: z.string(),
  linkedBy: z.string(),
  linkedAt: z.string(),
});
const userId = z.object({ userId: z.string().min(1).max(64) });

export const careRoutes: FastifyPluginAsyncZod<{ vault: Vault; identity: Identity }> = async (
  app,
  { vault, identity },
) => {
  // Break-the-glass is a person's declaration: no API token may make it.
  const clinician: RouteAccess = { roles: ['clinician'], tokens: false };
  const officer: RouteAccess = { roles: ['privacy-officer'] };
  const admin: RouteAccess = { roles: ['admin'], tokens: false };

  app.post(
    '/api/vault/break-glass',
    {
      config: { access: clinician },
      schema: {
        tags: ['vault'],
        summary: 'Declare an emergency: time-limited access to one patient, audited and reviewed',
        body: z
          .object({
            patientId: z.string().min(1).max(64),
            reason: z.string().max(REASON_MAX * 2),
          })
          .strict(),
        response: { 201: z.object({ grant: grantView }) },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const grant = await vault.declareBreakGlass(
        { id: p.id, role: p.role },
        request.body.patientId,
        request.body.reason,
      );
      return reply.status(201).send({ grant });
    },
  );

  app.get(
    '/api/vault/break-glass',
    {
      config: { access: officer },
      schema: {
        tags: ['vault'],
        summary: 'Break-the-glass grants for privacy review, newest first',
        querystring: z
          .object({
            since: z.iso.datetime({ offset: true }).optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(200),
          })
          .strict(),
        response: { 200: z.object({ grants: z.array(grantView) }) },
      },
    },
    async (request) => {
      const p = request.principal!;
      const since = request.query.since ? new Date(request.query.since) : new Date(0);
      return { grants: await vault.breakGlassGrants({ id: p.id, role: p.role }, since, request.query.limit) };
    },
  );

  app.get(
    '/api/vault/staff-links',
    {
      config: { access: admin },
      schema: {
        tags: ['vault'],
        summary: 'Which practitioner each console user is',
        response: { 200: z.object({ links: z.array(linkView) }) },
      },
    },
    async () => ({ links: await vault.staffLinks() }),
  );

  app.put(
    '/api/vault/staff-links/:userId',
    {
      config: { access: admin },
      schema: {
        tags: ['vault'],
        summary: 'Link a user to a Practitioner (by id, or by identifier system|value such as the NPI)',
        params: userId,
        body: z.object({ practitioner: z.string().min(1).max(300) }).strict(),
        response: { 200: z.object({ link: linkView }) },
      },
    },
    async (request) => {
      const user = await identity.users.get(request.params.userId);
      if (!user) throw new VigilError('NOT_FOUND', 'No such user');
      const p = request.principal!;
      return {
        link: await vault.linkStaff({ id: p.id, role: p.role }, user.id, request.body.practitioner),
      };
    },
  );

  app.delete(
    '/api/vault/staff-links/:userId',
    {
      config: { access: admin },
      schema: {
        tags: ['vault'],
        summary: "Remove a user's practitioner link (they lose every care relationship)",
        params: userId,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      if (!(await vault.unlinkStaff({ id: p.id, role: p.role }, request.params.userId)))
        throw new VigilError('NOT_FOUND', 'That user has no practitioner link');
      return reply.status(204).send(null);
    },
  );
};
