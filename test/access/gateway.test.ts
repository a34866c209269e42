/**
 * The gateway in-process: nginx- and Traefik-style checks, the portal's password + TOTP sign-in,
 * step-up from a new device and a foreign address, a disabled user denied at once, open redirects
 * refused, forged forwarding headers, and the console's API.
 */
import { request } from 'node:http';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';
import { csrfOf, PortalBrowser, type Send } from './portal-client.js';
import { enrolledUser, type TestUser } from './users.js';

const HOST = 'ehr.hospital.test';
const APP_URL = `https://${HOST}/chart/42?tab=labs`;
const PROXY = '127.0.0.1';

function nginxHeaders(clientIp: string, uri = '/chart/42?tab=labs', host = HOST): Record<string, string> {
  return {
    'x-original-uri': uri,
    'x-original-method': 'GET',
    'x-forwarded-for': clientIp,
    'x-forwarded-host': host,
    'x-forwarded-proto': 'https',
  };
}

function traefikHeaders(clientIp: string, uri = '/chart/42?tab=labs'): Record<string, string> {
  return {
    'x-forwarded-method': 'GET',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': HOST,
    'x-forwarded-uri': uri,
    'x-forwarded-for': clientIp,
  };
}

describe('access gateway (in-process)', () => {
  let f: ServerFixture;
  let alice: TestUser;
  let browser: PortalBrowser;
  let admin: Browser;

  const send: Send = async (req) => {
    const res = await f.app.inject({
      method: req.method,
      url: req.url,
      headers: req.headers,
      remoteAddress: PROXY,
      ...(req.body === undefined ? {} : { payload: req.body }),
    });
    return {
      status: res.statusCode,
      headers: res.headers as Record<string, string | string[] | undefined>,
      body: res.body,
    };
  };

  const check = (
    headers: Record<string, string>,
    cookie?: string,
    remoteAddress = PROXY,
  ): Promise<LightMyRequestResponse> =>
    f.app.inject({
      method: 'GET',
      url: '/access/check',
      headers: { ...headers, ...(cookie ? { cookie } : {}) },
      remoteAddress,
    });

  const lastDecision = async () => {
    await f.services.access.flush();
    const res = await f.app.inject({ method: 'GET', url: '/api/access/decisions?limit=1', ...as(admin) });
    return res.json<{
      decisions: Array<{
        decision: string;
        reasons: Array<{ signal: string; reason: string; score: number }>;
      }>;
    }>().decisions[0]!;
  };

  beforeAll(async () => {
    f = await serverFixture({
      access: {
        applications: [
          { name: 'ehr', host: HOST, pathPrefix: '/', roles: 'any' },
          { name: 'ehr-admin', host: HOST, pathPrefix: '/admin', roles: ['admin'] },
        ],
        zones: { lan: ['10.0.0.0/8', 'fd00::/8'] },
        trustedProxies: [PROXY],
      },
    });
    admin = await signIn(f, 'ada.admin', 'admin');
    alice = await enrolledUser(f.services, 'alice.nurse', 'clinician');
    browser = new PortalBrowser(send);
  });
  afterAll(() => f.close());

  it('without a session: nginx gets 401, Traefik a redirect to the portal with the return URL', async () => {
    const n = await check(nginxHeaders('10.1.2.3'));
    expect(n.statusCode).toBe(401);
    expect(n.headers['x-vigil-decision']).toBe('login');
    const t = await check(traefikHeaders('10.1.2.3'));
    expect(t.statusCode).toBe(302);
    const loc = new URL(String(t.headers.location));
    expect(`${loc.origin}${loc.pathname}`).toBe(`https://${HOST}/access/login`);
    expect(loc.searchParams.get('rd')).toBe(APP_URL);
  });

  it('the portal is a real page: no inline script, a CSRF token, strict CSP', async () => {
    const res = await browser.request('GET', `/access/login?rd=${encodeURIComponent(APP_URL)}`, {
      'x-forwarded-for': '10.1.2.3',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).not.toMatch(/<script/i);
    expect(res.body).not.toMatch(/style=/i);
    expect(csrfOf(res.body).length).toBeGreaterThan(20);
    expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(browser.cookies.has('vigil_device')).toBe(true);
    const css = await f.app.inject({ method: 'GET', url: '/access/portal.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/text\/css/);
  });

  it('a form without the right CSRF token is refused', async () => {
    const res = await browser.request(
      'POST',
      '/access/login',
      {},
      { step: 'password', csrf: 'forged', username: alice.username, password: alice.password },
    );
    expect(res.status).toBe(403);
    expect(browser.cookies.has('vigil_access')).toBe(false);
  });

  it('password then TOTP signs in, rotates the session cookie, and the check allows with X-Vigil-*', async () => {
    const page = await browser.request('GET', `/access/login?rd=${encodeURIComponent(APP_URL)}`, {
      'x-forwarded-for': '10.1.2.3',
    });
    const afterPassword = await browser.request(
      'POST',
      '/access/login',
      { 'x-forwarded-for': '10.1.2.3' },
      {
        step: 'password',
        csrf: csrfOf(page.body),
        rd: APP_URL,
        username: alice.username,
        password: alice.password,
      },
    );
    expect(afterPassword.status).toBe(200);
    expect(afterPassword.body).toContain('value="mfa"');
    const pending = browser.cookies.get('vigil_access');
    expect(pending).toBeTruthy();
    const setCookie = String(
      [afterPassword.headers['set-cookie']].flat().find((c) => String(c).startsWith('vigil_access=')),
    );
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    const { nextCode } = await import('./portal-client.js');
    const done = await browser.request(
      'POST',
      '/access/login',
      { 'x-forwarded-for': '10.1.2.3' },
      {
        step: 'mfa',
        csrf: csrfOf(afterPassword.body),
        rd: APP_URL,
        code: nextCode(alice.secret),
      },
    );
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(APP_URL);
    expect(browser.cookies.get('vigil_access')).not.toBe(pending);

    const res = await check(nginxHeaders('10.1.2.3'), browser.cookieHeader());
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-vigil-user']).toBe('alice.nurse');
    expect(res.headers['x-vigil-roles']).toBe('clinician');
    expect(res.headers['x-vigil-decision']).toBe('allow');
    expect(Number(res.headers['x-vigil-risk'])).toBeLessThan(40);
    const t = await check(traefikHeaders('10.1.2.3'), browser.cookieHeader());
    expect(t.statusCode).toBe(200);
    expect(t.headers['x-vigil-user']).toBe('alice.nurse');
  });

  it('a role the application does not admit is denied with the reason', async () => {
    const res = await check(nginxHeaders('10.1.2.3', '/admin/users'), browser.cookieHeader());
    expect(res.statusCode).toBe(403);
    const d = await lastDecision();
    expect(d.reasons.find((r) => r.signal === 'role')?.reason).toMatch(/not allowed/);
  });

  it('an unknown host or path matches no application: deny', async () => {
    const res = await check(nginxHeaders('10.1.2.3', '/', 'other.hospital.test'), browser.cookieHeader());
    expect(res.statusCode).toBe(403);
    expect((await lastDecision()).reasons[0]!.signal).toBe('application');
  });

  it("the server's listener answers /access/check on its fast path exactly as the route does", async () => {
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = f.app.server.address() as { port: number };
    const viaSocket = (method: string, url: string, headers: Record<string, string>) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path: url, headers }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject).end();
      });
    const cases: Array<[string, Record<string, string>]> = [
      ['allow (nginx)', { ...nginxHeaders('10.1.2.3'), cookie: browser.cookieHeader() }],
      ['allow (Traefik)', { ...traefikHeaders('10.1.2.3'), cookie: browser.cookieHeader() }],
      ['no session (nginx)', nginxHeaders('10.1.2.3')],
      ['no session (Traefik)', traefikHeaders('10.1.2.3')],
      ['role refused', { ...nginxHeaders('10.1.2.3', '/admin/users'), cookie: browser.cookieHeader() }],
      ['malformed cookie', { ...nginxHeaders('10.1.2.3'), cookie: 'vigil_access=%E0%A4%A; vigil_device=x' }],
    ];
    const stable = (h: Record<string, unknown>) => {
      const { date: _d, 'x-request-id': _r, connection: _c, 'keep-alive': _k, ...rest } = h;
      return rest;
    };
    for (const [name, headers] of cases) {
      const routed = await f.app.inject({
        method: 'GET',
        url: '/access/check',
        headers,
        remoteAddress: PROXY,
      });
      const fast = await viaSocket('GET', '/access/check', headers);
      expect({ name, status: fast.status, body: fast.body }).toEqual({
        name,
        status: routed.statusCode,
        body: routed.body,
      });
      expect(stable(fast.headers)).toEqual(stable(routed.headers));
      expect(fast.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(fast.headers['content-security-policy']).toBeDefined();
    }
    const head = await viaSocket('HEAD', '/access/check?from=proxy', {
      ...nginxHeaders('10.1.2.3'),
      cookie: browser.cookieHeader(),
    });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    // Only that URL and those methods take the fast path; anything else is Fastify's.
    // (GET /access/checkout reaches the console's page fallback: 200 when the console is built.)
    const checkout = await viaSocket('GET', '/access/checkout', nginxHeaders('10.1.2.3'));
    expect(checkout.headers['x-vigil-decision']).toBeUndefined();
    const post = await viaSocket('POST', '/access/check', nginxHeaders('10.1.2.3'));
    expect(post.headers['x-vigil-decision']).toBeUndefined();
    expect(post.status).toBe(404);
    // A decision that fails answers 500 without internals, and the next check is answered again.
    const gateway = f.services.access.gateway;
    const real = gateway.check.bind(gateway);
    gateway.check = async () => {
      throw new Error('SQLITE_CORRUPT: secret internals');
    };
    try {
      const failed = await viaSocket('GET', '/access/check', nginxHeaders('10.1.2.3'));
      expect(failed.status).toBe(500);
      expect(failed.body).not.toContain('SQLITE');
      expect(failed.body).toMatch(/request id/);
    } finally {
      gateway.check = real;
    }
    expect((await viaSocket('GET', '/access/check', nginxHeaders('10.1.2.3'))).status).toBe(401);
  });

  it('the same session from a new device and a foreign address through a trusted proxy: step-up', async () => {
    const stolen = browser.cookieHeader(['vigil_access']);
    const n = await check(nginxHeaders('203.0.113.9'), stolen);
    expect(n.statusCode).toBe(401);
    expect(n.headers['x-vigil-decision']).toBe('step-up');
    const d = await lastDecision();
    expect(d.decision).toBe('step-up');
    expect(d.reasons.map((r) => r.signal)).toEqual(expect.arrayContaining(['device', 'zone']));
    const t = await check(traefikHeaders('203.0.113.9'), stolen);
    expect(t.statusCode).toBe(302);
    expect(String(t.headers.location)).toContain('/access/login?rd=');
  });

  it('step-up on the portal (a second factor on that device) then allows from there', async () => {
    const other = new PortalBrowser(send);
    other.cookies.set('vigil_access', browser.cookies.get('vigil_access')!);
    const xff = { 'x-forwarded-for': '203.0.113.9' };
    const page = await other.request('GET', `/access/login?rd=${encodeURIComponent(APP_URL)}`, xff);
    expect(page.status).toBe(200);
    expect(page.body).toContain('value="stepup"');
    expect(page.body).toContain('new');
    const before = other.cookies.get('vigil_access');
    const wrong = await other.request('POST', '/access/login', xff, {
      step: 'stepup',
      csrf: csrfOf(page.body),
      rd: APP_URL,
      code: '000000',
    });
    expect(wrong.status).toBe(401);
    const ok = await other.request('POST', '/access/login', xff, {
      step: 'stepup',
      csrf: csrfOf(wrong.body),
      rd: APP_URL,
      code: alice.recoveryCodes[0]!,
    });
    expect(ok.status).toBe(303);
    expect(other.cookies.get('vigil_access')).not.toBe(before);
    const res = await check(nginxHeaders('203.0.113.9'), other.cookieHeader());
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-vigil-user']).toBe('alice.nurse');
    // The session the first browser held was replaced at step-up: it no longer works.
    expect((await check(nginxHeaders('10.1.2.3'), browser.cookieHeader())).statusCode).toBe(401);
    browser = other;
  });

  it('forwarding headers from an untrusted peer are ignored and denied with the reason', async () => {
    const res = await check(nginxHeaders('10.1.2.3'), browser.cookieHeader(), '198.51.100.7');
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-vigil-user']).toBeUndefined();
    expect((await lastDecision()).reasons[0]!.reason).toMatch(/not a trusted proxy/);
  });

  it('malformed and oversized inputs are denied or sent to sign-in, never allowed, never a crash', async () => {
    const big = await check(
      { ...nginxHeaders('10.1.2.3'), 'x-original-uri': `/${'a'.repeat(9000)}` },
      browser.cookieHeader(),
    );
    expect(big.statusCode).toBe(403);
    expect((await lastDecision()).reasons[0]!.reason).toMatch(/oversized/);
    const badXff = await check(
      { ...nginxHeaders('10.1.2.3'), 'x-forwarded-for': 'not-an-ip' },
      browser.cookieHeader(),
    );
    expect(badXff.statusCode).toBe(403);
    const badHost = await check(
      { ...nginxHeaders('10.1.2.3'), 'x-forwarded-host': 'evil.test/<x>' },
      browser.cookieHeader(),
    );
    expect(badHost.statusCode).toBe(403);
    const junkSession = await check(
      nginxHeaders('10.1.2.3'),
      'vigil_access=%%%garbage%%%; vigil_device=v1.x',
    );
    expect(junkSession.statusCode).toBe(401);
    expect((await lastDecision()).reasons[0]!.reason).toMatch(/malformed session cookie/);
    const device = browser.cookies.get('vigil_device')!;
    const tampered = `${device.slice(0, -2)}${device.endsWith('AA') ? 'BB' : 'AA'}`;
    const res = await check(
      nginxHeaders('10.1.2.3'),
      `vigil_access=${browser.cookies.get('vigil_access')}; vigil_device=${tampered}`,
    );
    expect([200, 401, 403]).toContain(res.statusCode);
    const d = await lastDecision();
    expect(d.reasons.find((r) => r.signal === 'device')?.reason).toMatch(
      /device cookie rejected: bad signature/,
    );
  });

  it('open redirects are refused: only protected applications are return targets', async () => {
    for (const rd of [
      'https://evil.example/',
      '//evil.example/x',
      `https://${HOST}@evil.example/`,
      'javascript:alert(1)',
      `https://${HOST}\\@evil.example/`,
    ]) {
      const page = await browser.request('GET', `/access/login?rd=${encodeURIComponent(rd)}`, {
        'x-forwarded-for': '203.0.113.9',
      });
      expect(page.status, rd).toBe(200);
      expect(page.headers.location, rd).toBeUndefined();
      expect(page.body).toContain('ignored');
      expect(page.body).not.toContain('evil.example');
    }
    const fresh = new PortalBrowser(send);
    const res = await fresh.signIn(
      '/access',
      'https://evil.example/',
      alice.username,
      alice.password,
      alice.secret,
    );
    expect(res.headers.location).toBeUndefined();
  });

  it('an analyst blocks an address: the next check from it is denied', async () => {
    const res = await f.app.inject({
      method: 'POST',
      url: '/api/access/blocks',
      ...as(admin),
      payload: { cidr: '203.0.113.0/24', reason: 'test' },
    });
    expect(res.statusCode).toBe(201);
    const bad = await f.app.inject({
      method: 'POST',
      url: '/api/access/blocks',
      ...as(admin),
      payload: { cidr: '10.0.0.0/99' },
    });
    expect(bad.statusCode).toBe(400);
    const denied = await check(nginxHeaders('203.0.113.9'), browser.cookieHeader());
    expect(denied.statusCode).toBe(403);
    expect((await lastDecision()).reasons.find((r) => r.signal === 'blocklist')?.reason).toMatch(/console/);
  });

  it('decisions are on the bus and in the console with their reasons', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/api/access/decisions?limit=50', ...as(admin) });
    expect(res.statusCode).toBe(200);
    const kinds = new Set(
      res.json<{ decisions: Array<{ decision: string }> }>().decisions.map((d) => d.decision),
    );
    expect([...kinds].sort()).toEqual(['allow', 'deny', 'login', 'step-up']);
  });

  it('an analyst revokes a gateway session: the next check needs sign-in', async () => {
    const sessions = await f.app.inject({ method: 'GET', url: '/api/access/sessions', ...as(admin) });
    const list = sessions.json<{ sessions: Array<{ id: string; userId: string }> }>().sessions;
    const mine = list.filter((s) => s.userId === alice.id);
    expect(mine.length).toBeGreaterThan(0);
    const fresh = new PortalBrowser(send);
    await fresh
      .signIn('/access', APP_URL, alice.username, alice.password, alice.secret, {
        'x-forwarded-for': '10.9.9.9',
      })
      .catch(() => null);
    for (const s of mine) {
      const r = await f.app.inject({
        method: 'POST',
        url: `/api/access/sessions/${s.id}/revoke`,
        ...as(admin),
      });
      expect(r.statusCode).toBe(204);
    }
    expect((await check(nginxHeaders('10.1.2.3'), browser.cookieHeader())).statusCode).toBe(401);
  });

  it('a disabled user is denied at once (403) even with a cached session, and the portal refuses them', async () => {
    const bob = await enrolledUser(f.services, 'bob.clerk', 'staff');
    const b = new PortalBrowser(send);
    const res = await b.signIn('/access', APP_URL, bob.username, bob.password, bob.secret, {
      'x-forwarded-for': '10.2.2.2',
    });
    expect(res.status).toBe(303);
    expect((await check(nginxHeaders('10.2.2.2'), b.cookieHeader())).statusCode).toBe(200);
    await f.services.identity.users.setStatus(bob.username, 'disabled');
    const denied = await check(nginxHeaders('10.2.2.2'), b.cookieHeader());
    expect(denied.statusCode).toBe(403);
    expect(denied.headers['x-vigil-user']).toBeUndefined();
    expect((await lastDecision()).reasons[0]!.reason).toBe('account disabled');
    const again = new PortalBrowser(send);
    const page = await again.request('GET', '/access/login');
    const login = await again.request(
      'POST',
      '/access/login',
      {},
      { step: 'password', csrf: csrfOf(page.body), username: bob.username, password: bob.password },
    );
    expect(login.status).toBe(403);
    expect(login.body).toContain('disabled');
  });

  it('logout ends the gateway session', async () => {
    const carol = await enrolledUser(f.services, 'carol.doc', 'clinician');
    const c = new PortalBrowser(send);
    await c.signIn('/access', APP_URL, carol.username, carol.password, carol.secret, {
      'x-forwarded-for': '10.3.3.3',
    });
    expect((await check(nginxHeaders('10.3.3.3'), c.cookieHeader())).statusCode).toBe(200);
    const page = await c.request('GET', '/access/login');
    const out = await c.request('POST', '/access/logout', {}, { csrf: csrfOf(page.body) });
    expect(out.status).toBe(200);
    expect(c.cookies.has('vigil_access')).toBe(false);
  });
});
