/**
 * @module server/routes/access
 * The access gateway over HTTP: `GET /access/check` for nginx `auth_request` and Traefik
 * ForwardAuth (public in the server's sense: the proxy calls it and the gateway authenticates the
 * person's own gateway cookie), the sign-in portal (`/access/login`, `/access/logout`, plain HTML
 * forms, passkeys through one same-origin script), self-service MFA (`/access/account`), and the
 * console's API for decisions, sessions and blocks (analysts and admins).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ACCESS_COOKIES,
  type Access,
  type AccountPageContext,
  accountPage,
  type CheckOutcome,
  loginPage,
  messagePage,
  mfaPage,
  PORTAL_CSS,
  PORTAL_JS,
  type PortalStep,
  type RelyingParty,
  relyingPartyOf,
  type SecondFactor,
  safeReturnUrl,
} from '../../access/index.js';
import { isVigilError } from '../../core/index.js';
import type { Identity } from '../../identity/index.js';
import type { RouteAccess } from '../access.js';
import { checkAnswer } from '../access-check.js';
import { CONTENT_SECURITY_POLICY } from '../plugins/security-headers.js';

const ANALYSTS: RouteAccess = { roles: ['admin', 'analyst'] };

export interface AccessRouteOptions {
  access: Access;
  identity: Identity;
  config: {
    applications: Parameters<typeof safeReturnUrl>[1];
    deviceCookieDays: number;
    /** The portal's public base URL: its origin is the WebAuthn relying party. */
    portalUrl?: string | undefined;
  };
  tls: boolean;
  rateLimitPerMinute: number;
  sessionAbsoluteHours: number;
}

const formBody = z.object({
  step: z.enum(['password', 'mfa', 'stepup']).optional(),
  csrf: z.string().max(128).optional(),
  rd: z.string().max(4096).optional(),
  username: z.string().max(128).optional(),
  password: z.string().max(1024).optional(),
  code: z.string().max(64).optional(),
  /** A passkey's answer (WebAuthn credential as JSON), filled in by the portal script. */
  passkey: z.string().max(12_000).optional(),
  /** After a step-up started on the security page, go back there. */
  back: z.literal('account').optional(),
});

const accountBody = z.object({
  csrf: z.string().max(128).optional(),
  action: z.enum([
    'confirm',
    'totp-start',
    'totp-confirm',
    'passkey-add',
    'passkey-remove',
    'recovery-codes',
  ]),
  code: z.string().max(64).optional(),
  passkey: z.string().max(12_000).optional(),
  name: z.string().max(200).optional(),
  id: z.string().max(1024).optional(),
});

