/**
 * The FHIR API through HTTP (`app.inject`): CRUD, versions, history, search and paging, Bundles,
 * validation and bad input as OperationOutcome with nothing written, role checks, audit entries for
 * every interaction, and no plaintext PHI in any vault column.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VAULT_TABLES } from '../../src/vault/index.js';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';

const FHIR = 'application/fhir+json';
const NAME = 'Zebulonia';
const FAMILY = 'Quixoteplum';

function patient(extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:mrn', value: 'MRN-778899' }],
    name: [{ family: FAMILY, given: [NAME] }],
    gender: 'female',
    birthDate: '1970-03-15',
    ...extra,
  };
}

function observation(patientId: string, date: string, code = '8867-4') {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
  };
}

describe('FHIR API', () => {
  let f: ServerFixture;
  let doc: Browser;
  let officer: Browser;
  let admin: Browser;

  beforeAll(async () => {
    f = await serverFixture();
    await f.services.vault.warmUp();
    doc = await signIn(f, 'dr.house', 'clinician');
    officer = await signIn(f, 'pat.privacy', 'privacy-officer');
    admin = await signIn(f, 'ada.admin', 'admin');
  }, 60_000);
  afterAll(() => f?.close());

  const call = (
    b: Browser,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
    headers = {},
  ) =>
    f.app.inject({
      method,
      url,
      ...as(b),
      headers: { ...as(b).headers, ...(body !== undefined ? { 'content-type': FHIR } : {}), ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
  const auditCount = async () =>
    Number(
      (await sql<{ n: number }>`select count(*) as n from vault_audit`.execute(f.services.database.db))
        .rows[0]!.n,
    );
  const resourceCount = async () =>
    Number(
      (await sql<{ n: number }>`select count(*) as n from vault_resources`.execute(f.services.database.db))
        .rows[0]!.n,
    );

  it('serves a public CapabilityStatement that lists the types and search parameters', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/fhir/metadata' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/fhir+json');
    const cs = res.json();
    expect(cs.resourceType).toBe('CapabilityStatement');
    const patientRes = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patientRes.searchParam.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining([
        'identifier',
        'name',
        'family',
        'given',
        'birthdate',
        'gender',
        '_id',
        '_lastUpdated',
      ]),
    );
    expect(cs.rest[0].resource.find((r: { type: string }) => r.type === 'AuditEvent').interaction).toEqual([
      { code: 'read' },
      { code: 'search-type' },
    ]);
  });

  it('creates, reads, updates with If-Match, vreads, deletes (410) and keeps history', async () => {
    const before = await auditCount();
    let res = await call(doc, 'POST', '/fhir/Patient', patient());
    expect(res.statusCode, res.body).toBe(201);
    const p = res.json();
    expect(p.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.meta.versionId).toBe('1');
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers.location).toContain(`/fhir/Patient/${p.id}/_history/1`);

    res = await call(doc, 'GET', `/fhir/Patient/${p.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().name[0].family).toBe(FAMILY);

    const updated = { ...p, gender: 'other' };
    res = await call(doc, 'PUT', `/fhir/Patient/${p.id}`, updated, { 'if-match': 'W/"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().meta.versionId).toBe('2');

    res = await call(doc, 'PUT', `/fhir/Patient/${p.id}`, updated, { 'if-match': 'W/"1"' });
    expect(res.statusCode).toBe(412);
    expect(res.json().resourceType).toBe('OperationOutcome');

    res = await call(doc, 'GET', `/fhir/Patient/${p.id}/_history/1`);
    expect(res.json().gender).toBe('female');

    res = await call(doc, 'DELETE', `/fhir/Patient/${p.id}`);
    expect(res.statusCode).toBe(204);
    res = await call(doc, 'GET', `/fhir/Patient/${p.id}`);
    expect(res.statusCode).toBe(410);
    expect(res.json().issue[0].code).toBe('deleted');

    res = await call(doc, 'GET', `/fhir/Patient/${p.id}/_history`);
    const h = res.json();
    expect(h.type).toBe('history');
    expect(h.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual([
      'W/"3"',
      'W/"2"',
      'W/"1"',
    ]);
    expect(h.entry[0].request.method).toBe('DELETE');

    res = await call(doc, 'GET', '/fhir/Patient/does-not-exist');
    expect(res.statusCode).toBe(404);
    expect(res.json().resourceType).toBe('OperationOutcome');
    // create, read, update, vread, delete, history; the failed update and the 404/410 reads wrote nothing.
    expect((await auditCount()) - before).toBe(6);
  });

  it('searches by the issue parameters, pages with opaque cursors and sorts by date', async () => {
    const res = await call(
      doc,
      'POST',
      '/fhir/Patient',
      patient({ identifier: [{ system: 'urn:mrn', value: 'S-1' }] }),
    );
    const pid = res.json().id as string;
    const dates = ['2024-01-05', '2024-03-01T10:00:00Z', '2023-12-31', '2024-02-10', '2024-02-11'];
    for (const d of dates)
      expect((await call(doc, 'POST', '/fhir/Observation', observation(pid, d))).statusCode).toBe(201);
    await call(doc, 'POST', '/fhir/Observation', observation(pid, '2024-02-12', '1234-5'));

    const search = async (qs: string) => {
      const r = await call(doc, 'GET', `/fhir/${qs}`);
      expect(r.statusCode, r.body).toBe(200);
      return r.json();
    };
    expect((await search('Patient?identifier=urn:mrn|S-1')).entry).toHaveLength(1);
    expect(
      (await search(`Patient?family=${FAMILY.toLowerCase()}&given=${NAME}`)).entry.length,
    ).toBeGreaterThanOrEqual(1);
    expect((await search('Patient?birthdate=1970-03&gender=female')).entry.length).toBeGreaterThanOrEqual(1);
    expect((await search(`Observation?patient=${pid}&code=http://loinc.org|8867-4`)).entry).toHaveLength(5);
    expect((await search(`Observation?subject=Patient/${pid}&code=1234-5`)).entry).toHaveLength(1);
    expect((await search(`Observation?patient=${pid}&date=2024-02`)).entry).toHaveLength(3);
    expect(
      (await search(`Observation?patient=${pid}&date=ge2024-02-11&date=lt2024-03-01`)).entry,
    ).toHaveLength(2);
    const sorted = await search(`Observation?patient=${pid}&_sort=-date&_count=2`);
    expect(
      sorted.entry.map((e: { resource: { effectiveDateTime: string } }) => e.resource.effectiveDateTime),
    ).toEqual(['2024-03-01T10:00:00Z', '2024-02-12']);
    // Paging: follow next links until the end; every resource exactly once.
    const seen: string[] = [];
    let url: string | undefined = `/fhir/Observation?patient=${pid}&_count=2`;
    while (url) {
      const page = await search(url.replace(/^.*\/fhir\//, ''));
      seen.push(...page.entry.map((e: { resource: { id: string } }) => e.resource.id));
      url = page.link.find((l: { relation: string }) => l.relation === 'next')?.url;
    }
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    expect((await search(`Observation?_lastUpdated=ge2000-01-01&patient=${pid}`)).entry).toHaveLength(6);

    // Searches are audited with the ids they returned.
    const last = await sql<{ action: string; search_result_ids: string }>`
      select action, search_result_ids from vault_audit order by seq desc limit 1`.execute(
      f.services.database.db,
    );
    expect(last.rows[0]!.action).toBe('search');
    expect(JSON.parse(last.rows[0]!.search_result_ids)).toHaveLength(6);

    for (const bad of [
      'Observation?foo=1',
      'Patient?name:contains=x',
      'Patient?_include=Patient:x',
      'Patient?_sort=name',
    ]) {
      const r = await call(doc, 'GET', `/fhir/${bad}`);
      expect(r.statusCode, bad).toBe(400);
      expect(r.json().issue[0].code).toBe('not-supported');
      expect(r.json().issue[0].details.text).toContain(bad.split('?')[1]!.split('=')[0]!.split(':')[0]);
    }
  });

  it('answers invalid resources, malformed JSON, wrong content types and broken Bundles with an OperationOutcome, writing nothing', async () => {
    const [resources, audits] = [await resourceCount(), await auditCount()];
    let res = await call(doc, 'POST', '/fhir/Patient', { resourceType: 'Patient', birthDate: '1970-13-45' });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['Patient.birthDate']);
    res = await call(doc, 'POST', '/fhir/Observation', { resourceType: 'Observation' });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue.flatMap((i: { expression?: string[] }) => i.expression ?? [])).toContain(
      'Observation.status',
    );
    res = await call(doc, 'POST', '/fhir/Patient', '{"resourceType": "Patient",');
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].details.coding[0].code).toBe('INVALID_JSON');
    res = await f.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      ...as(doc),
      headers: { ...as(doc).headers, 'content-type': 'text/xml' },
      payload: '<Patient/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().resourceType).toBe('OperationOutcome');
    res = await call(
      doc,
      'POST',
      '/fhir/Patient',
      patient({ text: { status: 'generated', div: 'x'.repeat(2_000_000) } }),
    );
    expect(res.statusCode).toBe(413);
    expect(res.json().resourceType).toBe('OperationOutcome');
    res = await call(doc, 'POST', '/fhir', { resourceType: 'Bundle', type: 'collection' });
    expect(res.statusCode).toBe(400);
    res = await call(doc, 'POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: patient() }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['Bundle.entry[0].request']);
    res = await call(doc, 'POST', '/fhir/Patient', { ...patient(), resourceType: 'Observation' });
    expect(res.statusCode).toBe(400);
    expect([await resourceCount(), await auditCount()]).toEqual([resources, audits]);
  });

  it('runs a transaction all or nothing, rewriting urn:uuid references', async () => {
    const [resources, audits] = [await resourceCount(), await auditCount()];
    const entry = (fullUrl: string, resource: unknown) => ({
      fullUrl,
      resource,
      request: { method: 'POST', url: (resource as { resourceType: string }).resourceType },
    });
    const failing = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        entry('urn:uuid:11111111-1111-4111-8111-111111111111', patient()),
        entry('urn:uuid:22222222-2222-4222-8222-222222222222', observation('x', '2024-01-01')),
        { request: { method: 'PUT', url: 'Patient/nope' }, resource: { ...patient(), id: 'nope' } },
        { request: { method: 'DELETE', url: 'Patient/missing-one' } },
      ],
    };
    (failing.entry[1]!.resource as { subject: { reference: string } }).subject.reference =
      'urn:uuid:11111111-1111-4111-8111-111111111111';
    let res = await call(doc, 'POST', '/fhir', failing);
    expect(res.statusCode).toBe(404);
    expect(res.json().issue[0].details.text).toContain('Bundle.entry[3]');
    expect([await resourceCount(), await auditCount()]).toEqual([resources, audits]);

    const ok = { ...failing, entry: failing.entry.slice(0, 3) };
    res = await call(doc, 'POST', '/fhir', ok);
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.type).toBe('transaction-response');
    const pid = out.entry[0].resource.id;
    expect(out.entry[1].resource.subject.reference).toBe(`Patient/${pid}`);
    expect(out.entry[2].response.status).toBe('201 Created');
    const found = await call(doc, 'GET', `/fhir/Observation?patient=${pid}`);
    expect(found.json().entry).toHaveLength(1);

    // A batch: each entry on its own.
    res = await call(doc, 'POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${pid}` } },
        { request: { method: 'GET', url: 'Patient/missing' } },
      ],
    });
    expect(res.json().entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '200 OK',
      '404',
    ]);
  });

  it('lets privacy officers read AuditEvents only, and refuses admins clinical data (audited)', async () => {
    const created = await call(doc, 'POST', '/fhir/Patient', patient());
    const pid = created.json().id as string;
    const audits = await auditCount();
    let res = await call(admin, 'GET', `/fhir/Patient/${pid}`);
    expect(res.statusCode).toBe(403);
    expect(res.json().issue[0].code).toBe('forbidden');
    res = await call(officer, 'GET', `/fhir/Patient?_id=${pid}`);
    expect(res.statusCode).toBe(403);
    expect(await auditCount()).toBe(audits + 2);
    res = await call(officer, 'GET', `/fhir/AuditEvent?patient=Patient/${pid}`);
    expect(res.statusCode, res.body).toBe(200);
    const events = res.json().entry.map((e: { resource: { action: string; outcome: string } }) => e.resource);
    expect(events.map((e: { outcome: string }) => e.outcome)).toEqual(['4', '0']);
    res = await call(officer, 'GET', `/fhir/AuditEvent/${events[0].id}`);
    expect(res.statusCode).toBe(200);
    res = await call(doc, 'GET', '/fhir/AuditEvent');
    expect(res.statusCode).toBe(403);
    res = await f.app.inject({ method: 'GET', url: `/fhir/Patient/${pid}` });
    expect(res.statusCode).toBe(401);
    expect(res.json().resourceType).toBe('OperationOutcome');
  });

  it('stores no plaintext PHI in any vault column, and the audit chain verifies', async () => {
    const needles = [NAME, FAMILY, 'MRN-778899', '1970-03-15', 'Zebulonia'.toLowerCase()];
    for (const table of VAULT_TABLES) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
        f.services.database.db,
      );
      const text = JSON.stringify(rows.rows);
      for (const n of needles) expect(text.includes(n), `${n} in ${table}`).toBe(false);
    }
    expect(await f.services.vault.verifyAudit()).toMatchObject({ ok: true });
  });
});
