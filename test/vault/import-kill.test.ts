/**
 * A bulk import killed with SIGKILL, on SQLite and on PostgreSQL: `vigil vault import` of the real
 * Synthea export runs as a child process with small batches and is killed twice part-way (after
 * the database shows some, not all, of the resources). After each kill the database is
 * consistent: every head names a stored version, every stored version has a head and exactly one
 * audit entry naming it, blind-index rows belong to committed resources only, the audit seqs are
 * contiguous up to the head, and `vigil audit verify` exits 0. Running the import again resumes
 * it: what was committed is reported unchanged, the rest created, nothing updated or duplicated,
 * and every resource then reads back equal to its source line.
 *
 * Skips, saying why, when the data folder (ROOT/../shared/data) is absent; the PostgreSQL run
 * skips without VIGIL_TEST_POSTGRES_URL.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { type AnyDb, type Database, openDatabase } from '../../src/platform/db/index.js';
import { FileKeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { createVault, type FhirResource, rolePolicy, type VaultPrincipal } from '../../src/vault/index.js';
import { POSTGRES_URL } from '../support/databases.js';
import { ROOT } from '../support/processes.js';
import {
  ensureBuilt,
  freshPostgresSchema,
  killAllVigil,
  runVigil,
  spawnVigil,
  vigilOk,
  waitFor,
} from '../support/vigil-process.js';

const DATA = path.resolve(ROOT, '..', 'shared', 'data', 'fhir-synthea-10');
const present = existsSync(DATA);
if (!present)
  console.warn(
    `import kill test skipped: ${DATA} is absent (the shared data folder is not beside the project)`,
  );

const BATCH = 25;
const SUMMARY =
  /Imported (\d+) resources from (\d+) file\(s\): (\d+) created, (\d+) updated, (\d+) unchanged\./;
const clinician: VaultPrincipal = { id: 'u-import-check', role: 'clinician' };
const withoutMeta = ({ meta: _m, ...rest }: FhirResource) => rest;

/** Every source resource, in file order. */
function sourceResources(): FhirResource[] {
  return readdirSync(DATA)
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
    .flatMap((f) =>
      readFileSync(path.join(DATA, f), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as FhirResource),
    );
}

