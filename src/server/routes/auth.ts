/**
 * @module server/routes/auth
 * The console sign-in API: session state, login, one-time password replacement, MFA enrolment and
 * verification, logout. Login and MFA routes are rate-limited per address on top of the per-user
 * back-off and lockout of the identity domain.
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Identity, IssuedSession, Principal } from '../../identity/index.js';
import { toUserView } from '../../identity/index.js';
import type { RouteAccess } from '../access.js';
import { requestContext, resolvePrincipal, type SessionCookie } from '../plugins/authenticate.js';

const PARTIAL: RouteAccess = { roles: 'any', partial: true, tokens: false };

const userOut = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: z.string(),
  mfaEnrolled: z.boolean(),
});
const sessionOut = z.object({
  state: z.enum(['none', 'password', 'enroll', 'mfa', 'ok']),
  user: userOut.optional(),
  csrfToken: z.string().optional(),
});

const code = z.string().trim().min(6).max(32);

export interface AuthRouteOptions {
  identity: Identity;
  cookie: SessionCookie;
  rateLimitPerMinute: number;
  sessionAbsoluteHours: number;
}

export const authRoutes: FastifyPluginAsyncZod<AuthRouteOptions> = async (app, opts) => {
  const { identity, cookie } = opts;
  const rateLimit = { max: opts.rateLimitPerMinute, timeWindow: 60_000 };

  const setCookie = (reply: FastifyReply, session: IssuedSession) =>
    reply.setCookie(cookie.name, session.token, {
      httpOnly: true,
      secure: cookie.secure,
      sameSite: 'strict',
      path: '/',
      maxAge: opts.sessionAbsoluteHours * 3600,
    });

  const view = (p: Pick<Principal, 'id' | 'username' | 'displayName' | 'role' | 'mfaEnrolled'>) => ({
    id: p.id,
    username: p.username,
    displayName: p.displayName,
    role: p.role,
    mfaEnrolled: p.mfaEnrolled,
  });

  app.get(
    '/api/auth/session',
    {
      config: { access: 'public' },
      schema: { tags: ['auth'], summary: 'The current sign-in state', response: { 200: sessionOut } },
    },
    async (request) => {
      const { principal, sessionToken } = await resolvePrincipal(identity, cookie, request);
      if (principal?.kind !== 'session' || !sessionToken) return { state: 'none' as const };
      return {
        state: principal.state,
        user: view(principal),
        csrfToken: identity.sessions.csrfFor(sessionToken),
      };
    },
  );

  app.post(
    '/api/auth/login',
    {
      config: { access: 'public', rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with username and password',
        body: z
          .object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) })
          .strict(),
        response: { 200: sessionOut },
      },
    },
    async (request, reply) => {
      const result = await identity.auth.login(
        request.body.username,
        request.body.password,
        requestContext(request),
      );
      setCookie(reply, result);
      const u = toUserView(result.user);
      return { state: result.state, user: view(u), csrfToken: result.csrfToken };
    },
  );

  app.post(
    '/api/auth/password',
    {
      config: { access: PARTIAL, rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Replace the password (required after a one-time password)',
        body: z
          .object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) })
          .strict(),
        response: { 200: sessionOut },
      },
    },
    async (request, reply) => {
      const result = await identity.auth.changePassword(
        request.principal!,
        request.body.currentPassword,
        request.body.newPassword,
        requestContext(request),
      );
      setCookie(reply, result);
      return { state: result.state, user: view(toUserView(result.user)), csrfToken: result.csrfToken };
    },
  );

  app.post(
    '/api/auth/mfa/enroll/start',
    {
      config: { access: PARTIAL, rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Start TOTP enrolment: a new secret and its QR code',
        response: { 200: z.object({ secret: z.string(), otpauthUrl: z.string(), qrDataUrl: z.string() }) },
      },
    },
    async (request) => identity.auth.startEnrolment(request.principal!),
  );

  app.post(
    '/api/auth/mfa/enroll/confirm',
    {
      config: { access: PARTIAL, rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Confirm TOTP enrolment with a code; returns recovery codes once',
        body: z.object({ code }).strict(),
        response: { 200: sessionOut.extend({ recoveryCodes: z.array(z.string()) }) },
      },
    },
    async (request, reply) => {
      const result = await identity.auth.confirmEnrolment(
        request.principal!,
        request.sessionToken!,
        request.body.code,
        requestContext(request),
      );
      setCookie(reply, result);
      return {
        state: result.state,
        user: view(toUserView(result.user)),
        csrfToken: result.csrfToken,
        recoveryCodes: result.recoveryCodes,
      };
    },
  );

  app.post(
    '/api/auth/mfa/verify',
    {
      config: { access: PARTIAL, rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'Second factor: a TOTP code or a recovery code',
        body: z.object({ code }).strict(),
        response: { 200: sessionOut },
      },
    },
    async (request, reply) => {
      const result = await identity.auth.verifyMfa(
        request.principal!,
        request.sessionToken!,
        request.body.code,
        requestContext(request),
      );
      setCookie(reply, result);
      return { state: result.state, user: view(toUserView(result.user)), csrfToken: result.csrfToken };
    },
  );

  app.post(
    '/api/auth/logout',
    {
      config: { access: PARTIAL },
      schema: { tags: ['auth'], summary: 'End this session', response: { 204: z.null() } },
    },
    async (request, reply) => {
      await identity.auth.logout(request.principal!, request.sessionToken!, requestContext(request));
      reply.clearCookie(cookie.name, {
        path: '/',
        secure: cookie.secure,
        httpOnly: true,
        sameSite: 'strict',
      });
      return reply.status(204).send(null);
    },
  );
};
