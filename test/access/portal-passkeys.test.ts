/**
 * Passkeys and self-service MFA at the portal, in-process, with a software ES256 authenticator
 * that answers the real WebAuthn options in the pages: registration from the security page, the
 * passkey as the second factor on a fresh sign-in, step-up before changes, removal, recovery codes,
 * TOTP enrolment with a QR code; and bad input: tampered answers, another challenge, another
 * origin, a replayed assertion, an old counter, garbage, missing CSRF: each a clear denial.
 */
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerFixture, STRONG_PASSWORD, serverFixture, signIn } from '../support/server-fixture.js';
import { type Lie, optionsIn, SoftAuthenticator } from './portal-authenticator.js';
import { csrfOf, type HttpAnswer, PortalBrowser, type Send } from './portal-client.js';
import { enrolledUser, type TestUser } from './users.js';

const HOST = 'ehr.hospital.test';
const APP_URL = `https://${HOST}/chart/7`;
const PORTAL = 'https://portal.hospital.test';
const PROXY = '127.0.0.1';
const CLIENT = { 'x-forwarded-for': '10.9.8.7' };

type GetOptions = { challenge: string; rpId: string; allowCredentials: Array<{ id: string }> };
type CreateOptions = {
  challenge: string;
  rp: { id: string; name: string };
  user: { id: string; name: string };
  excludeCredentials: Array<{ id: string }>;
};

