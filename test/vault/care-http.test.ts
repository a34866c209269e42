/**
 * Care-based access through HTTP: an admin links a console user to a Practitioner by NPI; the
 * clinician is refused a patient outside their care with a break-the-glass hint, declares an
 * emergency, reads, and the privacy officer reviews the grant. Hostile and malformed bodies get a
 * clear 400 and write nothing; roles that may not declare or review are refused.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';

const NPI = 'http://hl7.org/fhir/sid/us-npi';

describe('care-based access over HTTP', () => {
  let f: ServerFixture;
  let doc: Browser;
  let officer: Browser;
  let admin: Browser;
  let docId: string;

  beforeAll(async () => {
    f = await serverFixture();
    await f.services.vault.warmUp();
    doc = await signIn(f, 'dr.wilson', 'clinician');
    officer = await signIn(f, 'pia.privacy', 'privacy-officer');
    admin = await signIn(f, 'al.admin', 'admin');
    docId = (await f.services.identity.users.get('dr.wilson'))!.id;
    await f.services.vault.importBatch({ id: 'operator', role: 'admin' }, [
      { resourceType: 'Practitioner', id: 'wilson', identifier: [{ system: NPI, value: '3333333333' }] },
      { resourceType: 'Patient', id: 'p-cared', name: [{ family: 'Cared' }] },
      { resourceType: 'Patient', id: 'p-stranger', name: [{ family: 'Stranger' }] },
      {
        resourceType: 'Encounter',
        id: 'e-1',
        status: 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
        subject: { reference: 'Patient/p-cared' },
        participant: [{ individual: { reference: `Practitioner?identifier=${NPI}|3333333333` } }],
      },
    ]);
  }, 60_000);
  afterAll(() => f?.close());

  const call = (b: Browser, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    f.app.inject({ method, url, ...as(b), ...(payload !== undefined ? { payload: payload as object } : {}) });
  const grants = async () =>
    Number(
      (await sql<{ n: number }>`select count(*) as n from vault_break_glass`.execute(f.services.database.db))
        .rows[0]!.n,
    );

  it('links a user to a practitioner by NPI (admins only) and the link gives care', async () => {
    expect((await call(doc, 'GET', '/fhir/Patient/p-cared')).statusCode).toBe(403);
    let res = await call(doc, 'PUT', `/api/vault/staff-links/${docId}`, {
      practitioner: `${NPI}|3333333333`,
    });
    expect(res.statusCode).toBe(403);
    res = await call(admin, 'PUT', `/api/vault/staff-links/${docId}`, { practitioner: `${NPI}|3333333333` });
    expect(res.statusCode).toBe(200);
    expect(res.json().link).toMatchObject({ userId: docId, practitionerId: 'wilson' });
    res = await call(admin, 'GET', '/api/vault/staff-links');
    expect(res.json().links).toHaveLength(1);
    expect((await call(doc, 'GET', '/fhir/Patient/p-cared')).statusCode).toBe(200);
    // The admin still reads no clinical data.
    expect((await call(admin, 'GET', '/fhir/Patient/p-cared')).statusCode).toBe(403);
  });

  it('refuses bad links clearly', async () => {
    for (const [url, body, status] of [
      ['/api/vault/staff-links/nobody', { practitioner: 'wilson' }, 404],
      [`/api/vault/staff-links/${docId}`, { practitioner: 'Practitioner/missing' }, 404],
      [`/api/vault/staff-links/${docId}`, { practitioner: `${NPI}|0000000000` }, 404],
      [`/api/vault/staff-links/${docId}`, { practitioner: '../../etc/passwd' }, 400],
      [`/api/vault/staff-links/${docId}`, { practitioner: 'wilson', extra: 1 }, 400],
      [`/api/vault/staff-links/${docId}`, { practitioner: 'x'.repeat(5000) }, 400],
    ] as const) {
      const res = await call(admin, 'PUT', url, body);
      expect(res.statusCode, `${url} ${JSON.stringify(body).slice(0, 60)}`).toBe(status);
      expect(res.json().error.message).toBeTruthy();
    }
  });

  it('tells a clinician outside care that they may break the glass; the grant works and is reviewed', async () => {
    let res = await call(doc, 'GET', '/fhir/Patient/p-stranger');
    expect(res.statusCode).toBe(403);
    const issue = res.json().issue[0];
    expect(issue.extension[0].valueBoolean).toBe(true);
    expect(issue.details.text).toMatch(/break-the-glass/);

    res = await call(doc, 'POST', '/api/vault/break-glass', {
      patientId: 'p-stranger',
      reason: 'Collapsed in the car park, treating in ED',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().grant).toMatchObject({ patientId: 'p-stranger', userId: docId });
    expect((await call(doc, 'GET', '/fhir/Patient/p-stranger')).statusCode).toBe(200);

    res = await call(officer, 'GET', '/api/vault/break-glass');
    expect(res.statusCode).toBe(200);
    expect(res.json().grants[0]).toMatchObject({ patientId: 'p-stranger', reason: /car park/ });
    expect((await call(doc, 'GET', '/api/vault/break-glass')).statusCode).toBe(403);
    expect((await call(admin, 'GET', '/api/vault/break-glass')).statusCode).toBe(403);
    res = await call(officer, 'GET', '/fhir/AuditEvent?_count=50');
    expect(JSON.stringify(res.json())).toContain('car park');
  });

  it('refuses malformed and hostile declarations without writing anything', async () => {
    const before = await grants();
    for (const [b, body, status] of [
      [doc, { patientId: 'p-stranger', reason: 'short' }, 400],
      [doc, { patientId: 'p-stranger' }, 400],
      [doc, { patientId: 'p-stranger', reason: 'x'.repeat(2000) }, 400],
      [doc, { patientId: "p'; drop table vault_audit;--", reason: 'Cardiac arrest, ward 4' }, 400],
      [doc, { patientId: 'missing', reason: 'Cardiac arrest, ward 4' }, 404],
      [doc, { patientId: 'p-stranger', reason: 'Cardiac arrest, ward 4', minutes: 9999 }, 400],
      [doc, '{"patientId":', 400],
      [admin, { patientId: 'p-stranger', reason: 'Cardiac arrest, ward 4' }, 403],
      [officer, { patientId: 'p-stranger', reason: 'Cardiac arrest, ward 4' }, 403],
    ] as const) {
      const res = await f.app.inject({
        method: 'POST',
        url: '/api/vault/break-glass',
        ...as(b),
        headers: { ...as(b).headers, 'content-type': 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(res.body).not.toMatch(/stack|at .*\.ts/);
    }
    expect(await grants()).toBe(before);
    expect((await f.services.vault.verifyAudit()).ok).toBe(true);
  });
});
