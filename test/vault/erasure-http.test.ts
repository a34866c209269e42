/**
 * Erasure over HTTP: `DELETE /fhir/Patient/<id>?_erase=true` by a privacy officer crypto-shreds the
 * patient (reads answer 410, search finds nothing, index rows gone, audit stays pseudonymous and
 * verifies); clinicians and admins are refused and audited; a legal hold refuses with its reason.
 * Legal holds through `/api/vault/legal-holds` (privacy officers), with hostile input throughout.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type ServerFixture, signIn } from '../support/server-fixture.js';
import { OPERATOR, observation, patient, privacyServerFixture } from './privacy-fixture.js';

const FHIR = 'application/fhir+json';

describe('erasure and legal holds over HTTP', () => {
  let f: ServerFixture;
  let doc: Browser;
  let officer: Browser;
  let admin: Browser;

  beforeAll(async () => {
    f = await privacyServerFixture();
    doc = await signIn(f, 'dr.quinn', 'clinician');
    officer = await signIn(f, 'pat.privacy', 'privacy-officer');
    admin = await signIn(f, 'ada.admin', 'admin');
    await f.services.vault.importBatch(OPERATOR, [
      patient('p1', 'Zebulonia'),
      observation('o1a', 'p1'),
      observation('o1b', 'p1'),
      patient('p2'),
      observation('o2a', 'p2'),
      patient('p3'),
      patient('p4'),
    ]);
  }, 60_000);
  afterAll(() => f?.close());

  const call = (b: Browser | null, method: 'GET' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    f.app.inject({
      method,
      url,
      ...(b ? as(b) : {}),
      ...(body !== undefined
        ? {
            payload: typeof body === 'string' ? body : JSON.stringify(body),
            headers: { ...(b ? as(b).headers : {}), 'content-type': 'application/json' },
          }
        : {}),
    });
  const audit = async () =>
    (
      await sql<{
        action: string;
        outcome: string;
        actor_id: string;
        resources: string;
        patient_ref: string | null;
      }>`select action, outcome, actor_id, resources, patient_ref from vault_audit order by seq`.execute(
        f.services.database.db,
      )
    ).rows;
  const indexRows = async (ids: string[]) =>
    Number(
      (
        await sql<{ n: number }>`select count(*) as n from vault_search where resource_id in (${sql.join(
          ids,
        )})`.execute(f.services.database.db)
      ).rows[0]!.n,
    );

  it('clinicians and admins are refused with 403, and the attempt is audited', async () => {
    for (const [who, b] of [
      ['dr.quinn', doc],
      ['ada.admin', admin],
    ] as const) {
      const res = await call(b, 'DELETE', '/fhir/Patient/p1?_erase=true');
      expect(res.statusCode, res.body).toBe(403);
      expect(res.headers['content-type']).toContain(FHIR);
      expect(res.json().issue[0].code).toBe('forbidden');
      const last = (await audit()).at(-1)!;
      expect(last).toMatchObject({ action: 'erase', outcome: 'denied', resources: '["Patient/p1"]' });
      const users = await f.services.identity.users.list();
      expect(last.actor_id).toBe(users.find((u) => u.username === who)!.id);
    }
    const read = await call(doc, 'GET', '/fhir/Patient/p1');
    expect(read.statusCode).toBe(200);
    expect(read.json().name[0].family).toBe('Zebulonia');
  });

  it('hostile parameters are refused with 400 and erase nothing', async () => {
    for (const q of [
      '_erase=yes',
      '_erase=TRUE',
      '_erase=1',
      '_erase=',
      '_erase=true&_erase=true',
      '_erase=true&_cascade=delete',
      '_cascade=delete',
      `${'x'.repeat(300)}=true`,
    ]) {
      const res = await call(officer, 'DELETE', `/fhir/Patient/p1?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().resourceType).toBe('OperationOutcome');
      expect(res.body).not.toContain('x'.repeat(65));
    }
    // Erasure is per patient.
    const obs = await call(officer, 'DELETE', '/fhir/Observation/o1a?_erase=true');
    expect(obs.statusCode).toBe(400);
    expect(obs.json().issue[0].details.text).toContain('per patient');
    // Bad and unknown patient ids.
    for (const id of ['a'.repeat(65), 'p1%3Bdrop', 'p%00', 'p1%2F..%2Fp2']) {
      const res = await call(officer, 'DELETE', `/fhir/Patient/${id}?_erase=true`);
      expect(res.statusCode, id).toBe(400);
    }
    // A dot-segment is resolved by the URL itself: no such route.
    expect((await call(officer, 'DELETE', '/fhir/Patient/..?_erase=true')).statusCode).toBe(404);
    const unknown = await call(officer, 'DELETE', '/fhir/Patient/nobody-here?_erase=true');
    expect(unknown.statusCode).toBe(404);
    expect((await call(doc, 'GET', '/fhir/Patient/p1')).statusCode).toBe(200);
    // No tombstone was written for the unknown id.
    const keys = await sql<{
      owner: string;
    }>`select owner from vault_data_keys where owner = 'Patient/nobody-here'`.execute(f.services.database.db);
    expect(keys.rows).toEqual([]);
  });

  it('_erase=false is a plain delete', async () => {
    const res = await call(doc, 'DELETE', '/fhir/Patient/p4?_erase=false');
    expect(res.statusCode, res.body).toBe(204);
    expect((await call(doc, 'GET', '/fhir/Patient/p4')).statusCode).toBe(410);
  });

  it('a privacy officer erases a patient: reads answer 410, search finds nothing, the audit stays', async () => {
    expect(await indexRows(['p1', 'o1a', 'o1b'])).toBeGreaterThan(0);
    const before = (await audit()).length;
    const res = await call(officer, 'DELETE', '/fhir/Patient/p1?_erase=true');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', diagnostics: expect.stringContaining('3 resource version') }],
    });
    const entries = await audit();
    expect(entries).toHaveLength(before + 1);
    const erase = entries.at(-1)!;
    expect(erase).toMatchObject({ action: 'erase', outcome: 'success' });
    expect(erase.patient_ref).toMatch(/^[0-9a-f]{16,}$/);
    expect(erase.patient_ref).not.toContain('p1');

    // Every read of the patient's data answers 410 Gone as an OperationOutcome, never a 500.
    for (const url of [
      '/fhir/Patient/p1',
      '/fhir/Observation/o1a',
      '/fhir/Observation/o1b/_history/1',
      '/fhir/Patient/p1/_history',
    ]) {
      const r = await call(doc, 'GET', url);
      expect(r.statusCode, `${url} ${r.body}`).toBe(410);
      expect(r.json().issue[0]).toMatchObject({ code: 'deleted', details: { text: 'This data was erased' } });
    }
    // Writing for the erased patient cannot bring a key back.
    const write = await f.app.inject({
      method: 'PUT',
      url: '/fhir/Observation/o1c',
      ...as(doc),
      headers: { ...as(doc).headers, 'content-type': FHIR },
      payload: JSON.stringify(observation('o1c', 'p1')),
    });
    expect(write.statusCode).toBe(410);
    // Search: nothing of p1, the others still there.
    const search = await call(doc, 'GET', '/fhir/Observation?subject=Patient/p1');
    expect(search.statusCode).toBe(200);
    expect(search.json().entry ?? []).toEqual([]);
    const family = await call(doc, 'GET', '/fhir/Patient?family=Zebulonia');
    expect(family.json().entry ?? []).toEqual([]);
    expect(await indexRows(['p1', 'o1a', 'o1b'])).toBe(0);
    expect((await call(doc, 'GET', '/fhir/Observation/o2a')).statusCode).toBe(200);
    // The key is a tombstone; the audit chain verifies.
    const key = await sql<{
      wrapped_key: string | null;
    }>`select wrapped_key from vault_data_keys where owner = 'Patient/p1'`.execute(f.services.database.db);
    expect(key.rows).toEqual([{ wrapped_key: null }]);
    expect(await f.services.vault.verifyAudit()).toMatchObject({ ok: true });
    // The privacy officer finds the erasure by the patient's (hashed) reference.
    const ae = await call(officer, 'GET', '/fhir/AuditEvent?patient=Patient/p1&action=D');
    expect(ae.statusCode).toBe(200);
    expect(
      ae
        .json()
        .entry.map((e: { resource: { subtype: Array<{ code: string }> } }) => e.resource.subtype[0]!.code),
    ).toContain('erase');
    // Again: harmless.
    const again = await call(officer, 'DELETE', '/fhir/Patient/p1?_erase=true');
    expect(again.statusCode).toBe(200);
    expect(again.json().issue[0].diagnostics).toContain('erased already');
  });

  it('legal holds: set, list, refuse erasure with the reason (409), release, then erase', async () => {
    const reason = 'Litigation 2026-CV-0042 (Smith v. Hospital), keep until resolved';
    let res = await call(officer, 'PUT', '/api/vault/legal-holds/p2', { reason });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().hold).toMatchObject({ patientId: 'p2', reason });
    // The reason is sealed in the database.
    const rows = await sql<{
      reason_sealed: string;
      set_by: string;
    }>`select reason_sealed, set_by from vault_legal_holds`.execute(f.services.database.db);
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]!.reason_sealed).not.toContain('Smith');
    expect(rows.rows[0]!.reason_sealed).toMatch(/^v1\.\d{4}\./);

    res = await call(officer, 'GET', '/api/vault/legal-holds');
    expect(res.statusCode).toBe(200);
    expect(res.json().holds).toEqual([expect.objectContaining({ patientId: 'p2', reason })]);

    const before = (await audit()).length;
    res = await call(officer, 'DELETE', '/fhir/Patient/p2?_erase=true');
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().issue[0]).toMatchObject({ code: 'conflict' });
    expect(res.json().issue[0].details.text).toContain('2026-CV-0042');
    const denied = (await audit()).slice(before);
    expect(denied).toEqual([expect.objectContaining({ action: 'erase', outcome: 'denied' })]);
    expect((await call(doc, 'GET', '/fhir/Observation/o2a')).statusCode).toBe(200);

    // Re-wording a hold replaces it.
    res = await call(officer, 'PUT', '/api/vault/legal-holds/p2', { reason: 'Retention: 10 years' });
    expect(res.statusCode).toBe(200);
    expect((await call(officer, 'GET', '/api/vault/legal-holds')).json().holds).toHaveLength(1);

    res = await call(officer, 'DELETE', '/api/vault/legal-holds/p2');
    expect(res.statusCode).toBe(204);
    expect((await call(officer, 'DELETE', '/api/vault/legal-holds/p2')).statusCode).toBe(404);
    res = await call(officer, 'DELETE', '/fhir/Patient/p2?_erase=true');
    expect(res.statusCode, res.body).toBe(200);
    expect((await call(doc, 'GET', '/fhir/Observation/o2a')).statusCode).toBe(410);
    // A hold on an erased patient is refused: nothing is left to hold.
    res = await call(officer, 'PUT', '/api/vault/legal-holds/p2', { reason: 'too late' });
    expect(res.statusCode).toBe(409);
  });

  it('legal holds refuse hostile input and other roles', async () => {
    const bad: Array<[string, unknown]> = [
      ['/api/vault/legal-holds/p3', { reason: 'x'.repeat(501) }],
      ['/api/vault/legal-holds/p3', { reason: 'x'.repeat(100_000) }],
      ['/api/vault/legal-holds/p3', { reason: '' }],
      ['/api/vault/legal-holds/p3', { reason: '   ' }],
      ['/api/vault/legal-holds/p3', { reason: 'line one\nline two' }],
      ['/api/vault/legal-holds/p3', { reason: 'bell\u0007' }],
      ['/api/vault/legal-holds/p3', { reason: 42 }],
      ['/api/vault/legal-holds/p3', { reason: 'ok', extra: true }],
      ['/api/vault/legal-holds/p3', {}],
      ['/api/vault/legal-holds/p3', '{not json'],
      ['/api/vault/legal-holds/p1%2F..%2Fp2', { reason: 'ok' }],
      [`/api/vault/legal-holds/${'a'.repeat(65)}`, { reason: 'ok' }],
      ['/api/vault/legal-holds/p3;drop', { reason: 'ok' }],
    ];
    for (const [url, body] of bad) {
      const res = await call(officer, 'PUT', url, body);
      expect(res.statusCode, `${url} ${JSON.stringify(body).slice(0, 40)} ${res.body}`).toBe(400);
      expect(res.json().error.code).toMatch(/BAD_REQUEST|INVALID_JSON/);
      expect(res.body.length).toBeLessThan(2000);
    }
    const unknown = await call(officer, 'PUT', '/api/vault/legal-holds/nobody-here', { reason: 'ok' });
    expect(unknown.statusCode).toBe(404);
    for (const b of [doc, admin]) {
      expect((await call(b, 'GET', '/api/vault/legal-holds')).statusCode).toBe(403);
      expect((await call(b, 'PUT', '/api/vault/legal-holds/p3', { reason: 'ok' })).statusCode).toBe(403);
      expect((await call(b, 'DELETE', '/api/vault/legal-holds/p3')).statusCode).toBe(403);
    }
    expect((await call(null, 'GET', '/api/vault/legal-holds')).statusCode).toBe(401);
    // A reason of exactly the limit, with inner punctuation and non-ASCII, is kept as given.
    const long = `Ordonnance n° 17 — ${'é'.repeat(480)}`.slice(0, 500);
    const res = await call(officer, 'PUT', '/api/vault/legal-holds/p3', { reason: long });
    expect(res.statusCode, res.body).toBe(200);
    expect((await call(officer, 'GET', '/api/vault/legal-holds')).json().holds[0].reason).toBe(long);
    expect(await f.services.vault.legalHolds.list()).toHaveLength(1);
  });
});
