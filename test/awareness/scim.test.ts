/**
 * SCIM 2.0 Users over HTTP as an identity provider drives it: an admin API token only, SCIM's
 * error shape everywhere, exact filters or a clear invalidFilter, PatchOp as Entra ID and Okta send
 * it, and a deactivation that terminates the person and ends their console sessions.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCIM_CORE_USER, SCIM_ENTERPRISE_USER, SCIM_MESSAGES } from '../../src/awareness/index.js';
import type { VigilEvent } from '../../src/core/index.js';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';

const PATCH = SCIM_MESSAGES.patch;

describe('SCIM 2.0 Users', () => {
  let f: ServerFixture;
  let token = '';
  let staffToken = '';
  let admin: Browser;
  const events: VigilEvent[] = [];

  beforeAll(async () => {
    f = await serverFixture();
    token = (await f.services.identity.tokens.create('entra-id', 'admin')).secret;
    staffToken = (await f.services.identity.tokens.create('staff-token', 'staff')).secret;
    admin = await signIn(f, 'ada.admin', 'admin');
    await f.services.bus.subscribe({
      group: 'scim-test',
      subjects: ['vigil.awareness.>', 'vigil.user.>'],
      handler: async (batch) => {
        events.push(...batch);
      },
    });
  });
  afterAll(() => f.close());

  const scim = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    bearer = token,
  ): Promise<LightMyRequestResponse> =>
    f.app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(payload !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      },
      ...(payload !== undefined
        ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }
        : {}),
    });

  const expectError = (res: LightMyRequestResponse, status: number, scimType?: string) => {
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    const body = res.json();
    expect(body.schemas).toEqual([SCIM_MESSAGES.error]);
    expect(body.status).toBe(String(status));
    if (scimType) expect(body.scimType).toBe(scimType);
    else expect(body.scimType).toBeUndefined();
    expect(typeof body.detail).toBe('string');
    return body as { detail: string };
  };

  const settle = async () => {
    for (let i = 0; i < 200 && f.services.bus.stats().queued > 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
  };

  const user = (userName: string, extra: Record<string, unknown> = {}) => ({
    schemas: [SCIM_CORE_USER, SCIM_ENTERPRISE_USER],
    userName,
    name: { givenName: 'Nora', familyName: 'Nurse' },
    emails: [{ value: userName, type: 'work', primary: true }],
    title: 'Charge Nurse',
    active: true,
    [SCIM_ENTERPRISE_USER]: { department: 'ICU', employeeNumber: '4711' },
    ...extra,
  });

  it('admits only an admin API token, answering in SCIM error shape', async () => {
    const none = await f.app.inject({ method: 'GET', url: '/scim/v2/Users' });
    expectError(none, 401);
    expectError(await scim('GET', '/Users', undefined, 'vgl_not-a-token'), 401);
    expectError(await scim('GET', '/Users', undefined, staffToken), 403);
    // A console session of an admin is refused too: no browser drives provisioning.
    const session = await f.app.inject({ method: 'GET', url: '/scim/v2/Users', ...as(admin) });
    expectError(session, 403);
    expectError(await scim('GET', '/Groups'), 404);
    expect(f.routes.filter((r) => r.url.startsWith('/scim/')).every((r) => r.access !== 'public')).toBe(true);
  });

  it('serves the discovery documents', async () => {
    const spc = await scim('GET', '/ServiceProviderConfig');
    expect(spc.statusCode).toBe(200);
    expect(spc.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(spc.json()).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      sort: { supported: false },
    });
    const types = (await scim('GET', '/ResourceTypes')).json();
    expect(types.Resources[0]).toMatchObject({ id: 'User', endpoint: '/Users', schema: SCIM_CORE_USER });
    const schemas = (await scim('GET', '/Schemas')).json();
    expect(schemas.Resources.map((s: { id: string }) => s.id)).toEqual([
      SCIM_CORE_USER,
      SCIM_ENTERPRISE_USER,
    ]);
    expect((await scim('GET', `/Schemas/${SCIM_ENTERPRISE_USER}`)).statusCode).toBe(200);
  });

  let noraId = '';
  let bossId = '';

  it('creates, reads and lists users with an exact filter and paging', async () => {
    const boss = await scim('POST', '/Users', {
      schemas: [SCIM_CORE_USER],
      userName: 'boss@h.example',
      displayName: 'Bea Boss',
    });
    expect(boss.statusCode, boss.body).toBe(201);
    bossId = boss.json().id;
    const res = await scim(
      'POST',
      '/Users',
      user('Nora@h.example', { [SCIM_ENTERPRISE_USER]: { department: 'ICU', manager: { value: bossId } } }),
    );
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    noraId = created.id;
    expect(created).toMatchObject({
      userName: 'Nora@h.example',
      name: { formatted: 'Nora Nurse', givenName: 'Nora', familyName: 'Nurse' },
      title: 'Charge Nurse',
      active: true,
      [SCIM_ENTERPRISE_USER]: { department: 'ICU', manager: { value: bossId } },
      meta: { resourceType: 'User', location: `http://localhost:80/scim/v2/Users/${noraId}` },
    });
    expect(await f.services.awareness.directory.get(noraId)).toMatchObject({
      name: 'Nora Nurse',
      email: 'Nora@h.example',
      jobRole: 'Charge Nurse',
      department: 'ICU',
      managerId: bossId,
      status: 'active',
    });
    expect((await scim('GET', `/Users/${noraId}`)).json().id).toBe(noraId);

    // userName is case-insensitive (RFC 7643 §4.1.1).
    const found = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "nora@H.EXAMPLE"')}`);
    expect(found.json()).toMatchObject({
      schemas: [SCIM_MESSAGES.list],
      totalResults: 1,
      startIndex: 1,
      itemsPerPage: 1,
    });
    expect(found.json().Resources[0].id).toBe(noraId);
    const missing = await scim(
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "nobody@h.example"')}`,
    );
    expect(missing.json()).toMatchObject({ totalResults: 0, Resources: [] });
    const both = await scim(
      'GET',
      `/Users?filter=${encodeURIComponent(`${SCIM_ENTERPRISE_USER}:department eq "icu" and active eq true`)}`,
    );
    expect(both.json().totalResults).toBe(1);
    const page = await scim('GET', '/Users?startIndex=2&count=1');
    expect(page.json()).toMatchObject({ totalResults: 2, startIndex: 2, itemsPerPage: 1 });
    expect(page.json().Resources[0].id).toBe(noraId);
    expect((await scim('GET', '/Users?count=0')).json()).toMatchObject({ totalResults: 2, itemsPerPage: 0 });
  });

  it('stores, returns and filters externalId exactly, and PATCH/PUT change or clear it', async () => {
    const res = await scim('POST', '/Users', user('ext@h.example', { externalId: 'Entra-0f3a-AB12' }));
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    expect(res.json().externalId).toBe('Entra-0f3a-AB12');
    expect((await scim('GET', `/Users/${id}`)).json().externalId).toBe('Entra-0f3a-AB12');
    expect((await f.services.awareness.directory.get(id))!.externalId).toBe('Entra-0f3a-AB12');
    const byExt = (v: string) => scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${v}"`)}`);
    const found = (await byExt('Entra-0f3a-AB12')).json();
    expect(found.totalResults).toBe(1);
    expect(found.Resources[0]).toMatchObject({ id, externalId: 'Entra-0f3a-AB12' });
    // caseExact (RFC 7643 §3.1): another case is another id.
    expect((await byExt('entra-0f3a-ab12')).json().totalResults).toBe(0);
    const both = await scim(
      'GET',
      `/Users?filter=${encodeURIComponent('externalId eq "Entra-0f3a-AB12" and userName eq "EXT@h.example"')}`,
    );
    expect(both.json().totalResults).toBe(1);
    // Users without one do not show the attribute.
    expect((await scim('GET', `/Users/${noraId}`)).json()).not.toHaveProperty('externalId');

    let patched = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'externalId', value: 'okta-00u1' }],
    });
    expect(patched.json().externalId).toBe('okta-00u1');
    expect((await byExt('okta-00u1')).json().totalResults).toBe(1);
    expect((await byExt('Entra-0f3a-AB12')).json().totalResults).toBe(0);
    patched = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', value: { externalId: 'okta-00u2' } }],
    });
    expect(patched.json().externalId).toBe('okta-00u2');
    patched = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'remove', path: 'externalId' }],
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).not.toHaveProperty('externalId');
    expect((await f.services.awareness.directory.get(id))!.externalId).toBeNull();

    // PUT replaces: given, it is stored; left out, it is cleared.
    const put = await scim('PUT', `/Users/${id}`, { ...user('ext@h.example'), externalId: 'put-1' });
    expect(put.json().externalId).toBe('put-1');
    const cleared = await scim('PUT', `/Users/${id}`, user('ext@h.example'));
    expect(cleared.json()).not.toHaveProperty('externalId');

    // Bad values are refused and change nothing.
    for (const value of [42, 'line\r\nbreak', 'x'.repeat(300)])
      expectError(
        await scim('PATCH', `/Users/${id}`, {
          schemas: [PATCH],
          Operations: [{ op: 'replace', path: 'externalId', value }],
        }),
        400,
        'invalidValue',
      );
    expectError(
      await scim('POST', '/Users', user('ext2@h.example', { externalId: { id: 1 } })),
      400,
      'invalidValue',
    );
    expect((await f.services.awareness.directory.get(id))!.externalId).toBeNull();
    // The discovery document describes it.
    const schema = (await scim('GET', `/Schemas/${SCIM_CORE_USER}`)).json();
    expect(schema.attributes.find((a: { name: string }) => a.name === 'externalId')).toMatchObject({
      caseExact: true,
      mutability: 'readWrite',
    });
    // Removed again so the counts of the later tests hold.
    await f.services.database.db
      .withTables<{ awareness_people: { id: string } }>()
      .deleteFrom('awareness_people')
      .where('id', '=', id)
      .execute();
  });

  it('refuses filters it cannot answer exactly, never answering a wrong list', async () => {
    const cases: Array<[string, RegExp]> = [
      ['userName co "nora"', /operator "co" is not supported/],
      ['userName sw "n"', /"sw" is not supported/],
      ['userName eq "a" or userName eq "b"', /"or" is not supported/],
      ['not (userName eq "a")', /not/],
      ['(userName eq "a")', /grouping/],
      ['emails[type eq "work"].value eq "a"', /value paths/],
      ['nickName eq "nora"', /cannot be filtered/],
      ['externalId co "entra"', /"co" is not supported/],
      ['userName eq nora', /quoted string/],
      ['userName eq "unterminated', /not closed/],
      ['userName foo "a"', /unknown operator/],
      ['userName eq "a" and', /attribute name/],
      ['userName', /operator/],
      ['active eq "yes"', /true or false/],
      ['userName eq "a"; DROP TABLE awareness_people', /unexpected character/],
      ['x'.repeat(5000), /longer than/],
      ['', /empty/],
    ];
    for (const [filter, message] of cases) {
      const res = await scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
      expect(expectError(res, 400, 'invalidFilter').detail, filter).toMatch(message);
    }
    expectError(await scim('GET', '/Users?filter=a&filter=b'), 400, 'invalidFilter');
    expectError(await scim('GET', '/Users?sortBy=userName'), 400, 'invalidValue');
    expectError(await scim('GET', '/Users?count=ten'), 400, 'invalidValue');
    expect(await f.services.awareness.directory.count()).toBe(2);
  });

  it('refuses duplicates, unknown attributes, bad values and huge bodies', async () => {
    expectError(await scim('POST', '/Users', user('NORA@h.example')), 409, 'uniqueness');
    expect(
      expectError(
        await scim('POST', '/Users', user('x@h.example', { favouriteColour: 'blue' })),
        400,
        'invalidPath',
      ).detail,
    ).toMatch(/favouritecolour/);
    expectError(
      await scim('POST', '/Users', user('x@h.example', { 'urn:example:custom:2.0:User': { badge: 1 } })),
      400,
      'invalidSyntax',
    );
    expectError(
      await scim('POST', '/Users', { ...user('x@h.example'), schemas: ['urn:other'] }),
      400,
      'invalidSyntax',
    );
    expectError(await scim('POST', '/Users', { userName: 'x@h.example' }), 400, 'invalidSyntax');
    expectError(await scim('POST', '/Users', user('not-an-email')), 400, 'invalidValue');
    expectError(
      await scim('POST', '/Users', user('x@h.example', { name: { formatted: 'Eve\r\nBcc: a@b.c' } })),
      400,
      'invalidValue',
    );
    expectError(
      await scim(
        'POST',
        '/Users',
        user('x@h.example', { emails: [{ value: 'other@h.example', primary: true }] }),
      ),
      400,
      'invalidValue',
    );
    expectError(
      await scim(
        'POST',
        '/Users',
        user('x@h.example', { [SCIM_ENTERPRISE_USER]: { manager: { value: 'no-such' } } }),
      ),
      400,
      'invalidValue',
    );
    expectError(await scim('POST', '/Users', user('x@h.example', { active: 'maybe' })), 400, 'invalidValue');
    expectError(await scim('POST', '/Users', '{"schemas": ['), 400, 'invalidSyntax');
    expectError(await scim('POST', '/Users', '[1,2]'), 400, 'invalidSyntax');
    const huge = await scim('POST', '/Users', user('big@h.example', { title: 'x'.repeat(200_000) }));
    expectError(huge, 413);
    expectError(await scim('GET', `/Users/${'9'.repeat(500)}`), 404);
    expect(await f.services.awareness.directory.count()).toBe(2);
  });

  it('patches as identity providers do, and refuses immutable or unknown paths', async () => {
    let res = await scim('PATCH', `/Users/${noraId}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Replace', path: 'title', value: 'Ward Manager' },
        { op: 'replace', path: `${SCIM_ENTERPRISE_USER}:department`, value: 'Emergency' },
        { op: 'add', path: 'name.familyName', value: 'Night' },
        { op: 'replace', value: { displayName: 'ignored when name changes', 'name.givenName': 'Norah' } },
        { op: 'remove', path: `${SCIM_ENTERPRISE_USER}:manager` },
        { op: 'add', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0100' },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: { formatted: 'Norah Night' },
      title: 'Ward Manager',
      [SCIM_ENTERPRISE_USER]: { department: 'Emergency' },
    });
    expect(res.json()[SCIM_ENTERPRISE_USER].manager).toBeUndefined();

    const before = JSON.stringify(await f.services.awareness.directory.get(noraId));
    for (const [ops, status, type] of [
      [[{ op: 'replace', path: 'id', value: 'mine' }], 400, 'mutability'],
      [[{ op: 'replace', value: { id: 'mine' } }], 400, 'mutability'],
      [[{ op: 'replace', path: 'meta.created', value: '2000-01-01' }], 400, 'mutability'],
      [[{ op: 'remove', path: 'userName' }], 400, 'mutability'],
      [[{ op: 'remove' }], 400, 'noTarget'],
      [[{ op: 'replace', path: 'shoeSize', value: 44 }], 400, 'invalidPath'],
      [[{ op: 'replace', path: 'emails[type eq "home"].value', value: 'a@b.example' }], 400, 'invalidPath'],
      [[{ op: 'move', path: 'title', value: 'x' }], 400, 'invalidSyntax'],
      [
        [
          { op: 'replace', path: 'title', value: 'ok' },
          { op: 'replace', path: 'active', value: 'perhaps' },
        ],
        400,
        'invalidValue',
      ],
      [[{ op: 'replace', path: 'userName', value: 'boss@h.example' }], 409, 'uniqueness'],
      [
        Array.from({ length: 101 }, () => ({ op: 'replace', path: 'title', value: 'x' })),
        400,
        'invalidValue',
      ],
    ] as const) {
      res = await scim('PATCH', `/Users/${noraId}`, { schemas: [PATCH], Operations: ops });
      expectError(res, status, type);
    }
    expectError(await scim('PATCH', `/Users/${noraId}`, { Operations: [] }), 400, 'invalidSyntax');
    // A failed request changes nothing, not even its valid first operations.
    expect(JSON.stringify(await f.services.awareness.directory.get(noraId))).toBe(before);
  });

  it('replaces with PUT, clearing what is left out and refusing a different id', async () => {
    expectError(
      await scim('PUT', `/Users/${noraId}`, { ...user('Nora@h.example'), id: bossId }),
      400,
      'mutability',
    );
    const res = await scim('PUT', `/Users/${noraId}`, {
      schemas: [SCIM_CORE_USER],
      id: noraId,
      userName: 'nora.night@h.example',
      name: { formatted: 'Nora Night' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await f.services.awareness.directory.get(noraId)).toMatchObject({
      email: 'nora.night@h.example',
      name: 'Nora Night',
      jobRole: null,
      department: null,
      status: 'active',
    });
  });

  it('terminates on active=false and on DELETE, publishing the event and ending console sessions', async () => {
    const staff = await signIn(f, 'nora.night', 'staff');
    const users = await f.services.identity.users.list();
    const uid = users.find((u) => u.username === 'nora.night')!.id;
    await f.services.awareness.directory.linkConsoleUser(noraId, uid);
    const me = async () =>
      (await f.app.inject({ method: 'GET', url: '/api/auth/session', ...as(staff) })).json().state;
    expect(await me()).toBe('ok');

    const res = await scim('PATCH', `/Users/${noraId}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().active).toBe(false);
    await settle();
    expect((await f.services.awareness.directory.get(noraId))!.status).toBe('terminated');
    const terminated = events.filter((e) => e.kind === 'awareness.person.terminated');
    expect(terminated).toHaveLength(1);
    expect(terminated[0]!.data).toMatchObject({ personId: noraId, consoleUserId: uid, via: 'api' });
    expect(terminated[0]!.data!.actor).toMatchObject({ name: 'token:entra-id', role: 'admin' });
    expect(events.some((e) => e.kind === 'user.disabled' && e.data?.userId === uid)).toBe(true);
    expect((await f.services.identity.users.get(uid))!.status).toBe('disabled');
    expect(await me()).toBe('none');

    // Replaying the same deactivation publishes nothing new; DELETE always does (a retry of a revocation).
    await scim('PATCH', `/Users/${noraId}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    const del = await scim('DELETE', `/Users/${noraId}`);
    expect(del.statusCode).toBe(204);
    await settle();
    expect(events.filter((e) => e.kind === 'awareness.person.terminated')).toHaveLength(2);
    expect((await scim('GET', `/Users/${noraId}`)).json().active).toBe(false);
    expect(
      (await scim('GET', `/Users?filter=${encodeURIComponent('active eq false')}`)).json().totalResults,
    ).toBe(1);
    expectError(await scim('DELETE', '/Users/no-such-user'), 404);

    // Re-activation (a rehire) makes the person active again.
    const back = await scim('PATCH', `/Users/${noraId}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    });
    expect(back.json().active).toBe(true);
  });

  it('creates a user who has already left as terminated, publishing the event', async () => {
    const res = await scim('POST', '/Users', user('gone@h.example', { active: false }));
    expect(res.statusCode, res.body).toBe(201);
    await settle();
    expect(
      events.some((e) => e.kind === 'awareness.person.terminated' && e.data?.email === 'gone@h.example'),
    ).toBe(true);
  });
});
