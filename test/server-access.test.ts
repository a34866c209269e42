/**
 * Deny by default: every registered route is listed, and each one that is not on the explicit
 * public list refuses an anonymous caller, a half-signed-in session, and a role it does not allow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from './support/server-fixture.js';

/** The only routes reachable without signing in. Adding one here is a security decision. */
const PUBLIC_ROUTES = [
  'GET /*',
  // Access gateway: the reverse proxy asks /access/check on behalf of a browser, and the portal's
  // sign-in pages must be reachable before signing in. Each authenticates the gateway cookie itself
  // and checks a CSRF token on every form post.
  'GET /access/check',
  'GET /access/login',
  'GET /access/portal.css',
  'GET /access/portal.js', // the portal's one script (passkey forms), no data
  'POST /access/login',
  'POST /access/logout',
  // Self-service MFA: authenticates the gateway cookie itself (a fully signed-in session, else a
  // redirect to the login page) and checks the CSRF token on every post.
  'GET /access/account',
  'POST /access/account',
  // Awareness phishing simulation: a recipient follows these from a simulated message without
  // signing in. Rate-limited, same answer for unknown ids, nothing typed into the form is kept.
  'GET /t/o/:id.gif', // open pixel
  'GET /t/c/:id', // click
  'GET /t/r/:id', // report link
  'GET /t/l/:id', // landing page (or teaching page)
  'POST /t/l/:id', // landing form submission, then the teaching page
  // A training certificate's code is checked by whoever is shown the certificate: rate-limited,
  // answers only valid or not and, when valid, the course and the date printed on it.
  'GET /api/awareness/certificates/verify/:code',
  'GET /api/auth/session',
  // FHIR: the CapabilityStatement says what the server implements, no data (clients fetch it first).
  'GET /fhir/metadata',
  // The vault's audit checkpoints are signed for outside verifiers: the public key is no secret.
  'GET /api/vault/audit/public-key',
  'GET /api/openapi.json',
  'GET /healthz',
  'GET /readyz',
  'POST /api/auth/login',
];

/** The Vigil error code of an answer: `error.code`, or in an OperationOutcome (FHIR routes) its coding. */
function errorCode(body: {
  error?: { code: string };
  issue?: Array<{ details?: { coding?: Array<{ code: string }> } }>;
  schemas?: string[];
  status?: string;
}): string | undefined {
  // SCIM errors (under /scim/v2) carry only the HTTP status.
  const scim = body.schemas?.includes('urn:ietf:params:scim:api:messages:2.0:Error')
    ? ({ '401': 'UNAUTHENTICATED', '403': 'FORBIDDEN' } as Record<string, string>)[body.status ?? '']
    : undefined;
  return body.error?.code ?? body.issue?.[0]?.details?.coding?.[0]?.code ?? scim;
}

function concrete(url: string): string {
  return url.replace(/:[a-zA-Z]+/g, '00000000-0000-7000-8000-000000000000').replace('*', 'some/page');
}

describe('deny by default', () => {
  let f: ServerFixture;
  let staff: Browser;
  beforeAll(async () => {
    f = await serverFixture();
    staff = await signIn(f, 'sam.staff', 'staff');
  });
  afterAll(() => f.close());

  const routes = () => f.routes.filter((r) => r.method !== 'HEAD');

  it('registers routes, and exactly the listed ones are public', () => {
    expect(routes().length).toBeGreaterThan(15);
    const pub = routes()
      .filter((r) => r.access === 'public')
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    expect(pub).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('every other route answers 401 to an anonymous caller, before reading the body', async () => {
    const checked: string[] = [];
    for (const r of routes()) {
      if (r.access === 'public') continue;
      const res = await f.app.inject({
        method: r.method as 'GET',
        url: concrete(r.url),
        payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : '{not json',
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(errorCode(res.json())).toBe('UNAUTHENTICATED');
      checked.push(`${r.method} ${r.url}`);
    }
    expect(checked.length).toBeGreaterThan(10);
  });

  it('every non-public route has declared who may call it', () => {
    for (const r of routes()) expect(r.access, `${r.method} ${r.url}`).toBeDefined();
  });

  it('a bad bearer token is refused, never treated as anonymous-but-public', async () => {
    for (const r of routes().filter((x) => x.access !== 'public')) {
      const res = await f.app.inject({
        method: r.method as 'GET',
        url: concrete(r.url),
        headers: { authorization: 'Bearer vgl_nope' },
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
    }
  });

  it('admin routes refuse a staff session with 403', async () => {
    const adminRoutes = routes().filter(
      (r) =>
        typeof r.access === 'object' &&
        r.access !== null &&
        JSON.stringify((r.access as { roles: unknown }).roles) === '["admin"]',
    );
    expect(adminRoutes.length).toBeGreaterThanOrEqual(6);
    for (const r of adminRoutes) {
      const res = await f.app.inject({
        method: r.method as 'GET',
        url: concrete(r.url),
        ...as(staff),
        payload: r.method === 'POST' ? {} : undefined,
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
      expect(errorCode(res.json())).toBe('FORBIDDEN');
    }
  });

  it('a session that has not finished signing in reaches only the sign-in steps', async () => {
    const { oneTimePassword } = await f.services.identity.users.create({
      username: 'half.way',
      displayName: 'x',
      role: 'admin',
    });
    const login = await f.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'half.way', password: oneTimePassword },
    });
    const cookie = login.cookies.find((c) => c.name === 'vigil_session')!.value;
    const res = await f.app.inject({
      method: 'GET',
      url: '/api/overview',
      cookies: { vigil_session: cookie },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('PASSWORD_CHANGE_REQUIRED');
    const users = await f.app.inject({
      method: 'GET',
      url: '/api/users',
      cookies: { vigil_session: cookie },
    });
    expect(users.statusCode).toBe(403);
  });

  it('an admin who has not enrolled MFA is held at enrolment', async () => {
    const { oneTimePassword } = await f.services.identity.users.create({
      username: 'new.admin',
      displayName: 'x',
      role: 'admin',
    });
    let res = await f.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'new.admin', password: oneTimePassword },
    });
    let cookie = res.cookies.find((c) => c.name === 'vigil_session')!.value;
    res = await f.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      cookies: { vigil_session: cookie },
      headers: { 'x-csrf-token': res.json().csrfToken },
      payload: { currentPassword: oneTimePassword, newPassword: 'a calm night shift in ward 7' },
    });
    expect(res.json().state).toBe('enroll');
    cookie = res.cookies.find((c) => c.name === 'vigil_session')!.value;
    res = await f.app.inject({ method: 'GET', url: '/api/users', cookies: { vigil_session: cookie } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('MFA_REQUIRED');
  });

  it('API tokens cannot manage tokens, and a token role is enforced', async () => {
    const { secret } = await f.services.identity.tokens.create('integration', 'admin');
    const headers = { authorization: `Bearer ${secret}` };
    expect((await f.app.inject({ method: 'GET', url: '/api/users', headers })).statusCode).toBe(200);
    expect((await f.app.inject({ method: 'GET', url: '/api/tokens', headers })).statusCode).toBe(403);
    const analyst = await f.services.identity.tokens.create('siem', 'analyst');
    expect(
      (
        await f.app.inject({
          method: 'GET',
          url: '/api/users',
          headers: { authorization: `Bearer ${analyst.secret}` },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await f.app.inject({
          method: 'GET',
          url: '/api/overview',
          headers: { authorization: `Bearer ${analyst.secret}` },
        })
      ).statusCode,
    ).toBe(200);
  });
});
