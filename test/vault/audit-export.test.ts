/**
 * The audit trail for outside verifiers: the public key (public, PEM), the signed checkpoints
 * (privacy officers; each verifies with node:crypto and with `openssl pkeyutl` as the README says),
 * and the AuditEvent NDJSON export over HTTP and with `vigil audit export`, streamed in pages,
 * itself audited, with bad dates and other hostile input refused. Also `vigil vault hold`.
 */
import { execFileSync } from 'node:child_process';
import { verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { createServices } from '../../src/server/index.js';
import { EXPORT_PAGE_SIZE } from '../../src/vault/index.js';
import { as, type Browser, type ServerFixture, signIn } from '../support/server-fixture.js';
import { ok, requireBuilt, vigil } from './cli-process.js';
import { OPERATOR, observation, patient, privacyServerFixture } from './privacy-fixture.js';

interface AuditEventLine {
  resourceType: string;
  id: string;
  recorded: string;
  subtype: Array<{ code: string }>;
  agent: Array<{ who: { identifier: { value: string } }; role: Array<{ text: string }> }>;
  extension: Array<{ url: string; valueString: string }>;
}

const parseNdjson = (body: string): AuditEventLine[] =>
  body
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEventLine);

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('audit export, checkpoints and the public key over HTTP', () => {
  let f: ServerFixture;
  let doc: Browser;
  let officer: Browser;
  let admin: Browser;

  beforeAll(async () => {
    f = await privacyServerFixture();
    doc = await signIn(f, 'dr.quinn', 'clinician');
    officer = await signIn(f, 'pat.privacy', 'privacy-officer');
    admin = await signIn(f, 'ada.admin', 'admin');
    await f.services.vault.importBatch(OPERATOR, [patient('p1'), observation('o1', 'p1')]);
    // More than two export pages, and past the first automatic checkpoint (every 1000 entries).
    for (let i = 0; i < 2 * EXPORT_PAGE_SIZE + 150; i++)
      await f.services.vault.audit.append({
        actor: { id: `u-${i % 7}`, role: 'clinician' },
        action: 'read',
        resources: [`Observation/o${i}`],
        outcome: 'success',
      });
    await f.services.vault.audit.checkpoint();
  }, 120_000);
  afterAll(() => f?.close());

  const get = (b: Browser | null, url: string) => f.app.inject({ method: 'GET', url, ...(b ? as(b) : {}) });
  const auditCount = async (action?: string, outcome?: string) =>
    Number(
      (
        await sql<{
          n: number;
        }>`select count(*) as n from vault_audit where (${action ?? null} is null or action = ${action ?? ''}) and (${outcome ?? null} is null or outcome = ${outcome ?? ''})`.execute(
          f.services.database.db,
        )
      ).rows[0]!.n,
    );

  it('serves the public key without signing in, as PEM', async () => {
    const res = await get(null, '/api/vault/audit/public-key');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-pem-file');
    expect(res.body).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(res.body).toBe(f.services.vault.auditPublicKeyPem());
    expect(res.headers['x-vigil-key-id']).toMatch(/^[0-9a-f]{16}$/);
    // Documented in the OpenAPI document with the other vault routes.
    const paths = Object.keys((await get(null, '/api/openapi.json')).json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/vault/audit/public-key',
        '/api/vault/audit/checkpoints',
        '/api/vault/audit/export',
        '/api/vault/legal-holds',
        '/api/vault/legal-holds/{patientId}',
      ]),
    );
  });

  it('lists signed checkpoints that verify with node:crypto and openssl, and match the export', async () => {
    const pem = (await get(null, '/api/vault/audit/public-key')).body;
    const res = await get(officer, '/api/vault/audit/checkpoints');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as {
      keyId: string;
      checkpoints: Array<{
        uptoSeq: number;
        hash: string;
        signature: string;
        message: string;
        keyId: string;
      }>;
      next: number | null;
    };
    expect(body.checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(body.checkpoints[0]!.uptoSeq).toBe(1000);
    const exported = parseNdjson((await get(officer, '/api/vault/audit/export')).body);
    const hashOf = new Map(
      exported.map((e) => [
        Number(e.id),
        e.extension.find((x) => x.url === 'urn:vigil:audit-hash')!.valueString,
      ]),
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-verify-'));
    try {
      writeFileSync(path.join(dir, 'pub.pem'), pem);
      for (const cp of body.checkpoints) {
        expect(cp.keyId).toBe(body.keyId);
        expect(cp.message).toBe(`vigil-audit-checkpoint|v1|${cp.uptoSeq}|${cp.hash}`);
        expect(verify(null, Buffer.from(cp.message), pem, Buffer.from(cp.signature, 'base64'))).toBe(true);
        // The export's entry at that position ends in the signed hash.
        expect(hashOf.get(cp.uptoSeq)).toBe(cp.hash);
        if (hasOpenssl) {
          // The README's recipe, step by step.
          writeFileSync(path.join(dir, 'msg'), cp.message);
          writeFileSync(path.join(dir, 'sig'), Buffer.from(cp.signature, 'base64'));
          const out = execFileSync(
            'openssl',
            ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', 'msg', '-sigfile', 'sig'],
            { cwd: dir, encoding: 'utf8' },
          );
          expect(out).toContain('Signature Verified Successfully');
        }
      }
      // A forged message does not verify.
      const cp = body.checkpoints[0]!;
      const forged = `vigil-audit-checkpoint|v1|${cp.uptoSeq}|${'0'.repeat(64)}`;
      expect(verify(null, Buffer.from(forged), pem, Buffer.from(cp.signature, 'base64'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Paging.
    const first = (await get(officer, '/api/vault/audit/checkpoints?limit=1')).json();
    expect(first.checkpoints).toHaveLength(1);
    expect(first.next).toBe(first.checkpoints[0].uptoSeq);
    const second = (await get(officer, `/api/vault/audit/checkpoints?limit=1&after=${first.next}`)).json();
    expect(second.checkpoints[0].uptoSeq).toBeGreaterThan(first.next);
  });

  it('checkpoints refuse other roles and bad paging', async () => {
    expect((await get(null, '/api/vault/audit/checkpoints')).statusCode).toBe(401);
    expect((await get(doc, '/api/vault/audit/checkpoints')).statusCode).toBe(403);
    expect((await get(admin, '/api/vault/audit/checkpoints')).statusCode).toBe(403);
    for (const q of [
      'limit=0',
      'limit=abc',
      'limit=100000',
      'after=-1',
      'after=1e400',
      'foo=1',
      'limit=1&limit=2',
    ]) {
      const res = await get(officer, `/api/vault/audit/checkpoints?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().error.code).toBe('BAD_REQUEST');
    }
  });

  it('exports the whole trail as AuditEvent NDJSON, oldest first, across pages, and audits the export', async () => {
    const exportsBefore = await auditCount('export', 'success');
    const total = await auditCount();
    const res = await get(officer, '/api/vault/audit/export');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/fhir+ndjson');
    expect(res.headers['cache-control']).toBe('no-store');
    const events = parseNdjson(res.body);
    // Everything up to and including this export's own entry.
    expect(events).toHaveLength(total + 1);
    expect(events.length).toBeGreaterThan(2 * EXPORT_PAGE_SIZE);
    expect(events.every((e) => e.resourceType === 'AuditEvent')).toBe(true);
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    const last = events.at(-1)!;
    expect(last.subtype[0]!.code).toBe('export');
    expect(last.agent[0]!.role[0]!.text).toBe('privacy-officer');
    expect(await auditCount('export', 'success')).toBe(exportsBefore + 1);
    expect(await f.services.vault.verifyAudit()).toMatchObject({ ok: true });
  });

  it('since (inclusive) and until (exclusive) select by time', async () => {
    const times = (
      await sql<{ time: string }>`select time from vault_audit order by seq`.execute(f.services.database.db)
    ).rows.map((r) => r.time);
    const since = times[Math.floor(times.length / 2)]!;
    const expected = times.filter((t) => t >= since).length + 1; // and the export's own entry
    const res = await get(officer, `/api/vault/audit/export?since=${encodeURIComponent(since)}`);
    expect(res.statusCode).toBe(200);
    const events = parseNdjson(res.body);
    expect(events).toHaveLength(expected);
    expect(events.every((e) => e.recorded >= since)).toBe(true);
    // A window in the past: empty, but the export is still on record.
    const before = await auditCount('export', 'success');
    const empty = await get(
      officer,
      '/api/vault/audit/export?since=2000-01-01&until=2000-01-02T00:00:00%2B02:00',
    );
    expect(empty.statusCode).toBe(200);
    expect(empty.body).toBe('');
    expect(await auditCount('export', 'success')).toBe(before + 1);
    // until is exclusive: until=since leaves out the entries at that instant.
    const upTo = parseNdjson(
      (await get(officer, `/api/vault/audit/export?since=2000-01-01&until=${encodeURIComponent(since)}`))
        .body,
    );
    expect(upTo).toHaveLength(times.filter((t) => t < since).length);
  });

  it('refuses bad dates and unknown parameters with 400, and writes no export entry for them', async () => {
    const before = await auditCount();
    for (const q of [
      'since=yesterday',
      'since=2026-02-31',
      'since=2026-13-01',
      'since=2026-3-1',
      'since=2026-03-01T08:00',
      'since=2026-03-01T25:00:00Z',
      'since=1969-12-31',
      'since=%00',
      `since=${'9'.repeat(65)}`,
      'since=2026-03-02&until=2026-03-01',
      'since=2026-03-01&until=2026-03-01',
      'since=2026-03-01&since=2026-03-02',
      '_count=10',
      'patient=Patient/p1',
    ]) {
      const res = await get(officer, `/api/vault/audit/export?${q}`);
      expect(res.statusCode, `${q} ${res.body}`).toBe(400);
      expect(res.json().error.code).toBe('BAD_REQUEST');
      expect(res.body.length).toBeLessThan(1000);
    }
    expect(await auditCount()).toBe(before);
  });

  it('clinicians and admins are refused with 403, audited as a denied export', async () => {
    for (const b of [doc, admin]) {
      const before = await auditCount('export', 'denied');
      const res = await get(b, '/api/vault/audit/export');
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('FORBIDDEN');
      expect(await auditCount('export', 'denied')).toBe(before + 1);
    }
    expect((await get(null, '/api/vault/audit/export')).statusCode).toBe(401);
  });
});

describe('vigil audit export and vigil vault hold (CLI)', () => {
  let dir: string;
  let dataDir: string;

  beforeAll(async () => {
    requireBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-cli-privacy-'));
    dataDir = path.join(dir, 'data');
    const services = await createServices(validateConfig({ dataDir }), silentLogger());
    try {
      await services.vault.importBatch(OPERATOR, [patient('p1'), observation('o1', 'p1'), patient('p2')]);
    } finally {
      await services.close();
    }
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) => vigil([...args, '--data-dir', dataDir], { cwd: dir });
  const expectOneLineError = (r: { code: number | null; stderr: string }, text: RegExp) => {
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(text);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  };

  it('exports to a new file (0600), refuses to overwrite it, and refuses bad dates', async () => {
    const out = path.join(dir, 'audit.ndjson');
    const r = ok(await run(['audit', 'export', '--out', out]), 'audit export');
    expect(r.stderr).toMatch(/Exported \d+ AuditEvent/);
    const events = parseNdjson(readFileSync(out, 'utf8'));
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)!.subtype[0]!.code).toBe('export');
    expect(events.at(-1)!.agent[0]!.who.identifier.value).toMatch(/^vigil-cli:/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expectOneLineError(await run(['audit', 'export', '--out', out]), /exists already/);
    expectOneLineError(
      await run(['audit', 'export', '--since', 'last week']),
      /since: "last week" is not a date/,
    );
    // To standard output, a window in the past: nothing but the summary on stderr.
    const empty = ok(await run(['audit', 'export', '--until', '2000-01-01']), 'audit export --until');
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('Exported 0 AuditEvent(s).');
  }, 120_000);

  it('sets, lists and releases legal holds; refuses unknown patients and bad reasons', async () => {
    ok(await run(['vault', 'hold', 'set', 'p1', '--reason', 'Case 2026-17, keep']), 'hold set');
    const list = ok(await run(['vault', 'hold', 'list']), 'hold list');
    expect(list.stdout).toMatch(/Patient\/p1 .*by vigil-cli:.*Case 2026-17, keep/);
    const json = ok(await run(['vault', 'hold', 'list', '--json']), 'hold list --json');
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ patientId: 'p1', reason: 'Case 2026-17, keep' });
    expectOneLineError(await run(['vault', 'hold', 'set', 'nobody', '--reason', 'x']), /does not exist/);
    expectOneLineError(await run(['vault', 'hold', 'set', 'p2', '--reason', 'x'.repeat(501)]), /at most 500/);
    ok(await run(['vault', 'hold', 'release', 'p1']), 'hold release');
    expectOneLineError(await run(['vault', 'hold', 'release', 'p1']), /has no legal hold/);
    expect(ok(await run(['vault', 'hold', 'list']), 'hold list').stdout).toContain('No legal holds.');
  }, 120_000);
});