describe('portal passkeys and self-service MFA', () => {
  let f: ServerFixture;
  let carol: TestUser;
  const key = new SoftAuthenticator(PORTAL);
  let savedAssertion = '';

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

  /** A new browser that has passed the password step and shows the MFA page. */
  const atMfa = async (user: { username: string; password: string }) => {
    const b = new PortalBrowser(send);
    const page = await b.request('GET', `/access/login?rd=${encodeURIComponent(APP_URL)}`, CLIENT);
    const res = await b.request('POST', '/access/login', CLIENT, {
      step: 'password',
      csrf: csrfOf(page.body),
      rd: APP_URL,
      username: user.username,
      password: user.password,
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain('name="step" value="mfa"');
    return { b, page: res };
  };

  /** Posts the page's passkey form as the portal script does (its hidden fields, plus the answer). */
  const postPasskey = (b: PortalBrowser, page: HttpAnswer, answer: unknown, step = 'mfa') =>
    b.request('POST', '/access/login', CLIENT, {
      step,
      csrf: csrfOf(page.body),
      rd: /name="rd" value="([^"]*)"/.exec(page.body)?.[1] ?? '',
      ...(page.body.includes('name="back" value="account"') ? { back: 'account' } : {}),
      passkey: typeof answer === 'string' ? answer : JSON.stringify(answer),
    });

  const account = (b: PortalBrowser, form?: Record<string, string>) =>
    form ? b.request('POST', '/access/account', CLIENT, form) : b.request('GET', '/access/account', CLIENT);

  const sessionsTable = () =>
    f.services.database.db.withTables<{
      access_sessions: { id: string; user_id: string; mfa_at: string | null; created_at: string };
    }>();

  beforeAll(async () => {
    f = await serverFixture({
      auth: { backoffAfter: 100, lockoutThreshold: 100, rateLimitPerMinute: 10_000 },
      access: {
        applications: [{ name: 'ehr', host: HOST, pathPrefix: '/', roles: 'any' }],
        trustedProxies: [PROXY],
        portalUrl: `${PORTAL}/access`,
      },
    });
    carol = await enrolledUser(f.services, 'carol.nurse', 'clinician');
  });
  afterAll(() => f?.close());

  it('a signed-in user registers a passkey from the security page', async () => {
    const b = new PortalBrowser(send);
    const done = await b.signIn('/access', APP_URL, carol.username, carol.password, carol.secret, CLIENT);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(APP_URL);

    const page = await account(b);
    expect(page.status).toBe(200);
    expect(page.body).toContain('An authenticator app is set up');
    expect(page.body).toContain('No passkeys yet');
    expect(page.body).toContain('<script src="/access/portal.js" defer>');
    const opts = optionsIn<CreateOptions>(page.body, 'passkey-create-options');
    expect(opts?.rp.id).toBe('portal.hospital.test');
    expect(opts?.user.name).toBe(carol.username);

    const added = await account(b, {
      csrf: csrfOf(page.body),
      action: 'passkey-add',
      name: 'Ward laptop',
      passkey: JSON.stringify(key.create(opts!)),
    });
    expect(added.status).toBe(200);
    expect(added.body).toContain('Passkey &#34;Ward laptop&#34; added.');
    const stored = await f.services.access.portal.passkeys.list(carol.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ name: 'Ward laptop', counter: 0, transports: ['internal'] });
    expect(stored[0]!.publicKey.length).toBeGreaterThan(60);
    // The next registration options exclude the passkey just added.
    const again = optionsIn<CreateOptions>(added.body, 'passkey-create-options');
    expect(again?.excludeCredentials.map((c) => c.id)).toEqual([stored[0]!.id]);

    const js = await f.app.inject({ method: 'GET', url: '/access/portal.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.body).toContain('navigator.credentials.get');
    // Forms may lead (by the redirect after sign-in) to the protected applications only.
    expect(String(page.headers['content-security-policy'])).toContain(`form-action 'self' ${HOST};`);
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self';");
  });

  it('the passkey is the second factor on a fresh sign-in, and the gateway then allows', async () => {
    const { b, page } = await atMfa(carol);
    const opts = optionsIn<GetOptions>(page.body, 'passkey-get-options');
    expect(opts?.rpId).toBe('portal.hospital.test');
    expect(opts?.allowCredentials.map((c) => c.id)).toEqual([key.credentials[0]!.id.toString('base64url')]);
    const before = b.cookies.get('vigil_access');
    savedAssertion = JSON.stringify(key.get(opts!));
    const res = await postPasskey(b, page, savedAssertion);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(APP_URL);
    expect(b.cookies.get('vigil_access')).not.toBe(before); // rotated at MFA

    const check = await f.app.inject({
      method: 'GET',
      url: '/access/check',
      remoteAddress: PROXY,
      headers: {
        cookie: b.cookieHeader(['vigil_access', 'vigil_device']),
        'x-original-uri': '/chart/7',
        'x-original-method': 'GET',
        'x-forwarded-for': '10.9.8.7',
        'x-forwarded-host': HOST,
        'x-forwarded-proto': 'https',
      },
    });
    expect(check.statusCode).toBe(200);
    expect(check.headers['x-vigil-user']).toBe(carol.username);
    const [pk] = await f.services.access.portal.passkeys.list(carol.id);
    expect(pk!.counter).toBe(1);
    expect(pk!.lastUsedAt).not.toBeNull();
  });

  it('refuses tampered answers, another challenge, origin, RP or type, with a clear reason and no crash', async () => {
    const failedBefore = (await f.services.identity.users.get(carol.id))!.failed_count;
    const { b, page: first } = await atMfa(carol);
    let page = first;
    const cases: Array<{
      lie?: Lie;
      tamper?: (a: ReturnType<SoftAuthenticator['get']>) => void;
      why: RegExp;
    }> = [
      {
        tamper: (a) => {
          const sig = Buffer.from(a.response.signature, 'base64url');
          sig[sig.length - 1]! ^= 0x01;
          a.response.signature = sig.toString('base64url');
        },
        why: /signature does not verify/,
      },
      {
        tamper: (a) => {
          const data = Buffer.from(a.response.authenticatorData, 'base64url');
          data[36] = 0xff; // the counter's low byte: the signature no longer covers these bytes
          a.response.authenticatorData = data.toString('base64url');
        },
        why: /signature does not verify/,
      },
      {
        lie: { challenge: Buffer.alloc(32, 7).toString('base64url') },
        why: /different or expired challenge/,
      },
      { lie: { origin: 'https://evil.example' }, why: /made for a different site/ },
      { lie: { rpId: 'evil.example' }, why: /made for a different site/ },
      { lie: { type: 'webauthn.create' }, why: /wrong kind of answer/ },
    ];
    for (const c of cases) {
      const opts = optionsIn<GetOptions>(page.body, 'passkey-get-options');
      expect(opts).not.toBeNull();
      const answer = key.get(opts!, c.lie);
      c.tamper?.(answer);
      const res = await postPasskey(b, page, answer);
      expect(res.status, c.why.source).toBe(401);
      expect(res.body).toMatch(c.why);
      expect(res.body).toContain('name="step" value="mfa"'); // still waiting for the second factor
      page = res;
    }
    // Not a credential at all: a 400 with a clear message, the page still usable.
    for (const [raw, why] of [
      ['{not json', /not readable/],
      [JSON.stringify({ id: 'x', type: 'public-key', response: {} }), /not a WebAuthn credential/],
      [
        JSON.stringify({ ...key.get(optionsIn<GetOptions>(page.body, 'passkey-get-options')!), type: 'x' }),
        /not a WebAuthn credential/,
      ],
    ] as const) {
      const res = await postPasskey(b, page, raw);
      expect(res.status).toBe(400);
      expect(res.body).toMatch(why);
      page = res;
    }
    // Each refusal counted as a failed second factor (back-off and lockout apply).
    const failedAfter = (await f.services.identity.users.get(carol.id))!.failed_count;
    expect(failedAfter - failedBefore).toBe(cases.length + 3);
    // A genuine answer to the page's current options still passes.
    const ok = await postPasskey(b, page, key.get(optionsIn<GetOptions>(page.body, 'passkey-get-options')!));
    expect(ok.status).toBe(303);
    expect((await f.services.identity.users.get(carol.id))!.failed_count).toBe(0);
  });

  it('a replayed assertion is refused: the challenge serves once and the counter must move forward', async () => {
    const replay = await atMfa(carol);
    const r1 = await postPasskey(replay.b, replay.page, savedAssertion);
    expect(r1.status).toBe(401);
    expect(r1.body).toMatch(/different or expired challenge/);

    // A cloned authenticator: right challenge, right key, but a counter that did not move forward.
    const stored = (await f.services.access.portal.passkeys.list(carol.id))[0]!.counter;
    const clone = await atMfa(carol);
    const opts = optionsIn<GetOptions>(clone.page.body, 'passkey-get-options')!;
    const r2 = await postPasskey(clone.b, clone.page, key.get(opts, { counter: stored }));
    expect(r2.status).toBe(401);
    expect(r2.body).toMatch(/counter did not move forward/);
    expect((await f.services.access.portal.passkeys.list(carol.id))[0]!.counter).toBe(stored);
  });

  it('changes need a fresh check: confirm with the passkey, then new recovery codes and removal', async () => {
    const { b, page } = await atMfa(carol);
    expect(
      (await postPasskey(b, page, key.get(optionsIn<GetOptions>(page.body, 'passkey-get-options')!))).status,
    ).toBe(303);
    // The step-up is an hour old.
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await sessionsTable()
      .updateTable('access_sessions')
      .set({ mfa_at: hourAgo })
      .where('user_id', '=', carol.id)
      .execute();

    let res = await account(b);
    expect(res.status).toBe(200);
    expect(res.body).toContain('Confirm it is you');
    expect(res.body).not.toContain('value="passkey-remove"');
    expect(res.body).not.toContain('passkey-create-options');
    const pk = (await f.services.access.portal.passkeys.list(carol.id))[0]!;
    res = await account(b, { csrf: csrfOf(res.body), action: 'passkey-remove', id: pk.id });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/Confirm it is you first/);
    expect(await f.services.access.portal.passkeys.count(carol.id)).toBe(1);

    // A wrong code: the session waits for its second factor on the step-up page.
    res = await account(b, { csrf: csrfOf(res.body), action: 'confirm', code: '000000' });
    expect(res.status).toBe(401);
    expect(res.body).toContain('name="back" value="account"');
    // The passkey on that page passes the step-up and returns to the security page.
    res = await postPasskey(
      b,
      res,
      key.get(optionsIn<GetOptions>(res.body, 'passkey-get-options')!),
      'stepup',
    );
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/access/account');
    res = await account(b);
    expect(res.body).not.toContain('Confirm it is you');
    expect(res.body).toContain('value="passkey-remove"');

    res = await account(b, { csrf: csrfOf(res.body), action: 'recovery-codes' });
    expect(res.status).toBe(200);
    const codes = [...res.body.matchAll(/<li>([a-z2-9]{5}-[a-z2-9]{5})<\/li>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    expect(codes).not.toContain(carol.recoveryCodes[0]);

    res = await account(b, { csrf: csrfOf(res.body), action: 'passkey-remove', id: pk.id });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Passkey removed.');
    expect(await f.services.access.portal.passkeys.count(carol.id)).toBe(0);

    // The old recovery code no longer works; a new one does (and no passkey is offered now).
    const old = await atMfa(carol);
    expect(optionsIn(old.page.body, 'passkey-get-options')).toBeNull();
    const refused = await old.b.request('POST', '/access/login', CLIENT, {
      step: 'mfa',
      csrf: csrfOf(old.page.body),
      rd: APP_URL,
      code: carol.recoveryCodes[0]!,
    });
    expect(refused.status).toBe(401);
    const passed = await old.b.request('POST', '/access/login', CLIENT, {
      step: 'mfa',
      csrf: csrfOf(refused.body),
      rd: APP_URL,
      code: codes[0]!,
    });
    expect(passed.status).toBe(303);
  });

  it('a user without MFA enrols an authenticator app (QR code) and a passkey, and is asked for them next time', async () => {
    await signIn(f, 'dan.porter', 'staff');
    const dan = (await f.services.identity.users.get('dan.porter'))!;
    const b = new PortalBrowser(send);
    const done = await b.signIn('/access', APP_URL, 'dan.porter', STRONG_PASSWORD, undefined, CLIENT);
    expect(done.status).toBe(303);

    let res = await account(b);
    expect(res.body).toContain('Not set up.');
    res = await account(b, { csrf: csrfOf(res.body), action: 'totp-start' });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/<img class="qr" alt="[^"]+" src="data:image\/png;base64,/);
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(res.body)![1]!;
    // A wrong code is refused and nothing is enrolled.
    const wrong = await account(b, { csrf: csrfOf(res.body), action: 'totp-confirm', code: '123456' });
    expect(wrong.status).toBe(401);
    expect((await f.services.identity.users.get(dan.id))!.mfa_enrolled_at).toBeNull();
    res = await account(b, { csrf: csrfOf(wrong.body), action: 'totp-start' });
    const secret2 = /id="totp-secret">([A-Z2-7]+)</.exec(res.body)![1]!;
    expect(secret2).not.toBe(secret);
    const before = b.cookies.get('vigil_access');
    res = await account(b, {
      csrf: csrfOf(res.body),
      action: 'totp-confirm',
      code: generateSync({ secret: secret2 }),
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Your authenticator app is set up.');
    expect([...res.body.matchAll(/<li>[a-z2-9]{5}-[a-z2-9]{5}<\/li>/g)]).toHaveLength(10);
    expect(b.cookies.get('vigil_access')).not.toBe(before);
    expect((await f.services.identity.users.get(dan.id))!.mfa_enrolled_at).not.toBeNull();

    // Fresh after enrolling: a passkey can be added at once.
    const danKey = new SoftAuthenticator(PORTAL);
    const opts = optionsIn<CreateOptions>(res.body, 'passkey-create-options')!;
    res = await account(b, {
      csrf: csrfOf(res.body),
      action: 'passkey-add',
      name: '',
      passkey: JSON.stringify(danKey.create(opts)),
    });
    expect(res.body).toContain('Passkey &#34;Passkey&#34; added.');

    // Next sign-in asks for the second factor, offering both.
    const next = await atMfa({ username: 'dan.porter', password: STRONG_PASSWORD });
    expect(optionsIn(next.page.body, 'passkey-get-options')).not.toBeNull();
    const ok = await postPasskey(
      next.b,
      next.page,
      danKey.get(optionsIn<GetOptions>(next.page.body, 'passkey-get-options')!),
    );
    expect(ok.status).toBe(303);

    // An administrator's MFA reset removes the passkeys too.
    await f.services.identity.users.resetMfa('dan.porter');
    await expect.poll(() => f.services.access.portal.passkeys.count(dan.id)).toBe(0);
  });

  it('a registration answer for another challenge or origin, or a passkey of someone else, is refused', async () => {
    const b = new PortalBrowser(send);
    const eve = await signIn(f, 'eve.clerk', 'staff');
    expect(eve.username).toBe('eve.clerk');
    await b.signIn('/access', APP_URL, 'eve.clerk', STRONG_PASSWORD, undefined, CLIENT);
    let page = await account(b);
    const evil = new SoftAuthenticator(PORTAL);
    for (const [lie, why] of [
      [{ challenge: Buffer.alloc(32, 1).toString('base64url') }, /different or expired challenge/],
      [{ origin: 'https://evil.example' }, /made for a different site/],
      [{ rpId: 'evil.example' }, /made for a different site/],
    ] as const) {
      const opts = optionsIn<CreateOptions>(page.body, 'passkey-create-options')!;
      const res = await account(b, {
        csrf: csrfOf(page.body),
        action: 'passkey-add',
        passkey: JSON.stringify(evil.create(opts, lie)),
      });
      expect(res.status, why.source).toBe(401);
      expect(res.body).toMatch(why);
      page = res;
    }
    expect(
      await f.services.access.portal.passkeys.count((await f.services.identity.users.get('eve.clerk'))!.id),
    ).toBe(0);
    // Carol's removed key and Dan's key are not Eve's: Eve has none, so none is offered or accepted.
    const res = await account(b, { csrf: csrfOf(page.body), action: 'passkey-remove', id: 'not-hers' });
    expect(res.status).toBe(404);
    expect(res.body).toMatch(/No such passkey/);
  });

  it('forms without the right CSRF token are refused; the security page needs a signed-in session', async () => {
    const { b, page } = await atMfa(carol);
    const bad = await b.request('POST', '/access/login', CLIENT, {
      step: 'mfa',
      csrf: 'forged',
      rd: APP_URL,
      passkey: '{}',
    });
    expect(bad.status).toBe(403);
    expect(bad.body).toMatch(/form expired/);
    const noCsrf = await account(b, { action: 'recovery-codes' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body).toMatch(/form expired/);
    // Half signed in (waiting for MFA): no security page.
    const half = await account(b);
    expect(half.status).toBe(303);
    expect(half.headers.location).toBe('/access/login');
    const halfPost = await account(b, { csrf: csrfOf(page.body), action: 'recovery-codes' });
    expect(halfPost.status).toBe(303);
    // Nobody at all.
    const anon = new PortalBrowser(send);
    expect((await account(anon)).status).toBe(303);
    // An unknown action is a 400, not a crash.
    const odd = await account(b, { csrf: csrfOf(page.body), action: 'drop-tables' });
    expect(odd.status).toBe(400);
  });
});
