/**
 * Binaries through HTTP: a multi-MB upload streams in and reads back byte for byte with its
 * SHA-256; the database holds only ciphertext; the size limit answers 413 (declared or streamed)
 * and writes nothing; a type off the allow-list answers 415; a client that goes away mid-upload
 * leaves no rows; a clinician without care of the binary's patient is refused (403, audited); a
 * DocumentReference links a binary of its own subject only, and gets its size and hashes; memory
 * stays flat while 20 MB stream in.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACHMENT_SHA256_URL } from '../../src/vault/index.js';
import { POSTGRES_URL } from '../support/databases.js';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';

const FHIR = 'application/fhir+json';

/** SQLite always; PostgreSQL too when VIGIL_TEST_POSTGRES_URL is set (each suite in its own schema). */
const ENGINES: Array<{ name: string; config(): Promise<Record<string, unknown>>; cleanup(): Promise<void> }> =
  [{ name: 'sqlite', config: async () => ({}), cleanup: async () => {} }];
if (POSTGRES_URL) {
  const schemas: string[] = [];
  const admin = async (query: string) => {
    const c = new pg.Client({ connectionString: POSTGRES_URL });
    await c.connect();
    try {
      await c.query(query);
    } finally {
      await c.end();
    }
  };
  ENGINES.push({
    name: 'postgres',
    async config() {
      const schema = `vigil_test_${randomBytes(6).toString('hex')}`;
      await admin(`create schema ${schema}`);
      schemas.push(schema);
      const url = new URL(POSTGRES_URL!);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return { database: { url: url.toString() } };
    },
    async cleanup() {
      for (const s of schemas.splice(0)) await admin(`drop schema if exists ${s} cascade`);
    },
  });
}
const OP = { id: 'op', role: 'admin' };

/** A PDF-looking file: header, `size` random bytes, trailer. */
function pdf(size: number): Buffer {
  return Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(size), Buffer.from('\n%%EOF\n')]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha1b64 = (b: Buffer) => createHash('sha1').update(b).digest('base64');

/** Practitioners, patients and open Encounters: dr.grey cares for p-a, dr.yang for p-b. */
async function seed(f: ServerFixture): Promise<{ grey: Browser; yang: Browser; admin: Browser }> {
  await f.services.vault.importBatch(OP, [
    { resourceType: 'Practitioner', id: 'pr-grey', name: [{ family: 'Grey' }] },
    { resourceType: 'Practitioner', id: 'pr-yang', name: [{ family: 'Yang' }] },
    { resourceType: 'Patient', id: 'p-a', name: [{ family: 'Aardvarkson', given: ['Alba'] }] },
    { resourceType: 'Patient', id: 'p-b', name: [{ family: 'Bumblebury', given: ['Bea'] }] },
    ...(
      [
        ['e-a', 'p-a', 'pr-grey'],
        ['e-b', 'p-b', 'pr-yang'],
      ] as const
    ).map(([id, patient, practitioner]) => ({
      resourceType: 'Encounter',
      id,
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: { reference: `Patient/${patient}` },
      participant: [{ individual: { reference: `Practitioner/${practitioner}` } }],
      period: { start: '2026-01-01T00:00:00Z' },
    })),
  ]);
  const grey = await signIn(f, 'dr.grey', 'clinician');
  const yang = await signIn(f, 'dr.yang', 'clinician');
  const admin = await signIn(f, 'ada.admin', 'admin');
  for (const [user, practitioner] of [
    ['dr.grey', 'pr-grey'],
    ['dr.yang', 'pr-yang'],
  ] as const) {
    const row = await f.services.identity.users.get(user);
    await f.services.vault.linkStaff(OP, row!.id, practitioner);
  }
  return { grey, yang, admin };
}

const count = async (f: ServerFixture, table: string) =>
  Number(
    (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(f.services.database.db))
      .rows[0]!.n,
  );

