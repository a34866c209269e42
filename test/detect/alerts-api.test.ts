/**
 * The alerts and cases API over HTTP (in-process): analysts list, filter, open, bulk-acknowledge,
 * assign, annotate and group alerts into cases; privacy officers read only; other roles are
 * refused. Hostile input (bad ids, unknown statuses, huge notes, oversized bodies) gets a clear
 * 400 or 413 naming the field, and every change reaches the event log. The OCSF export is a JSON
 * array of Detection Findings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/core/index.js';
import type { Alert } from '../../src/detect/index.js';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';

const T0 = Date.parse('2026-06-02T10:00:00.000Z');

describe('alerts and cases API', () => {
  let f: ServerFixture;
  let ana: Browser;
  let pia: Browser;
  let sam: Browser;
  let anaId = '';

  beforeAll(async () => {
    f = await serverFixture();
    ana = await signIn(f, 'ana.analyst', 'analyst');
    pia = await signIn(f, 'pia.privacy', 'privacy-officer');
    sam = await signIn(f, 'sam.staff', 'staff');
    anaId = (await f.services.identity.users.get('ana.analyst'))!.id;
    // Alerts raised the way the server raises them: events through the detector.
    const lockout = (user: string, s: number) =>
      makeEvent({ kind: 'auth.lockout', source: 'identity', user: { name: user } }, new Date(T0 + s * 1000));
    await f.services.detect.detector.handle([
      lockout('eve', 0),
      lockout('bob', 1),
      lockout('eve', 2),
      lockout('carol', 3),
    ]);
    await f.services.detect.alerts.record([
      {
        time: new Date(T0 + 10_000).toISOString(),
        ruleId: 'smb-from-pump',
        ruleTitle: 'SMB from a medical device',
        level: 'high',
        eventIds: ['ev-smb'],
        dedupKey: 'smb-from-pump|10.20.0.5',
        tags: ['attack.lateral-movement', 'attack.t1021.002'],
        evidence: [{ id: 'ev-smb', kind: 'net.flow', net: { srcIp: '10.20.0.5', dstPort: 445 } }],
      },
    ]);
  });
  afterAll(() => f.close());

  const get = (who: Browser, url: string) => f.app.inject({ method: 'GET', url, ...as(who) });
  const send = (who: Browser, method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    f.app.inject({ method, url, ...as(who), payload: payload as object });
  const list = async (query = '') =>
    (await get(ana, `/api/alerts${query}`)).json<{ alerts: Alert[]; total: number }>();

  it('lists alerts, deduplicated, with filters; refuses bad filters with 400', async () => {
    const all = await list();
    expect(all.total).toBe(4);
    const eve = all.alerts.find((a) => a.entity === 'eve')!;
    expect(eve).toMatchObject({
      ruleTitle: 'Vigil - Account locked out',
      count: 2,
      status: 'new',
      level: 'medium',
    });
    expect(eve.tags).toContain('attack.t1110');
    expect((await list('?level=high')).alerts.map((a) => a.ruleId)).toEqual(['smb-from-pump']);
    expect((await list('?q=CAROL')).alerts.map((a) => a.entity)).toEqual(['carol']);
    expect((await list('?status=new,acknowledged&limit=2')).alerts).toHaveLength(2);
    expect((await list(`?ruleId=${eve.ruleId}`)).total).toBe(3);

    for (const bad of [
      '?status=open',
      '?status=new,closed',
      '?level=severe',
      '?limit=0',
      '?limit=9999',
      '?assignee=bob',
      '?nope=1',
      '?since=yesterday',
    ]) {
      const res = await get(ana, `/api/alerts${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe('BAD_REQUEST');
    }
    const rules = (await get(ana, '/api/alerts/rules')).json().rules;
    expect(rules.map((r: { alerts: number }) => r.alerts).sort()).toEqual([1, 3]);
  });

  it('opens one alert with its evidence and timeline; bad and unknown ids are 400 and 404', async () => {
    const smb = (await list('?q=smb')).alerts[0]!;
    const res = await get(pia, `/api/alerts/${smb.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: smb.id,
      evidence: [{ id: 'ev-smb', net: { dstPort: 445 } }],
      timeline: [],
    });
    expect((await get(ana, '/api/alerts/not-an-id')).statusCode).toBe(400);
    expect((await get(ana, `/api/alerts/${'x'.repeat(150)}`)).statusCode).toBe(400);
    const missing = await get(ana, '/api/alerts/0190a000-0000-7000-8000-0000000000ff');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
  });

  it('bulk-acknowledges and assigns to me, all or none; adds notes; refuses hostile input', async () => {
    const { alerts } = await list('?status=new');
    const ids = alerts.filter((a) => a.level === 'medium').map((a) => a.id);
    let res = await send(ana, 'POST', '/api/alerts/bulk', { ids, status: 'acknowledged', assignee: anaId });
    expect(res.statusCode).toBe(200);
    expect(res.json().alerts.map((a: Alert) => [a.status, a.assignee, a.statusChangedBy])).toEqual(
      ids.map(() => ['acknowledged', anaId, anaId]),
    );
    expect((await list(`?assignee=me&status=acknowledged`)).total).toBe(3);

    // All or none: one unknown id and nothing changes.
    res = await send(ana, 'POST', '/api/alerts/bulk', {
      ids: [ids[0], '0190a000-0000-7000-8000-0000000000ff'],
      status: 'resolved',
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.details.missing).toEqual(['0190a000-0000-7000-8000-0000000000ff']);
    expect((await list('?status=resolved')).total).toBe(0);

    const bad: Array<[unknown, RegExp]> = [
      [{ ids, status: 'closed' }, /status/],
      [{ ids: [], status: 'resolved' }, /ids/],
      [{ ids: ['../../etc/passwd'], status: 'resolved' }, /ids/],
      [{ ids: Array(501).fill(ids[0]), status: 'resolved' }, /ids/],
      [{ ids }, /status/],
      [{ ids, status: 'resolved', extra: 1 }, /extra|Unrecognized/i],
      [{ ids, assignee: 'someone' }, /assignee/],
    ];
    for (const [body, field] of bad) {
      res = await send(ana, 'POST', '/api/alerts/bulk', body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.json().error.message).toMatch(field);
    }
    // A real user who cannot work alerts is refused as assignee.
    const samId = (await f.services.identity.users.get('sam.staff'))!.id;
    res = await send(ana, 'POST', `/api/alerts/${ids[0]}/assign`, { assignee: samId });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.field).toBe('assignee');

    res = await send(ana, 'POST', `/api/alerts/${ids[0]}/notes`, {
      text: 'Locked out after a password change; called the user.',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().note).toMatchObject({ action: 'note', actor: { id: anaId, name: 'ana.analyst' } });
    for (const text of ['', '   ', 'x'.repeat(4001)]) {
      res = await send(ana, 'POST', `/api/alerts/${ids[0]}/notes`, { text });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.field).toMatch(/text/);
    }
    res = await f.app.inject({
      method: 'POST',
      url: `/api/alerts/${ids[0]}/notes`,
      ...as(ana),
      headers: { ...as(ana).headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ text: 'y'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.statusCode).toBe(413);

    const detail = (await get(ana, `/api/alerts/${ids[0]}`)).json();
    expect(detail.timeline.map((e: { action: string }) => e.action)).toEqual(['status', 'assigned', 'note']);
    res = await send(ana, 'POST', `/api/alerts/${ids[0]}/status`, { status: 'false-positive' });
    expect(res.json()).toMatchObject({ status: 'false-positive' });

    // Every change reached the event log.
    const logged = async () =>
      (await f.services.activity.recent(200, 'detect.alert.updated')).filter(
        (e) => e.user?.name === 'ana.analyst',
      );
    for (let i = 0; i < 100 && (await logged()).length < 8; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await logged()).length).toBeGreaterThanOrEqual(8);
  });

  it('lets privacy officers read but not change, and refuses other roles', async () => {
    const id = (await list()).alerts[0]!.id;
    expect((await get(pia, '/api/alerts')).statusCode).toBe(200);
    expect((await get(pia, '/api/cases')).statusCode).toBe(200);
    for (const [method, url, body] of [
      ['POST', '/api/alerts/bulk', { ids: [id], status: 'resolved' }],
      ['POST', `/api/alerts/${id}/notes`, { text: 'hi' }],
      ['POST', '/api/cases', { title: 'x' }],
    ] as const) {
      const res = await send(pia, method, url, body);
      expect(res.statusCode, url).toBe(403);
    }
    for (const url of ['/api/alerts', '/api/cases', `/api/alerts/${id}`, '/api/alerts/export.ocsf']) {
      expect((await get(sam, url)).statusCode, url).toBe(403);
    }
    expect((await get(pia, '/api/alerts/outputs')).statusCode).toBe(403);
    expect((await get(ana, '/api/alerts/outputs')).json()).toEqual({ outputs: [] });
    const people = (await get(ana, '/api/alerts/assignees'))
      .json()
      .people.map((p: { username: string }) => p.username);
    expect(people).toContain('ana.analyst');
    expect(people).not.toContain('sam.staff');
    expect(people).not.toContain('pia.privacy');
  });

  it('opens a case from alerts, changes it, and keeps its timeline', async () => {
    const { alerts } = await list();
    const smb = alerts.find((a) => a.ruleId === 'smb-from-pump')!;
    const eve = alerts.find((a) => a.entity === 'eve')!;
    const bob = alerts.find((a) => a.entity === 'bob')!;
    let res = await send(ana, 'POST', '/api/cases', {
      title: 'Pump 7 and lockouts',
      alertIds: [smb.id, eve.id],
    });
    expect(res.statusCode).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({
      title: 'Pump 7 and lockouts',
      severity: 'high',
      severityAuto: true,
      status: 'open',
      alertCount: 2,
    });

    res = await send(ana, 'POST', '/api/cases', { title: 'Another', alertIds: [eve.id] });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('CONFLICT');
    expect((await get(ana, '/api/cases')).json().total).toBe(1); // nothing half-made

    res = await send(ana, 'POST', `/api/cases/${c.id}/alerts`, { alertIds: [bob.id] });
    expect(res.json().alertCount).toBe(3);
    res = await send(ana, 'DELETE', `/api/cases/${c.id}/alerts/${bob.id}`);
    expect(res.json().alertCount).toBe(2);
    res = await send(ana, 'PATCH', `/api/cases/${c.id}`, {
      status: 'in-progress',
      assignee: anaId,
      severity: 'critical',
    });
    expect(res.json()).toMatchObject({
      status: 'in-progress',
      assignee: anaId,
      severity: 'critical',
      severityAuto: false,
    });
    res = await send(ana, 'POST', `/api/cases/${c.id}/notes`, { text: 'Pump isolated by biomed.' });
    expect(res.statusCode).toBe(201);
    for (const [method, url, body] of [
      ['PATCH', `/api/cases/${c.id}`, { status: 'done' }],
      ['PATCH', `/api/cases/${c.id}`, { title: '' }],
      ['PATCH', `/api/cases/${c.id}`, { severity: 'extreme' }],
      ['POST', '/api/cases', { title: 't'.repeat(201) }],
      ['POST', '/api/cases', { title: 'x', alertIds: ['nope'] }],
      ['POST', `/api/cases/${c.id}/notes`, { text: 'z'.repeat(5000) }],
    ] as const) {
      res = await send(ana, method, url, body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
    expect(
      (await send(ana, 'PATCH', '/api/cases/0190a000-0000-7000-8000-0000000000ff', { status: 'closed' }))
        .statusCode,
    ).toBe(404);

    const detail = (await get(pia, `/api/cases/${c.id}`)).json();
    expect(detail.alerts.map((a: Alert) => a.id).sort()).toEqual([smb.id, eve.id].sort());
    expect(detail.timeline.map((e: { action: string }) => e.action)).toEqual([
      'created',
      'alerts-added',
      'alerts-added',
      'alert-removed',
      'status',
      'assigned',
      'severity',
      'note',
    ]);
    expect((await list(`?caseId=${c.id}`)).total).toBe(2);
    expect(
      (await get(ana, '/api/cases?status=in-progress')).json().cases.map((x: { id: string }) => x.id),
    ).toEqual([c.id]);
  });

  it('documents every alert and case route in the OpenAPI document', async () => {
    const doc = (await get(ana, '/api/openapi.json')).json();
    for (const p of [
      '/api/alerts',
      '/api/alerts/{id}',
      '/api/alerts/bulk',
      '/api/alerts/export.ocsf',
      '/api/cases',
      '/api/cases/{id}',
    ])
      expect(doc.paths[p], p).toBeDefined();
    expect(doc.paths['/api/alerts/bulk'].post.requestBody).toBeDefined();
  });

  it('exports alerts as a JSON array of OCSF Detection Findings', async () => {
    const res = await get(pia, '/api/alerts/export.ocsf?level=medium');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toMatch(
      /attachment; filename="vigil-alerts-\d{4}-\d{2}-\d{2}\.ocsf\.json"/,
    );
    const findings = res.json() as Array<Record<string, unknown>>;
    expect(findings).toHaveLength(3);
    for (const x of findings) {
      expect(x).toMatchObject({ class_uid: 2004, category_uid: 2, metadata: { product: { name: 'Vigil' } } });
      expect(x.type_uid).toBe(200400 + (x.activity_id as number));
    }
    const evidence = findings.flatMap((x) => (x.evidences as unknown[] | undefined) ?? []);
    expect(evidence.length).toBeGreaterThan(0);
    expect((await get(pia, '/api/alerts/export.ocsf?level=nope')).statusCode).toBe(400);
    const empty = await get(pia, '/api/alerts/export.ocsf?q=no-such-thing');
    expect(empty.json()).toEqual([]);
  });
});
