/**
 * The HTTP surface: sign-in through the API as a browser does it, cookies and CSRF, security
 * headers, rate limits, and bad input of every kind answered with a clear 4xx (never a 500 that
 * leaks), with nothing secret in the logs.
 */
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/platform/log/index.js';
import { registerErrorHandling } from '../src/server/plugins/errors.js';
import {
  as,
  type Browser,
  type ServerFixture,
  STRONG_PASSWORD,
  serverFixture,
  sessionCookie,
  signIn,
} from './support/server-fixture.js';

describe('HTTP API', () => {
  let f: ServerFixture;
  let admin: Browser;
  const logLines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    f = await serverFixture(
      { auth: { rateLimitPerMinute: 8 } },
      createLogger({ level: 'debug', destination: sink }),
    );
    admin = await signIn(f, 'ada.admin', 'admin');
  });
  afterAll(() => f.close());

  it('sets a httpOnly, SameSite=Strict session cookie and reports the session state', async () => {
    const { oneTimePassword } = await f.services.identity.users.create({
      username: 'cookie.check',
      displayName: 'x',
      role: 'staff',
    });
    const res = await f.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'cookie.check', password: oneTimePassword },
    });
    expect(res.statusCode).toBe(200);
    const c = res.cookies.find((x) => x.name === 'vigil_session')!;
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(c.secure).toBeFalsy();
    const session = await f.app.inject({
      method: 'GET',
      url: '/api/auth/session',
      cookies: { vigil_session: c.value },
    });
    expect(session.json()).toMatchObject({
      state: 'password',
      user: { username: 'cookie.check', role: 'staff' },
    });
    const none = await f.app.inject({ method: 'GET', url: '/api/auth/session' });
    expect(none.json()).toEqual({ state: 'none' });
  });

  it('signs an admin in with TOTP after the password, and logs out', async () => {
    const login = await f.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada.admin', password: STRONG_PASSWORD },
    });
    expect(login.json().state).toBe('mfa');
    const cookie = sessionCookie(login);
    const csrf = login.json().csrfToken;
    const bad = await f.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/verify',
      cookies: { vigil_session: cookie },
      headers: { 'x-csrf-token': csrf },
      payload: { code: '000000' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error).toMatchObject({ code: 'MFA_INVALID', details: { field: 'code' } });
    // A code from the next 30 s window is accepted (one step of clock drift) and cannot be replayed.
    const code = generateSync({ secret: admin.totpSecret!, epoch: Math.floor(Date.now() / 1000) + 30 });
    const ok = await f.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/verify',
      cookies: { vigil_session: cookie },
      headers: { 'x-csrf-token': csrf },
      payload: { code },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().state).toBe('ok');
    const fresh = { cookie: sessionCookie(ok), csrf: ok.json().csrfToken, username: 'ada.admin' };
    expect((await f.app.inject({ method: 'GET', url: '/api/users', ...as(fresh) })).statusCode).toBe(200);
    const out = await f.app.inject({ method: 'POST', url: '/api/auth/logout', ...as(fresh) });
    expect(out.statusCode).toBe(204);
    expect((await f.app.inject({ method: 'GET', url: '/api/users', ...as(fresh) })).statusCode).toBe(401);
  });

  it('refuses state changes without the CSRF token of the session', async () => {
    const noHeader = await f.app.inject({
      method: 'POST',
      url: '/api/users',
      cookies: { vigil_session: admin.cookie },
      payload: { username: 'x1', displayName: 'x', role: 'staff' },
    });
    expect(noHeader.statusCode).toBe(403);
    expect(noHeader.json().error.code).toBe('CSRF');
    const wrong = await f.app.inject({
      method: 'POST',
      url: '/api/users',
      cookies: { vigil_session: admin.cookie },
      headers: { 'x-csrf-token': 'forged' },
      payload: { username: 'x1', displayName: 'x', role: 'staff' },
    });
    expect(wrong.statusCode).toBe(403);
    expect(await f.services.identity.users.get('x1')).toBeUndefined();
  });

  it('lets an admin manage users and tokens through the API', async () => {
    const created = await f.app.inject({
      method: 'POST',
      url: '/api/users',
      ...as(admin),
      payload: { username: 'nina.nurse', displayName: 'Nina', email: 'nina@example.org', role: 'clinician' },
    });
    expect(created.statusCode).toBe(201);
    const { user, oneTimePassword } = created.json();
    expect(user).toMatchObject({
      username: 'nina.nurse',
      role: 'clinician',
      status: 'active',
      mustChangePassword: true,
    });
    expect(oneTimePassword).toHaveLength(20);
    const dup = await f.app.inject({
      method: 'POST',
      url: '/api/users',
      ...as(admin),
      payload: { username: 'nina.nurse', displayName: 'Nina', role: 'clinician' },
    });
    expect(dup.statusCode).toBe(409);
    const disabled = await f.app.inject({
      method: 'POST',
      url: `/api/users/${user.id}/disable`,
      ...as(admin),
    });
    expect(disabled.json().user.status).toBe('disabled');
    const self = await f.app.inject({ method: 'POST', url: `/api/users/ada.admin/disable`, ...as(admin) });
    expect(self.statusCode).toBe(400);
    const missing = await f.app.inject({ method: 'POST', url: '/api/users/nobody/disable', ...as(admin) });
    expect(missing.statusCode).toBe(404);
    const list = await f.app.inject({ method: 'GET', url: '/api/users', ...as(admin) });
    expect(list.body).not.toMatch(/password_hash|\$argon2/);

    const tok = await f.app.inject({
      method: 'POST',
      url: '/api/tokens',
      ...as(admin),
      payload: { name: 'siem', role: 'analyst' },
    });
    expect(tok.statusCode).toBe(201);
    const { token, secret } = tok.json();
    const viaToken = await f.app.inject({
      method: 'GET',
      url: '/api/events?limit=5',
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(viaToken.statusCode).toBe(200);
    expect(
      (await f.app.inject({ method: 'DELETE', url: `/api/tokens/${token.id}`, ...as(admin) })).statusCode,
    ).toBe(204);
    expect(
      (
        await f.app.inject({
          method: 'GET',
          url: '/api/events',
          headers: { authorization: `Bearer ${secret}` },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('shows live figures on the overview, including auth events of the last 24 h', async () => {
    for (let i = 0; i < 50 && f.services.bus.stats().queued > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    const res = await f.app.inject({ method: 'GET', url: '/api/overview', ...as(admin) });
    expect(res.statusCode).toBe(200);
    const o = res.json();
    expect(o.users.total).toBeGreaterThanOrEqual(3);
    expect(o.sessions.active).toBeGreaterThanOrEqual(1);
    const kinds = Object.fromEntries(
      o.events24h.byKind.map((k: { kind: string; count: number }) => [k.kind, k.count]),
    );
    expect(kinds['auth.login.succeeded']).toBeGreaterThanOrEqual(1);
    expect(kinds['user.created']).toBeGreaterThanOrEqual(3);
    expect(o.bus.kind).toBe('memory');
  });

  describe('bad input', () => {
    it('malformed JSON answers 400 INVALID_JSON', async () => {
      const res = await f.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: '{"username": "a", ',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('INVALID_JSON');
    });

    it('schema failures name the field', async () => {
      const missing = await f.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'a' },
      });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error.message).toMatch(/password/);
      const extra = await f.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'a', password: 'b', admin: true },
      });
      expect(extra.statusCode).toBe(400);
      expect(extra.json().error.message).toMatch(/admin/);
      const type = await f.app.inject({
        method: 'POST',
        url: '/api/users',
        ...as(admin),
        payload: { username: 'zz', displayName: 'z', role: 'superuser' },
      });
      expect(type.statusCode).toBe(400);
      expect(type.json().error.details.field).toBe('body.role');
      const email = await f.app.inject({
        method: 'POST',
        url: '/api/users',
        ...as(admin),
        payload: { username: 'zz', displayName: 'z', role: 'staff', email: 'not-an-email' },
      });
      expect(email.json().error.details.field).toBe('body.email');
      const query = await f.app.inject({ method: 'GET', url: '/api/events?limit=100000', ...as(admin) });
      expect(query.statusCode).toBe(400);
      expect(query.json().error.details.field).toBe('querystring.limit');
    });

    it('an oversized body answers 413 and a wrong content type 415', async () => {
      const big = await f.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: `{"username":"${'a'.repeat(2 * 1024 * 1024)}","password":"x"}`,
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().error.code).toBe('PAYLOAD_TOO_LARGE');
      const text = await f.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'text/plain' },
        payload: 'username=a',
      });
      expect(text.statusCode).toBe(415);
    });

    it('garbage cookies and authorization headers answer 401, never 500', async () => {
      const cases: Array<Record<string, string>> = [
        { cookie: 'vigil_session=' },
        { cookie: `vigil_session=${'A'.repeat(43)}` },
        { cookie: `vigil_session=${'%'.repeat(500)}` },
        { cookie: 'vigil_session="; DROP TABLE sessions; --' },
        { cookie: ';;;=;=;' },
        { authorization: 'Basic YWRtaW46YWRtaW4=' },
        { authorization: 'Bearer ' },
        { authorization: `Bearer ${'x'.repeat(5000)}` },
        { authorization: "Bearer vgl_' OR '1'='1" },
      ];
      for (const headers of cases) {
        const res = await f.app.inject({ method: 'GET', url: '/api/overview', headers });
        expect(res.statusCode, JSON.stringify(headers).slice(0, 80)).toBe(401);
      }
    });

    it('unknown API routes answer a JSON 404', async () => {
      const res = await f.app.inject({ method: 'GET', url: '/api/nothing-here' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
      const post = await f.app.inject({ method: 'POST', url: '/api/nothing-here' });
      expect(post.statusCode).toBe(404);
    });

    it('rate-limits the login route per address', async () => {
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await f.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          remoteAddress: '192.0.2.77',
          payload: { username: `ghost${i}`, password: 'x' },
        });
        codes.push(res.statusCode);
        if (res.statusCode === 429) {
          expect(res.json().error.code).toBe('RATE_LIMITED');
          expect(res.headers['retry-after']).toBeDefined();
          expect(res.json().error.details.retryAfterSeconds).toBeGreaterThan(0);
        }
      }
      expect(codes).toContain(429);
      expect(codes.filter((c) => c === 401).length).toBeLessThanOrEqual(8);
    });
  });

  it('sends security headers and a strict CSP', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const api = await f.app.inject({ method: 'GET', url: '/api/auth/session' });
    expect(api.headers['cache-control']).toBe('no-store');
  });

  it('publishes an OpenAPI document of the API', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/api/auth/login', '/api/users', '/api/tokens', '/api/overview', '/healthz'])
      expect(doc.paths[p], p).toBeDefined();
    expect(doc.paths['/api/users'].post.requestBody).toBeDefined();
  });

  it('keeps passwords, codes, cookies and tokens out of the logs', () => {
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(100);
    expect(all).not.toContain(STRONG_PASSWORD);
    expect(all).not.toContain(admin.cookie);
    expect(all).not.toContain(admin.totpSecret!);
    expect(all).not.toMatch(/vgl_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}/);
  });
});

describe('error handler', () => {
  it('answers a 500 with a fixed message and the request id, never the internal error', async () => {
    const app = Fastify();
    registerErrorHandling(app);
    app.get('/boom', async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2');
    });
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('ECONNREFUSED');
    expect(res.json().error).toMatchObject({ code: 'INTERNAL', requestId: expect.any(String) });
    await app.close();
  });
});