export const accessRoutes: FastifyPluginAsyncZod<AccessRouteOptions> = async (app, opts) => {
  const { access, identity } = opts;
  const apps = opts.config.applications;
  const rateLimit = { max: opts.rateLimitPerMinute, timeWindow: 60_000 };

  // After a sign-in form, the portal redirects to the protected application, often another
  // origin; browsers apply `form-action` to that redirect too, so the portal's pages allow exactly
  // the configured applications' hosts there (this plugin's hook runs after the global one).
  const appHosts = [...new Set(apps.map((a) => a.host.toLowerCase()))].filter((h) =>
    /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(h),
  );
  const portalCsp = CONTENT_SECURITY_POLICY.replace(
    "form-action 'self'",
    ["form-action 'self'", ...appHosts].join(' '),
  );
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/access/') && !request.url.startsWith('/access/check'))
      reply.header('content-security-policy', portalCsp);
    return payload;
  });

  // The portal's forms post url-encoded bodies (in this plugin only; the API stays JSON-only).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const peerOf = (request: FastifyRequest) => request.raw.socket.remoteAddress ?? '';
  const ctxOf = (request: FastifyRequest) => {
    const ua = request.headers['user-agent'];
    return {
      ip: access.clientAddress(request.headers, peerOf(request)),
      userAgent: typeof ua === 'string' ? ua.slice(0, 256) : undefined,
    };
  };
  const cookieOpts = (request: FastifyRequest, maxAge: number, sameSite: 'lax' | 'strict' = 'lax') => ({
    httpOnly: true,
    secure: opts.tls || access.viaHttps(request.headers, peerOf(request)),
    sameSite,
    path: '/',
    maxAge,
  });
  const setSession = (request: FastifyRequest, reply: FastifyReply, token: string | null) => {
    if (token)
      reply.setCookie(ACCESS_COOKIES.session, token, cookieOpts(request, opts.sessionAbsoluteHours * 3600));
    else reply.clearCookie(ACCESS_COOKIES.session, { path: '/' });
  };
  /** The device id of a valid device cookie, issuing one when there is none (or it was tampered with). */
  const ensureDevice = (request: FastifyRequest, reply: FastifyReply): { id: string; cookie: string } => {
    const now = Date.now();
    const cookie = request.cookies[ACCESS_COOKIES.device];
    const v = cookie ? access.devices.verify(cookie, now) : null;
    if (cookie && v?.ok) return { id: v.deviceId, cookie };
    const issued = access.devices.issue(now);
    reply.setCookie(
      ACCESS_COOKIES.device,
      issued.value,
      cookieOpts(request, opts.config.deviceCookieDays * 86_400),
    );
    return { id: issued.deviceId, cookie: issued.value };
  };
  const ensureCsrf = (request: FastifyRequest, reply: FastifyReply): string => {
    let c = request.cookies[ACCESS_COOKIES.csrf];
    if (!c || !/^[A-Za-z0-9_-]{32}$/.test(c)) {
      c = access.portal.newCsrfCookie();
      reply.setCookie(ACCESS_COOKIES.csrf, c, cookieOpts(request, 86_400, 'strict'));
    }
    return access.portal.csrfFor(c);
  };
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
  /** The WebAuthn relying party: the configured public portal, else the origin this request reached. */
  const rpOf = (request: FastifyRequest): RelyingParty => {
    if (opts.config.portalUrl) return relyingPartyOf(opts.config.portalUrl);
    const https = opts.tls || access.viaHttps(request.headers, peerOf(request));
    const host = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(
      request.headers.host ?? '',
    )
      ? request.headers.host
      : 'localhost';
    return relyingPartyOf(`${https ? 'https' : 'http'}://${host}`);
  };
  /** WebAuthn options for the user behind this session, or undefined when they have no passkey. */
  const passkeyOptions = async (request: FastifyRequest, token: string | undefined, deviceId: string) =>
    (await access.portal.passkeyOptions(token, rpOf(request), deviceId)) ?? undefined;
  const factorOf = (request: FastifyRequest, body: { code?: string; passkey?: string }): SecondFactor =>
    body.passkey ? { passkey: body.passkey, rp: rpOf(request) } : { code: body.code ?? '' };
  const finish = (reply: FastifyReply, rd: string, csrf: string, step: PortalStep) =>
    rd
      ? reply.status(303).header('cache-control', 'no-store').header('location', rd).send()
      : html(
          reply,
          200,
          messagePage('Signed in', `You are signed in as ${step.username}. You can close this page.`, {
            csrf,
          }),
        );

  const answer = (reply: FastifyReply, out: CheckOutcome) => {
    const a = checkAnswer(out);
    return reply
      .status(a.status)
      .headers(a.headers)
      .send(a.body || undefined);
  };

  app.get(
    '/access/check',
    {
      // Asked before every request to a protected application: its own decision record is the
      // log (console, bus), so the per-request access log lines stay off; warnings still show.
      logLevel: 'warn',
      config: { access: 'public' },
      schema: {
        tags: ['access'],
        summary: 'Forward-auth decision for nginx auth_request and Traefik ForwardAuth',
        hide: true,
      },
    },
    async (request, reply) => {
      // The server's listener answers real requests on its fast path (server/access-check.ts).
      const out = await access.gateway.check(request.headers, peerOf(request), {
        sessionToken: request.cookies[ACCESS_COOKIES.session],
        deviceCookie: request.cookies[ACCESS_COOKIES.device],
      });
      return answer(reply, out);
    },
  );

  app.get(
    '/access/portal.css',
    { config: { access: 'public' }, schema: { hide: true } },
    async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(PORTAL_CSS),
  );

  app.get(
    '/access/portal.js',
    { config: { access: 'public' }, schema: { hide: true } },
    async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=3600')
        .type('text/javascript; charset=utf-8')
        .send(PORTAL_JS),
  );

  app.get(
    '/access/login',
    {
      config: { access: 'public' },
      schema: { hide: true, querystring: z.object({ rd: z.string().max(4096).optional() }) },
    },
    async (request, reply) => {
      const device = ensureDevice(request, reply);
      const csrf = ensureCsrf(request, reply);
      const rd = safeReturnUrl(request.query.rd, apps) ?? '';
      const refused =
        request.query.rd && !rd
          ? 'That return address is not a protected application; it was ignored.'
          : null;
      const token = request.cookies[ACCESS_COOKIES.session];
      const principal = token ? await identity.sessions.authenticate(token) : null;
      if (principal?.state === 'mfa') {
        const passkey = await passkeyOptions(request, token, device.id);
        return html(
          reply,
          200,
          mfaPage({ csrf, rd, stepUp: false, error: refused, passkeyOptions: passkey }),
        );
      }
      if (principal?.state !== 'ok') return html(reply, 200, loginPage({ csrf, rd, error: refused }));
      if (!rd) {
        const note = refused ? ` ${refused}` : '';
        return html(
          reply,
          200,
          messagePage('Signed in', `You are signed in as ${principal.username}.${note}`, { csrf }),
        );
      }
      const url = new URL(rd);
      const out = await access.gateway.evaluate(
        {
          flavour: 'nginx',
          method: 'GET',
          host: url.host,
          proto: url.protocol === 'https:' ? 'https' : 'http',
          uri: `${url.pathname}${url.search}`,
          clientIp: ctxOf(request).ip,
        },
        { sessionToken: token, deviceCookie: device.cookie },
      );
      const d = out.decision;
      if (d.decision === 'allow')
        return reply.status(303).header('cache-control', 'no-store').header('location', rd).send();
      if (d.decision === 'step-up') {
        const why = d.reasons.filter((r) => r.score > 0).map((r) => r.reason);
        const passkey = await passkeyOptions(request, token, device.id);
        return html(reply, 200, mfaPage({ csrf, rd, stepUp: true, why, passkeyOptions: passkey }));
      }
      if (d.decision === 'login') return html(reply, 200, loginPage({ csrf, rd }));
      const why = d.reasons.filter((r) => r.deny || r.score > 0).map((r) => r.reason)[0] ?? 'risk too high';
      return html(
        reply,
        403,
        messagePage('Access denied', `Access to this application is denied: ${why}.`, { csrf }),
      );
    },
  );

  app.post(
    '/access/login',
    { config: { access: 'public', rateLimit }, schema: { hide: true, body: formBody } },
    async (request, reply) => {
      const body = request.body;
      const rd = safeReturnUrl(body.rd, apps) ?? '';
      const deviceId = ensureDevice(request, reply).id;
      const csrfCookie = request.cookies[ACCESS_COOKIES.csrf];
      const csrf = ensureCsrf(request, reply);
      if (!access.portal.checkCsrf(csrfCookie, body.csrf)) {
        return html(reply, 403, loginPage({ csrf, rd, error: 'The form expired. Please try again.' }));
      }
      const ctx = ctxOf(request);
      const token = request.cookies[ACCESS_COOKIES.session];
      const step = body.step ?? 'password';
      try {
        if (step === 'password') {
          const r = await access.portal.login(body.username ?? '', body.password ?? '', ctx, deviceId);
          setSession(request, reply, r.token);
          if (r.next === 'mfa') {
            const passkey = await passkeyOptions(request, r.token ?? undefined, deviceId);
            return html(reply, 200, mfaPage({ csrf, rd, stepUp: false, passkeyOptions: passkey }));
          }
          if (r.next === 'console') {
            return html(
              reply,
              403,
              messagePage(
                'Finish signing in',
                'Replace your one-time password and enrol MFA in the Vigil console first, then come back.',
              ),
            );
          }
          return finish(reply, rd, csrf, r);
        }
        if (!token)
          return html(reply, 401, loginPage({ csrf, rd, error: 'Your sign-in expired. Start again.' }));
        if (step === 'mfa') {
          const r = await access.portal.verifyMfa(token, factorOf(request, body), ctx, deviceId);
          setSession(request, reply, r.token);
          return finish(reply, rd, csrf, r);
        }
        const r = await access.portal.stepUp(token, factorOf(request, body), ctx, deviceId);
        setSession(request, reply, r.step?.token ?? r.pendingToken);
        if (r.error || !r.step) {
          const passkey = await passkeyOptions(request, r.pendingToken, deviceId);
          return html(
            reply,
            r.error?.status ?? 401,
            mfaPage({
              csrf,
              rd,
              stepUp: true,
              error: r.error?.message ?? 'Try again',
              passkeyOptions: passkey,
              ...(body.back ? { back: body.back } : {}),
            }),
          );
        }
        if (body.back === 'account')
          return reply
            .status(303)
            .header('cache-control', 'no-store')
            .header('location', '/access/account')
            .send();
        return finish(reply, rd, csrf, r.step);
      } catch (err) {
        if (!isVigilError(err) || err.status >= 500) throw err;
        if (err.code === 'UNAUTHENTICATED') setSession(request, reply, null);
        const page =
          step === 'password' || err.code === 'UNAUTHENTICATED'
            ? loginPage({ csrf, rd, error: err.message })
            : mfaPage({
                csrf,
                rd,
                stepUp: step === 'stepup',
                error: err.message,
                passkeyOptions: await passkeyOptions(request, token, deviceId).catch(() => undefined),
                ...(body.back ? { back: body.back } : {}),
              });
        return html(reply, err.status, page);
      }
    },
  );

  app.post(
    '/access/logout',
    { config: { access: 'public' }, schema: { hide: true, body: formBody } },
    async (request, reply) => {
      const csrfCookie = request.cookies[ACCESS_COOKIES.csrf];
      const csrf = ensureCsrf(request, reply);
      if (!access.portal.checkCsrf(csrfCookie, request.body.csrf)) {
        return html(reply, 403, messagePage('Sign out', 'The form expired. Reload the page and try again.'));
      }
      const token = request.cookies[ACCESS_COOKIES.session];
      if (token) await access.portal.logout(token, ctxOf(request));
      setSession(request, reply, null);
      return html(reply, 200, messagePage('Signed out', 'You are signed out of remote access.', { csrf }));
    },
  );

  /** The security page for the session behind the cookie, with whatever the last action produced. */
  const renderAccount = async (
    request: FastifyRequest,
    reply: FastifyReply,
    token: string | undefined,
    status: number,
    extra: Partial<AccountPageContext> = {},
  ) => {
    const deviceId = ensureDevice(request, reply).id;
    const csrf = ensureCsrf(request, reply);
    const v = await access.enrolment.view(token);
    const rp = rpOf(request);
    const confirmOptions = v.fresh ? undefined : await passkeyOptions(request, token, deviceId);
    const registerOptions = v.fresh
      ? await access.enrolment.passkeyRegistration(token, rp, deviceId).catch((err: unknown) => {
          if (isVigilError(err) && err.status < 500) return undefined;
          throw err;
        })
      : undefined;
    return html(
      reply,
      status,
      accountPage({
        csrf,
        username: v.username,
        totpEnrolled: v.totpEnrolled,
        passkeys: v.passkeys,
        fresh: v.fresh,
        confirmOptions,
        registerOptions,
        ...extra,
      }),
    );
  };
  const toLogin = (reply: FastifyReply) =>
    reply.status(303).header('cache-control', 'no-store').header('location', '/access/login').send();

  app.get(
    '/access/account',
    { config: { access: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      try {
        return await renderAccount(request, reply, request.cookies[ACCESS_COOKIES.session], 200);
      } catch (err) {
        if (isVigilError(err) && err.code === 'UNAUTHENTICATED') return toLogin(reply);
        throw err;
      }
    },
  );

  app.post(
    '/access/account',
    { config: { access: 'public', rateLimit }, schema: { hide: true, body: accountBody } },
    async (request, reply) => {
      const body = request.body;
      const csrfCookie = request.cookies[ACCESS_COOKIES.csrf];
      const token = request.cookies[ACCESS_COOKIES.session];
      const deviceId = ensureDevice(request, reply).id;
      if (!access.portal.checkCsrf(csrfCookie, body.csrf)) {
        const csrf = ensureCsrf(request, reply);
        return html(
          reply,
          403,
          messagePage('Sign-in security', 'The form expired. Reload the page and try again.', { csrf }),
        );
      }
      const ctx = ctxOf(request);
      const rp = rpOf(request);
      try {
        switch (body.action) {
          case 'confirm': {
            const r = await access.portal.stepUp(token ?? '', factorOf(request, body), ctx, deviceId);
            setSession(request, reply, r.step?.token ?? r.pendingToken);
            if (r.step)
              return await renderAccount(request, reply, r.step.token ?? undefined, 200, {
                notice: 'Confirmed.',
              });
            // A failed confirmation leaves the session waiting for its second factor, as at step-up.
            const csrf = ensureCsrf(request, reply);
            return html(
              reply,
              r.error?.status ?? 401,
              mfaPage({
                csrf,
                rd: '',
                stepUp: true,
                back: 'account',
                error: r.error?.message ?? 'Try again',
                passkeyOptions: await passkeyOptions(request, r.pendingToken, deviceId),
              }),
            );
          }
          case 'totp-start': {
            const totpSetup = await access.enrolment.startTotp(token);
            return await renderAccount(request, reply, token, 200, { totpSetup });
          }
          case 'totp-confirm': {
            const r = await access.enrolment.confirmTotp(token, body.code ?? '', ctx, deviceId);
            setSession(request, reply, r.step.token);
            return await renderAccount(request, reply, r.step.token ?? undefined, 200, {
              notice: 'Your authenticator app is set up.',
              recoveryCodes: r.recoveryCodes,
            });
          }
          case 'passkey-add': {
            const p = await access.enrolment.addPasskey(token, rp, deviceId, body.passkey, body.name ?? '');
            return await renderAccount(request, reply, token, 200, { notice: `Passkey "${p.name}" added.` });
          }
          case 'passkey-remove': {
            await access.enrolment.removePasskey(token, body.id ?? '');
            return await renderAccount(request, reply, token, 200, { notice: 'Passkey removed.' });
          }
          case 'recovery-codes': {
            const recoveryCodes = await access.enrolment.regenerateRecoveryCodes(token, ctx);
            return await renderAccount(request, reply, token, 200, {
              notice: 'New recovery codes made; the old ones no longer work.',
              recoveryCodes,
            });
          }
        }
      } catch (err) {
        if (!isVigilError(err) || err.status >= 500) throw err;
        if (err.code === 'UNAUTHENTICATED') {
          setSession(request, reply, null);
          return toLogin(reply);
        }
        return renderAccount(request, reply, token, err.status, { error: err.message });
      }
    },
  );

  const reason = z.object({
    signal: z.string(),
    score: z.number(),
    reason: z.string(),
    deny: z.boolean().optional(),
    unknown: z.boolean().optional(),
  });
  app.get(
    '/api/access/decisions',
    {
      config: { access: ANALYSTS },
      schema: {
        tags: ['access'],
        summary: 'Recent gateway decisions with their reasons',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          userId: z.string().max(64).optional(),
          decision: z.enum(['allow', 'step-up', 'deny', 'login']).optional(),
        }),
        response: {
          200: z.object({
            decisions: z.array(
              z.object({
                id: z.string(),
                time: z.string(),
                decision: z.string(),
                risk: z.number(),
                app: z.string().nullable(),
                userId: z.string().nullable(),
                username: z.string().nullable(),
                sourceIp: z.string().nullable(),
                host: z.string().nullable(),
                path: z.string().nullable(),
                method: z.string().nullable(),
                reasons: z.array(reason),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      await access.flush();
      return { decisions: await access.admin.decisions(request.query) };
    },
  );

  app.get(
    '/api/access/sessions',
    {
      config: { access: ANALYSTS },
      schema: {
        tags: ['access'],
        summary: 'Gateway sessions not revoked',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          userId: z.string().max(64).optional(),
        }),
        response: {
          200: z.object({
            sessions: z.array(
              z.object({
                id: z.string(),
                userId: z.string(),
                ip: z.string().nullable(),
                createdAt: z.string(),
                mfaAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({
      sessions: (await access.admin.sessions(request.query)).map((s) => ({
        id: s.id,
        userId: s.user_id,
        ip: s.ip,
        createdAt: s.created_at,
        mfaAt: s.mfa_at,
      })),
    }),
  );

  app.post(
    '/api/access/sessions/:id/revoke',
    {
      config: { access: ANALYSTS },
      schema: {
        tags: ['access'],
        summary: 'Revoke a gateway session (every process denies it at once)',
        params: z.object({ id: z.string().regex(/^[0-9a-f]{64}$/) }),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await access.admin.revokeSession(request.params.id, request.principal!);
      return reply.status(204).send(null);
    },
  );

  const blockOut = z.object({
    id: z.string(),
    cidr: z.string(),
    reason: z.string(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
  });
  const toBlock = (b: {
    id: string;
    cidr: string;
    reason: string;
    created_by: string | null;
    created_at: string;
  }) => ({
    id: b.id,
    cidr: b.cidr,
    reason: b.reason,
    createdBy: b.created_by,
    createdAt: b.created_at,
  });
  app.get(
    '/api/access/blocks',
    {
      config: { access: ANALYSTS },
      schema: {
        tags: ['access'],
        summary: 'Addresses blocked from the console',
        response: { 200: z.object({ blocks: z.array(blockOut) }) },
      },
    },
    async () => ({ blocks: (await access.admin.blocks()).map(toBlock) }),
  );

  app.post(
    '/api/access/blocks',
    {
      config: { access: ANALYSTS },
      schema: {
        tags: ['access'],
        summary: 'Block an address or CIDR range at the gateway',
        body: z.object({ cidr: z.string().min(1).max(64), reason: z.string().max(500).default('') }).strict(),
        response: { 201: blockOut },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(toBlock(await access.admin.block(request.body.cidr, request.body.reason, request.principal!))),
  );
};