interface Engine {
  name: 'sqlite' | 'postgres';
  /** VIGIL_* variables that point a child process at this engine's database. */
  env: Record<string, string>;
  /** Committed heads right now, or undefined while the database or table does not exist yet. */
  countCurrent(): Promise<number | undefined>;
  /** Whether the importing process has a transaction open now (null: the engine cannot tell). */
  inTransaction(): Promise<boolean | null>;
  /** Opens the database in this process (only once no child writes to it). */
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

async function sqliteEngine(dataDir: string): Promise<Engine> {
  const file = path.join(dataDir, 'vigil.sqlite');
  return {
    name: 'sqlite',
    env: {},
    async countCurrent() {
      if (!existsSync(file)) return undefined;
      let db: SqliteDatabase.Database | undefined;
      try {
        // A second reader beside the importing process: WAL lets it read the committed state.
        db = new SqliteDatabase(file, { readonly: true, fileMustExist: true, timeout: 5000 });
        return (db.prepare('select count(*) as n from vault_current').get() as { n: number }).n;
      } catch {
        return undefined; // not created or not migrated yet
      } finally {
        db?.close();
      }
    },
    async inTransaction() {
      // A write transaction holds the write lock: a probe that cannot take it at once (timeout 0)
      // knows the importer is between its first write and its commit. The probe takes nothing
      // else and rolls back, so the importer at most waits (busy_timeout) a moment.
      let db: SqliteDatabase.Database | undefined;
      try {
        db = new SqliteDatabase(file, { fileMustExist: true, timeout: 0 });
        db.exec('begin immediate');
        db.exec('rollback');
        return false;
      } catch (err) {
        return (err as { code?: string }).code?.startsWith('SQLITE_BUSY') ? true : null;
      } finally {
        db?.close();
      }
    },
    open: () => openDatabase({ sqliteFile: file }),
    async cleanup() {},
  };
}

async function postgresEngine(baseUrl: string): Promise<Engine> {
  const schema = await freshPostgresSchema(baseUrl, 'vigil_kill');
  const probe = new pg.Client({ connectionString: schema.url });
  await probe.connect();
  // The importer's connections carry this name, so the probe can see when it is inside a transaction.
  const appName = `${schema.schema}_import`;
  const childUrl = new URL(schema.url);
  childUrl.searchParams.set('application_name', appName);
  return {
    name: 'postgres',
    env: { VIGIL_DATABASE_URL: childUrl.toString(), VIGIL_DATABASE_POOL_SIZE: '4' },
    async inTransaction() {
      const r = await probe.query(
        'select 1 from pg_stat_activity where application_name = $1 and xact_start is not null',
        [appName],
      );
      return (r.rowCount ?? 0) > 0;
    },
    async countCurrent() {
      try {
        const r = await probe.query<{ n: string }>('select count(*) as n from vault_current');
        return Number(r.rows[0]!.n);
      } catch {
        return undefined;
      }
    },
    open: () => openDatabase({ url: schema.url, poolSize: 4 }),
    async cleanup() {
      await probe.end().catch(() => {});
      await schema.drop();
    },
  };
}

/**
 * Checks that the vault tables agree with one another and with the audit trail; returns how many
 * resources are committed and how many audit entries there are.
 */
async function expectConsistent(db: AnyDb): Promise<{ resources: number; auditEntries: number }> {
  const count = async (q: RawBuilder<{ n: number | string }>) => Number((await q.execute(db)).rows[0]!.n);

  // Every head names a stored version; every stored version belongs to a head at or after it.
  const headless = await count(sql`
    select count(*) as n from vault_current c where not exists (
      select 1 from vault_resources r where r.resource_type = c.resource_type and r.id = c.id
        and r.version_id = cast(c.version_id as text))`);
  expect(headless, 'heads without their version').toBe(0);
  const orphans = await count(sql`
    select count(*) as n from vault_resources r where not exists (
      select 1 from vault_current c where c.resource_type = r.resource_type and c.id = r.id)`);
  expect(orphans, 'versions without a head').toBe(0);

  // Blind-index rows only for committed, live resources.
  const strayIndex = await count(sql`
    select count(*) as n from vault_search s where not exists (
      select 1 from vault_current c where c.resource_type = s.resource_type and c.id = s.resource_id
        and c.deleted = 0)`);
  expect(strayIndex, 'index rows of resources that were never committed').toBe(0);

  // Every head's data key exists and is intact.
  const keyless = await count(sql`
    select count(*) as n from vault_current c where not exists (
      select 1 from vault_data_keys k where k.owner = c.key_owner and k.wrapped_key is not null)`);
  expect(keyless, 'heads whose data key is missing').toBe(0);

  // The audit seqs are 1..head with no gap, and the head's hash is the last entry's.
  const head = (
    await sql<{
      seq: number | string;
      hash: string;
    }>`select seq, hash from vault_audit_head where id = 1`.execute(db)
  ).rows[0]!;
  const audit = (
    await sql<{
      seq: number | string;
      action: string;
      resources: string;
      hash: string;
    }>`select seq, action, resources, hash from vault_audit order by seq`.execute(db)
  ).rows;
  expect(audit.map((r) => Number(r.seq))).toEqual(Array.from({ length: audit.length }, (_, i) => i + 1));
  expect(Number(head.seq)).toBe(audit.length);
  if (audit.length) expect(head.hash).toBe(audit.at(-1)!.hash);

  // Each stored version is named by exactly one audit entry, and every entry names stored versions:
  // the data and its audit entry committed together or not at all.
  const versions = (
    await sql<{
      resource_type: string;
      id: string;
      version_id: string;
    }>`select resource_type, id, version_id from vault_resources`.execute(db)
  ).rows.map((r) => `${r.resource_type}/${r.id}/_history/${r.version_id}`);
  const audited = audit
    .filter((r) => r.action === 'create')
    .flatMap((r) => JSON.parse(r.resources) as string[]);
  expect(new Set(audited).size, 'a version named by two audit entries').toBe(audited.length);
  expect(new Set(audited)).toEqual(new Set(versions));
  return { resources: versions.length, auditEntries: audit.length };
}

async function withDb<T>(engine: Engine, fn: (db: AnyDb) => Promise<T>): Promise<T> {
  const database = await engine.open();
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

const engines: Array<{ name: 'sqlite' | 'postgres'; skip: string | null }> = [
  { name: 'sqlite', skip: present ? null : 'the Synthea data is absent' },
  {
    name: 'postgres',
    skip: !present ? 'the Synthea data is absent' : POSTGRES_URL ? null : 'set VIGIL_TEST_POSTGRES_URL',
  },
];

for (const { name, skip } of engines) {
  describe.skipIf(skip !== null)(
    skip === null
      ? `vault import killed with SIGKILL on ${name}`
      : `vault import killed with SIGKILL on ${name} (skipped: ${skip})`,
    () => {
      // Made in beforeAll: a skipped suite's body still runs, its hooks do not.
      let workDir = '';
      let dataDir = '';
      let engine: Engine;
      let env: Record<string, string>;
      let expected: FhirResource[] = [];
      const cli = (args: string[]) => [...args, '--data-dir', dataDir];
      const kills: string[] = [];

      beforeAll(async () => {
        ensureBuilt();
        workDir = mkdtempSync(path.join(tmpdir(), `vigil-kill-${name}-`));
        dataDir = path.join(workDir, 'data');
        expected = sourceResources();
        engine = name === 'sqlite' ? await sqliteEngine(dataDir) : await postgresEngine(POSTGRES_URL!);
        env = { ...engine.env, VIGIL_LOG_LEVEL: 'warn' };
      }, 320_000);

      afterAll(async () => {
        await killAllVigil();
        await engine?.cleanup();
        if (workDir) rmSync(workDir, { recursive: true, force: true });
      }, 60_000);

      /** Starts an import and SIGKILLs it once at least `atLeast` resources are committed. */
      async function importKilledAfter(atLeast: number): Promise<number> {
        const before = (await engine.countCurrent()) ?? 0;
        const proc = spawnVigil(cli(['vault', 'import', DATA, '--batch-size', String(BATCH)]), env, workDir);
        const seen = await waitFor(
          async () => {
            const n = await engine.countCurrent();
            return n !== undefined && n >= atLeast ? n : undefined;
          },
          `${atLeast} committed resources`,
          { proc, timeoutMs: 240_000, intervalMs: 25 },
        );
        // Where the engine can tell, kill while a batch's transaction is open (not between batches).
        const open = await waitFor(
          async () => {
            const inside = await engine.inTransaction();
            return inside === false ? undefined : inside;
          },
          'an open import transaction',
          { proc, timeoutMs: 60_000, intervalMs: 5 },
        );
        proc.child.kill('SIGKILL');
        const { signal } = await proc.exited;
        expect(signal, proc.output()).toBe('SIGKILL');
        expect(proc.stdout()).not.toMatch(SUMMARY);
        const after = (await engine.countCurrent())!;
        // Killed part-way: more than before this run, fewer than all of them.
        expect(after).toBeGreaterThanOrEqual(seen);
        expect(after).toBeGreaterThan(before);
        expect(after).toBeLessThan(expected.length);
        kills.push(`${after}${open === true ? ' (in a transaction)' : ''}`);
        return after;
      }

      async function expectAuditVerifies(): Promise<number> {
        const out = await vigilOk(cli(['audit', 'verify']), env, workDir);
        const m = /The audit trail is intact: (\d+) entries/.exec(out);
        expect(m, out).not.toBeNull();
        return Number(m![1]);
      }

      it('is consistent after each kill, verifies, resumes without duplicates and reads back equal', {
        timeout: 900_000,
      }, async () => {
        expect(expected.length).toBeGreaterThan(1000);
        const total = expected.length;
        const started = Date.now();

        // First run: killed soon after it got going (about a tenth in).
        const firstKill = await importKilledAfter(Math.floor(total / 10));
        let state = await withDb(engine, expectConsistent);
        expect(state.resources).toBe(firstKill);
        expect(await expectAuditVerifies()).toBe(state.auditEntries);

        // Second run resumes, and is killed again past the middle.
        const secondKill = await importKilledAfter(Math.floor(total / 2));
        state = await withDb(engine, expectConsistent);
        expect(state.resources).toBe(secondKill);
        expect(await expectAuditVerifies()).toBe(state.auditEntries);

        // Third run completes: what was committed is unchanged, the rest created, nothing twice.
        const done = await runVigil(
          cli(['vault', 'import', DATA, '--batch-size', String(BATCH)]),
          env,
          workDir,
          600_000,
        );
        expect(done.code, done.output).toBe(0);
        const m = SUMMARY.exec(done.stdout);
        expect(m, done.output).not.toBeNull();
        const [lines, , created, updated, unchanged] = m!.slice(1).map(Number) as [
          number,
          number,
          number,
          number,
          number,
        ];
        expect({ lines, created, updated, unchanged }).toEqual({
          lines: total,
          created: total - secondKill,
          updated: 0,
          unchanged: secondKill,
        });
        state = await withDb(engine, expectConsistent);
        expect(state.resources).toBe(total);
        const entries = await expectAuditVerifies();
        expect(entries).toBe(state.auditEntries);

        // Every resource reads back equal, through a vault opened on the child's database and keys.
        await withDb(engine, async (db) => {
          const one = await sql<{
            n: number | string;
            v: number | string;
          }>`select count(*) as n, max(version_id) as v from vault_current`.execute(db);
          expect(Number(one.rows[0]!.n)).toBe(total);
          expect(Number(one.rows[0]!.v)).toBe(1);
          const bus = new MemoryBus({ logger: silentLogger() });
          const vault = createVault({
            db,
            keys: FileKeyRing.open(path.join(dataDir, 'keys')),
            bus,
            clock: systemClock,
            logger: silentLogger(),
            // Storage mechanics, not care relationships: the role policy lets a clinician read all.
            policy: rolePolicy,
          });
          try {
            // Four readers at a time (PostgreSQL's pool serves them in parallel).
            let next = 0;
            const reader = async () => {
              for (let i = next++; i < expected.length; i = next++) {
                const r = expected[i]!;
                const got = await vault.read(clinician, r.resourceType, r.id!);
                expect(withoutMeta(got.resource)).toEqual(withoutMeta(r));
              }
            };
            await Promise.all([reader(), reader(), reader(), reader()]);
            // The blind index written before the kills finds what it should.
            const patient = expected.find((r) => r.resourceType === 'Patient')!;
            const page = await vault.search(clinician, 'Encounter', [
              ['patient', patient.id!],
              ['_count', '1000'],
            ]);
            const direct = expected.filter(
              (r) =>
                r.resourceType === 'Encounter' &&
                (r.subject as { reference: string }).reference === `Patient/${patient.id}`,
            );
            expect(page.resources.map((x) => x.id).sort()).toEqual(direct.map((x) => x.id).sort());
            expect(await vault.verifyAudit()).toMatchObject({ ok: true });
          } finally {
            await bus.close();
          }
        });
        console.info(
          `import kill on ${name}: ${total} resources; killed at ${kills.join(' and ')} committed; ` +
            `resumed run created ${created}, unchanged ${unchanged}; ${entries} audit entries after import; ` +
            `${Math.round((Date.now() - started) / 1000)} s`,
        );
      });
    },
  );
}