const auditRows = async (f: ServerFixture) =>
  (
    await sql<{
      action: string;
      outcome: string;
      resources: string;
      actor_id: string;
    }>`select action, outcome, resources, actor_id from vault_audit order by seq`.execute(
      f.services.database.db,
    )
  ).rows;

function upload(
  f: ServerFixture,
  b: Browser,
  body: Buffer | Readable,
  contentType: string,
  query = '?patient=p-a',
  headers: Record<string, string> = {},
) {
  return f.app.inject({
    method: 'POST',
    url: `/fhir/Binary${query}`,
    cookies: as(b).cookies,
    headers: { ...as(b).headers, 'content-type': contentType, ...headers },
    payload: body,
  });
}

/** A real HTTP server on the fixture's app (for aborted and chunked uploads). */
async function listen(f: ServerFixture): Promise<number> {
  if (!f.app.server.listening) await f.app.listen({ port: 0, host: '127.0.0.1' });
  return (f.app.server.address() as AddressInfo).port;
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const engine of ENGINES) {
  describe(`Binary upload and download on ${engine.name}`, () => {
    let f: ServerFixture;
    let grey: Browser;
    let yang: Browser;
    let admin: Browser;

    beforeAll(async () => {
      f = await serverFixture({
        ...(await engine.config()),
        vault: { upload: { maxBytes: 24 * 1024 * 1024 } },
      });
      await f.services.vault.warmUp();
      ({ grey, yang, admin } = await seed(f));
    }, 60_000);
    afterAll(async () => {
      await f?.close();
      await engine.cleanup();
    });

    it('round-trips a multi-MB PDF byte for byte, with its SHA-256, and audits create and read', async () => {
      const file = pdf(6 * 1024 * 1024 + 12_345);
      const before = (await auditRows(f)).length;
      let res = await upload(f, grey, file, 'application/pdf');
      expect(res.statusCode, res.body).toBe(201);
      const created = res.json();
      expect(created).toMatchObject({
        resourceType: 'Binary',
        contentType: 'application/pdf',
        securityContext: { reference: 'Patient/p-a' },
        meta: { versionId: '1' },
      });
      expect(created.data).toBeUndefined();
      expect(res.headers.location).toContain(`/fhir/Binary/${created.id}/_history/1`);

      res = await f.app.inject({ method: 'GET', url: `/fhir/Binary/${created.id}`, ...as(grey) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/pdf');
      expect(res.headers['content-disposition']).toBe('attachment');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Number(res.headers['content-length'])).toBe(file.length);
      expect(res.headers['repr-digest']).toBe(
        `sha-256=:${createHash('sha256').update(file).digest('base64')}:`,
      );
      expect(res.rawPayload.length).toBe(file.length);
      expect(sha256(res.rawPayload)).toBe(sha256(file));
      expect(res.rawPayload.equals(file)).toBe(true);

      const entries = (await auditRows(f)).slice(before);
      expect(entries.map((e) => [e.action, e.outcome])).toEqual([
        ['create', 'success'],
        ['read', 'success'],
      ]);
      expect(entries.every((e) => e.resources.includes(`Binary/${created.id}`))).toBe(true);

      // As FHIR JSON: too big to answer in base64.
      res = await f.app.inject({
        method: 'GET',
        url: `/fhir/Binary/${created.id}`,
        ...as(grey),
        headers: { ...as(grey).headers, accept: FHIR },
      });
      expect(res.statusCode).toBe(406);
      expect(res.json().issue[0].details.text).toMatch(/too many for a JSON answer/);
    });

    it('answers a small Binary as FHIR JSON and accepts one as FHIR JSON', async () => {
      const text = Buffer.from('Discharge note: rest, fluids.\n');
      let res = await f.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        ...as(grey),
        headers: { ...as(grey).headers, 'content-type': FHIR },
        payload: JSON.stringify({
          resourceType: 'Binary',
          contentType: 'text/plain',
          securityContext: { reference: 'Patient/p-a' },
          data: text.toString('base64'),
        }),
      });
      expect(res.statusCode, res.body).toBe(201);
      const id = res.json().id;
      res = await f.app.inject({
        method: 'GET',
        url: `/fhir/Binary/${id}`,
        ...as(grey),
        headers: { ...as(grey).headers, accept: `${FHIR}, */*;q=0.1` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain(FHIR);
      expect(res.json()).toMatchObject({
        resourceType: 'Binary',
        id,
        contentType: 'text/plain',
        securityContext: { reference: 'Patient/p-a' },
        data: text.toString('base64'),
      });
      // The raw body with a charset parameter, the patient in X-Security-Context.
      res = await upload(f, grey, text, 'text/plain; charset=utf-8', '', {
        'x-security-context': 'Patient/p-a',
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().contentType).toBe('text/plain');
      // Media types are case-insensitive.
      res = await upload(f, grey, pdf(10), 'Application/PDF');
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().contentType).toBe('application/pdf');
    });

    it('stores only ciphertext: no plaintext, no bare SHA-256 in any vault table', async () => {
      const marker = 'PATIENT-SECRET-Aardvarkson-';
      const file = Buffer.from(marker.repeat(40_000));
      const res = await upload(f, grey, file, 'text/plain');
      expect(res.statusCode).toBe(201);
      const chunks = (
        await sql<{ data: Buffer }>`select data from vault_binary_chunks`.execute(f.services.database.db)
      ).rows;
      expect(chunks.length).toBeGreaterThan(1);
      for (const c of chunks) {
        expect(Buffer.from(c.data).includes(Buffer.from(marker))).toBe(false);
        expect(c.data.length).toBeLessThanOrEqual(256 * 1024);
      }
      const hex = sha256(file);
      const meta = JSON.stringify(
        (await sql`select * from vault_binaries`.execute(f.services.database.db)).rows,
      );
      expect(meta.includes(hex)).toBe(false);
      expect(meta.includes(sha1b64(file))).toBe(false);
      expect(meta.includes(Buffer.from(hex, 'hex').toString('base64'))).toBe(false);
    });

    it('refuses a type off the allow-list (415) and a missing or foreign patient, writing nothing', async () => {
      const rows = await count(f, 'vault_binaries');
      for (const type of ['application/zip', 'text/html', 'application/x-msdownload']) {
        const res = await upload(f, grey, Buffer.from('MZ not a document'), type);
        expect(res.statusCode, type).toBe(415);
        expect(res.headers['content-type']).toContain(FHIR);
        const issue = res.json().issue[0];
        expect(issue.code).toBe('not-supported');
        expect(issue.details.text).toMatch(/application\/pdf/);
      }
      // A JSON Binary of a type off the list.
      let res = await f.app.inject({
        method: 'POST',
        url: '/fhir/Binary?patient=p-a',
        ...as(grey),
        headers: { ...as(grey).headers, 'content-type': FHIR },
        payload: JSON.stringify({ resourceType: 'Binary', contentType: 'text/html', data: 'PGI+' }),
      });
      expect(res.statusCode).toBe(415);
      res = await upload(f, grey, Buffer.from('x'), 'application/pdf', '');
      expect(res.statusCode).toBe(400);
      expect(res.json().issue[0].details.text).toMatch(/securityContext/);
      res = await upload(f, grey, Buffer.from('x'), 'application/pdf', '?patient=Practitioner/pr-grey');
      expect(res.statusCode).toBe(400);
      // Binary through the generic JSON path (PUT) is refused: it would escape the binary store.
      res = await f.app.inject({
        method: 'PUT',
        url: '/fhir/Binary/b-1',
        ...as(grey),
        headers: { ...as(grey).headers, 'content-type': FHIR },
        payload: JSON.stringify({
          resourceType: 'Binary',
          id: 'b-1',
          contentType: 'text/plain',
          data: 'eA==',
        }),
      });
      expect(res.statusCode).toBe(400);
      expect(await count(f, 'vault_binaries')).toBe(rows);
      // The CapabilityStatement says what Binary supports.
      res = await f.app.inject({ method: 'GET', url: '/fhir/metadata' });
      const binary = res.json().rest[0].resource.find((r: { type: string }) => r.type === 'Binary');
      expect(binary.interaction).toEqual([{ code: 'create' }, { code: 'read' }]);
    });

    it('lets only a clinician who cares for the patient read a binary; a refusal is audited', async () => {
      const file = pdf(50_000);
      const id = (await upload(f, grey, file, 'application/pdf')).json().id;
      let res = await f.app.inject({ method: 'GET', url: `/fhir/Binary/${id}`, ...as(yang) });
      expect(res.statusCode).toBe(403);
      const issue = res.json().issue[0];
      expect(issue.code).toBe('forbidden');
      expect(issue.extension).toEqual([{ url: 'urn:vigil:fhir:break-glass-possible', valueBoolean: true }]);
      expect(res.body.includes('%PDF')).toBe(false);
      const denied = (await auditRows(f)).at(-1)!;
      expect(denied).toMatchObject({ action: 'read', outcome: 'denied' });
      expect(denied.resources).toContain(`Binary/${id}`);

      res = await f.app.inject({ method: 'GET', url: `/fhir/Binary/${id}`, ...as(admin) });
      expect(res.statusCode).toBe(403);
      // Nor may dr.yang upload into p-a's record.
      const rows = await count(f, 'vault_binaries');
      res = await upload(f, yang, file, 'application/pdf');
      expect(res.statusCode).toBe(403);
      expect(await count(f, 'vault_binaries')).toBe(rows);
      expect((await auditRows(f)).at(-1)).toMatchObject({ action: 'create', outcome: 'denied' });
      // The console's patient search shows each clinician only the patients in their care.
      for (const [who, n] of [
        [grey, 1],
        [yang, 0],
      ] as const) {
        res = await f.app.inject({
          method: 'GET',
          url: '/fhir/Patient?name=Aardvarkson&_count=50',
          ...as(who),
        });
        expect(res.statusCode).toBe(200);
        expect(res.json().entry ?? []).toHaveLength(n);
      }
      res = await f.app.inject({ method: 'GET', url: '/fhir/Binary/no-such-binary', ...as(grey) });
      expect(res.statusCode).toBe(404);
    });

    it('links a DocumentReference to a binary of its subject, filling size and hashes', async () => {
      const file = pdf(200_000);
      const bin = (await upload(f, grey, file, 'application/pdf')).json();
      const doc = (url: string, subject = 'p-a', attachment: Record<string, unknown> = {}) => ({
        resourceType: 'DocumentReference',
        status: 'current',
        subject: { reference: `Patient/${subject}` },
        type: { coding: [{ system: 'http://loinc.org', code: '18842-5' }] },
        date: '2026-03-01T10:00:00Z',
        content: [{ attachment: { url, title: 'Discharge summary', ...attachment } }],
      });
      const post = (body: unknown, who = grey) =>
        f.app.inject({
          method: 'POST',
          url: '/fhir/DocumentReference',
          ...as(who),
          headers: { ...as(who).headers, 'content-type': FHIR },
          payload: JSON.stringify(body),
        });

      // As the console sends it: the type it uploaded and when.
      let res = await post(
        doc(`Binary/${bin.id}`, 'p-a', { contentType: 'application/pdf', creation: '2026-03-01T10:00:00Z' }),
      );
      expect(res.statusCode, res.body).toBe(201);
      const attachment = res.json().content[0].attachment;
      expect(attachment).toMatchObject({
        url: `Binary/${bin.id}`,
        contentType: 'application/pdf',
        size: file.length,
        hash: sha1b64(file),
        title: 'Discharge summary',
      });
      expect(attachment.extension).toEqual([{ url: ATTACHMENT_SHA256_URL, valueString: sha256(file) }]);

      res = await f.app.inject({
        method: 'GET',
        url: '/fhir/DocumentReference?patient=p-a&_sort=-date&_count=200',
        ...as(grey),
      });
      expect(
        res
          .json()
          .entry.map(
            (e: { resource: { content: Array<{ attachment: { url: string } }> } }) =>
              e.resource.content[0]!.attachment.url,
          ),
      ).toContain(`Binary/${bin.id}`);

      // Another patient's document may not point at it; neither a wrong hash nor a missing binary.
      res = await post(doc(`Binary/${bin.id}`, 'p-b'), yang);
      expect(res.statusCode).toBe(400);
      expect(res.json().issue[0].details.text).toMatch(/not a file of this document's subject/);
      res = await post(doc(`Binary/${bin.id}`, 'p-a', { hash: sha1b64(Buffer.from('other')) }));
      expect(res.statusCode).toBe(400);
      res = await post(doc('Binary/does-not-exist'));
      expect(res.statusCode).toBe(400);
      // An external URL is left alone.
      res = await post(doc('https://records.example.org/doc/1'));
      expect(res.statusCode).toBe(201);
    });

    it('stops a client that goes away mid-upload without leaving rows', async () => {
      const port = await listen(f);
      const binaries = await count(f, 'vault_binaries');
      const chunks = await count(f, 'vault_binary_chunks');
      const failures = (await auditRows(f)).filter((e) => e.outcome === 'failure').length;
      await new Promise<void>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/fhir/Binary?patient=p-a',
          headers: {
            'content-type': 'application/pdf',
            'content-length': String(8 * 1024 * 1024),
            cookie: `vigil_session=${grey.cookie}`,
            'x-csrf-token': grey.csrf,
          },
        });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        const piece = randomBytes(256 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 3 * 1024 * 1024) {
            sent += piece.length;
            if (!req.write(piece)) return void req.once('drain', pump);
          }
          // Three of the eight promised MB, then the connection drops.
          setTimeout(() => req.destroy(), 100);
        };
        pump();
      });
      await waitFor(
        async () => (await auditRows(f)).filter((e) => e.outcome === 'failure').length > failures,
      );
      expect(await count(f, 'vault_binaries')).toBe(binaries);
      expect(await count(f, 'vault_binary_chunks')).toBe(chunks);
      expect((await auditRows(f)).at(-1)).toMatchObject({ action: 'create', outcome: 'failure' });
    });

    it('keeps memory flat while a 20 MB upload streams in', async () => {
      const port = await listen(f);
      const total = 20 * 1024 * 1024;
      const piece = randomBytes(64 * 1024);
      const hash = createHash('sha256');
      // What is retained, not garbage waiting for the collector: collect before each sample.
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      const held = () => {
        // Twice: the second finishes the sweep of the buffers the first found dead.
        gc();
        gc();
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers;
      };
      const base = held();
      let peak = 0;
      // Sampled as every 4 MB leaves the client and once after the last (a full collection takes a
      // few hundred ms here): a server that kept the file would hold about what was sent by then.
      const samples: number[] = [];
      const sample = (sent: number) => {
        const retained = held() - base;
        samples.push(sent);
        peak = Math.max(peak, retained);
      };
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/fhir/Binary?patient=p-a',
            headers: {
              'content-type': 'application/dicom',
              'transfer-encoding': 'chunked',
              cookie: `vigil_session=${grey.cookie}`,
              'x-csrf-token': grey.csrf,
            },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += piece.length;
            hash.update(piece);
            if (sent % (4 * 1024 * 1024) === 0) sample(sent);
            if (!req.write(piece)) return void req.once('drain', pump);
          }
          req.end();
          sample(sent);
        };
        pump();
      });
      expect(answer.status, answer.body).toBe(201);
      expect(samples.length).toBe(6);
      // Well below the size: what is held at once is a few chunk rows and socket buffers.
      expect(peak).toBeLessThan(8 * 1024 * 1024);
      const id = JSON.parse(answer.body).id as string;
      const res = await f.app.inject({ method: 'GET', url: `/fhir/Binary/${id}`, ...as(grey) });
      expect(res.rawPayload.length).toBe(total);
      expect(sha256(res.rawPayload)).toBe(hash.digest('hex'));
    }, 60_000);
  });

  describe(`Binary size limit on ${engine.name}`, () => {
    let f: ServerFixture;
    let grey: Browser;

    beforeAll(async () => {
      f = await serverFixture({ ...(await engine.config()), vault: { upload: { maxBytes: 64 * 1024 } } });
      ({ grey } = await seed(f));
    }, 60_000);
    afterAll(async () => {
      await f?.close();
      await engine.cleanup();
    });

    it('refuses a declared size over the limit before reading, and a streamed one as it passes it', async () => {
      let res = await upload(f, grey, pdf(64 * 1024), 'application/pdf');
      expect(res.statusCode).toBe(413);
      expect(res.json().issue[0]).toMatchObject({ code: 'too-costly' });
      expect(res.json().issue[0].details.text).toMatch(/limit of 0.1 MB/);
      // No Content-Length: the vault counts while it stores, and stops past the limit.
      let produced = 0;
      const endless = new Readable({
        read() {
          produced += 16 * 1024;
          this.push(produced > 10 * 1024 * 1024 ? null : randomBytes(16 * 1024));
        },
      });
      res = await upload(f, grey, endless, 'image/png');
      expect(res.statusCode).toBe(413);
      expect(produced).toBeLessThan(1024 * 1024);
      expect(await count(f, 'vault_binaries')).toBe(0);
      expect(await count(f, 'vault_binary_chunks')).toBe(0);
      expect((await auditRows(f)).at(-1)).toMatchObject({ action: 'create', outcome: 'failure' });
      // Right at the limit is fine.
      res = await upload(f, grey, randomBytes(64 * 1024), 'image/png');
      expect(res.statusCode, res.body).toBe(201);
    });

    it('over a real connection, answers 413 while the client is still sending and closes it', async () => {
      if (!f.app.server.listening) await f.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (f.app.server.address() as AddressInfo).port;
      const chunks = await count(f, 'vault_binary_chunks');
      let sent = 0;
      const answer = await new Promise<{ status: number; connection: string | undefined }>(
        (resolve, reject) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: '/fhir/Binary?patient=p-a',
              headers: {
                'content-type': 'application/pdf',
                'transfer-encoding': 'chunked',
                cookie: `vigil_session=${grey.cookie}`,
                'x-csrf-token': grey.csrf,
              },
            },
            (res) => {
              res.resume();
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
              req.destroy();
            },
          );
          req.on('error', (err) => (sent > 0 ? undefined : reject(err)));
          const piece = randomBytes(64 * 1024);
          const pump = () => {
            while (sent < 50 * 1024 * 1024 && !req.destroyed) {
              sent += piece.length;
              if (!req.write(piece)) return void req.once('drain', pump);
            }
            if (!req.destroyed) req.end();
          };
          pump();
        },
      );
      expect(answer.status).toBe(413);
      expect(answer.connection).toBe('close');
      // The answer came long before the 50 MB the client meant to send.
      expect(sent).toBeLessThan(20 * 1024 * 1024);
      await waitFor(async () => (await auditRows(f)).at(-1)?.outcome === 'failure');
      expect(await count(f, 'vault_binary_chunks')).toBe(chunks);
      expect(await count(f, 'vault_binaries')).toBe(1);
    });
  });
}
