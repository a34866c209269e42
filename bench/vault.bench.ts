/**
 * `vault`: the patient-data vault's full path — AES-256-GCM under per-patient data keys, blind
 * indexes, the hash-chained audit trail and care-based access — beside the same rows written as
 * plain JSON in one table (no encryption, no blind index, no audit, no access check), on SQLite
 * and on PostgreSQL, in the same run. Both sides validate what they write against the R4
 * definitions (a FHIR store that skipped validation would not be a peer); the ratio is the cost of
 * the security. Reads and searches run `CONCURRENCY` at a time on both sides, as a server's
 * requests do (the vault group-commits their audit entries):
 *
 * - `vault.<engine>.create.batched`: bulk import, 500 resources per transaction;
 * - `vault.<engine>.create.single`: one create per transaction (a clinician's POST);
 * - `vault.<engine>.read`: reads by id of random Observations by a clinician who cares for them;
 * - `vault.<engine>.search`: `Observation?patient=…` (25 results each).
 *
 * PostgreSQL runs when VIGIL_BENCH_POSTGRES_URL or VIGIL_TEST_POSTGRES_URL names one (a fresh
 * schema, dropped afterwards). `BENCH_VAULT_PATIENTS` (default 400) × 25 Observations are written.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { seededRng, systemClock } from '../src/core/index.js';
import { MemoryBus } from '../src/platform/bus/index.js';
import {
  compiledOnce,
  type Database,
  openDatabase,
  rowInserter,
  runMigrations,
} from '../src/platform/db/index.js';
import { FileKeyRing } from '../src/platform/keys/index.js';
import { silentLogger } from '../src/platform/log/index.js';
import {
  createVault,
  type FhirResource,
  type Vault,
  validateFhir,
  vaultMigrations,
} from '../src/vault/index.js';
import { type Benchmark, type Figure, figure } from './figure.js';

const PATIENTS = Number(process.env.BENCH_VAULT_PATIENTS ?? 400);
const PER_PATIENT = 25;
const BATCH = 500;
const SINGLES = 300;
const READS = 3000;
const SEARCHES = 300;
const CONCURRENCY = Number(process.env.BENCH_VAULT_CONCURRENCY ?? 16);
const OPERATOR = { id: 'bench-operator', role: 'admin' };
const DOC = { id: 'bench-clinician', role: 'clinician' } as const;

type PlainRow = { resource_type: string; id: string; patient_id: string | null; body: string };
type PlainTables = { bench_plain: PlainRow };
type PlainDb = Kysely<PlainTables>;

/**
 * The plain peer's statements, built once as the vault's are (`rowInserter`, `compiledOnce`), so
 * the ratio measures the security, not a difference in query building.
 */
function plainStatements() {
  return {
    insert: rowInserter(
      (db: PlainDb, row: PlainRow) => db.insertInto('bench_plain').values(row),
      ['resource_type', 'id', 'patient_id', 'body'],
    ),
    byId: compiledOnce((db: PlainDb, slot) =>
      db
        .selectFrom('bench_plain')
        .select('body')
        .where('resource_type', '=', 'Observation')
        .where('id', '=', slot('id')),
    ),
    byPatient: compiledOnce((db: PlainDb, slot) =>
      db
        .selectFrom('bench_plain')
        .select('body')
        .where('resource_type', '=', 'Observation')
        .where('patient_id', '=', slot('patient'))
        .orderBy('id')
        .limit(51),
    ),
  };
}

function dataset(): { setup: FhirResource[]; observations: FhirResource[] } {
  const rng = seededRng(42);
  const setup: FhirResource[] = [
    { resourceType: 'Practitioner', id: 'bench-prac', name: [{ family: 'Bench' }] },
  ];
  const observations: FhirResource[] = [];
  for (let p = 0; p < PATIENTS; p++) {
    const pid = `bench-p-${p}`;
    setup.push({
      resourceType: 'Patient',
      id: pid,
      identifier: [{ system: 'urn:mrn', value: `MRN${p}` }],
      name: [{ family: `Family${rng.int(1000)}`, given: [`Given${rng.int(1000)}`] }],
      gender: rng.next() < 0.5 ? 'female' : 'male',
      birthDate: `19${50 + rng.int(49)}-0${1 + rng.int(9)}-1${rng.int(9)}`,
    });
    setup.push({
      resourceType: 'Encounter',
      id: `bench-e-${p}`,
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: { reference: `Patient/${pid}` },
      participant: [{ individual: { reference: 'Practitioner/bench-prac' } }],
    });
    for (let k = 0; k < PER_PATIENT; k++)
      observations.push({
        resourceType: 'Observation',
        id: `bench-o-${p}-${k}`,
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: `Patient/${pid}` },
        effectiveDateTime: `2026-0${1 + rng.int(9)}-1${rng.int(9)}T0${rng.int(9)}:00:00Z`,
        valueQuantity: {
          value: 50 + rng.int(80),
          unit: '/min',
          system: 'http://unitsofmeasure.org',
          code: '/min',
        },
      });
  }
  return { setup, observations };
}

interface Engine {
  name: 'sqlite' | 'postgres';
  open(): Promise<Database>;
  close(): Promise<void>;
}

function sqliteEngine(): Engine {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-vault-'));
  let n = 0;
  return {
    name: 'sqlite',
    // As the server opens it: the WAL is checkpointed by a background thread, never inside a commit.
    open: () => openDatabase({ sqliteFile: path.join(dir, `db-${n++}.sqlite`), backgroundCheckpoints: true }),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresEngine(url: string): Promise<Engine | null> {
  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const schemas: string[] = [];
  return {
    name: 'postgres',
    async open() {
      const schema = `vigil_bench_${randomBytes(6).toString('hex')}`;
      await admin.query(`create schema ${schema}`);
      schemas.push(schema);
      const u = new URL(url);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return openDatabase({ url: u.toString(), poolSize: 4 });
    },
    async close() {
      for (const s of schemas) await admin.query(`drop schema if exists ${s} cascade`);
      await admin.end();
    },
  };
}

/** Operations per second of `n` calls, `concurrency` in flight at a time. */
async function timed(n: number, fn: (i: number) => Promise<unknown>, concurrency = 1): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return n / ((performance.now() - t0) / 1000);
}

/** The plain peer validates like the vault does. */
async function validated<T extends FhirResource>(resources: T[]): Promise<T[]> {
  for (const r of resources) await validateFhir(r);
  return resources;
}

async function plainStore(database: Database): Promise<PlainDb> {
  const db = database.db as unknown as PlainDb;
  await db.schema
    .createTable('bench_plain')
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text')
    .addColumn('body', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('bench_plain_pk', ['resource_type', 'id'])
    .execute();
  // (type, patient, id): a patient's resources in id order, as the search asks for them. Without
  // `id` SQLite prefers walking the primary key to avoid the sort, a scan of every Observation.
  await db.schema
    .createIndex('bench_plain_patient')
    .on('bench_plain')
    .columns(['resource_type', 'patient_id', 'id'])
    .execute();
  return db;
}

const plainRow = (r: FhirResource) => ({
  resource_type: r.resourceType,
  id: r.id!,
  patient_id:
    r.resourceType === 'Patient'
      ? r.id!
      : ((r.subject as { reference?: string } | undefined)?.reference ?? null),
  body: JSON.stringify(r),
});

async function runEngine(engine: Engine, log: (line: string) => void): Promise<Figure[]> {
  const { setup, observations } = dataset();
  const rng = seededRng(7);
  const keyDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-keys-'));
  const vaultDb = await engine.open();
  const plainDb = await engine.open();
  const bus = new MemoryBus({ logger: silentLogger() });
  try {
    await runMigrations(vaultDb, vaultMigrations);
    const vault: Vault = createVault({
      db: vaultDb.db,
      keys: FileKeyRing.open(path.join(keyDir, 'keys')),
      bus,
      clock: systemClock,
      logger: silentLogger(),
    });
    await vault.warmUp();
    const plain = await plainStore(plainDb);
    const statements = plainStatements();
    const figures: Figure[] = [];
    const e = engine.name;

    await vault.importBatch(OPERATOR, setup);
    await vault.linkStaff(OPERATOR, DOC.id, 'bench-prac');
    await statements.insert(plain, setup.map(plainRow));

    // Batched creates.
    const batches = Math.ceil(observations.length / BATCH);
    const slice = (i: number) => observations.slice(i * BATCH, (i + 1) * BATCH);
    const vBatch = (await timed(batches, (i) => vault.importBatch(OPERATOR, slice(i)))) * BATCH;
    const pBatch =
      (await timed(batches, async (i) => {
        const rows = (await validated(slice(i))).map(plainRow);
        await plain.transaction().execute((trx) => statements.insert(trx, rows));
      })) * BATCH;
    log(`${e}: batched creates ${vBatch.toFixed(0)}/s vs plain ${pBatch.toFixed(0)}/s`);
    figures.push(
      figure(`vault.${e}.create.batched`, 'resources/s', vBatch, `plain JSON rows on ${e}`, pBatch),
    );

    // Single creates, as a clinician's POST (validation, care check, encryption, index, audit).
    const single = (i: number): FhirResource => ({
      ...observations[i % observations.length]!,
      id: undefined,
      subject: { reference: `Patient/bench-p-${i % PATIENTS}` },
    });
    const vSingle = await timed(SINGLES, (i) => vault.create(DOC, single(i), 'Observation'));
    const pSingle = await timed(SINGLES, async (i) => {
      const [row] = await validated([{ ...single(i), id: `single-${i}` }]);
      await plain.transaction().execute((trx) => statements.insert(trx, [plainRow(row!)]));
    });
    log(`${e}: single creates ${vSingle.toFixed(0)}/s vs plain ${pSingle.toFixed(0)}/s`);
    figures.push(figure(`vault.${e}.create.single`, 'ops/s', vSingle, `plain JSON insert on ${e}`, pSingle));

    // Reads by id.
    const ids = Array.from({ length: READS }, () => observations[rng.int(observations.length)]!.id!);
    const vRead = await timed(READS, (i) => vault.read(DOC, 'Observation', ids[i]!), CONCURRENCY);
    const pRead = await timed(
      READS,
      async (i) => {
        const [row] = await statements.byId(plain, { id: ids[i]! });
        if (!row) throw new Error(`plain: Observation/${ids[i]} is missing`);
        return JSON.parse(row.body);
      },
      CONCURRENCY,
    );
    log(`${e}: reads ${vRead.toFixed(0)}/s vs plain ${pRead.toFixed(0)}/s`);
    figures.push(figure(`vault.${e}.read`, 'ops/s', vRead, `plain JSON select on ${e}`, pRead));

    // Searches by patient.
    const pids = Array.from({ length: SEARCHES }, () => `bench-p-${rng.int(PATIENTS)}`);
    const vSearch = await timed(
      SEARCHES,
      (i) =>
        vault.search(DOC, 'Observation', [
          ['patient', pids[i]!],
          ['_count', '50'],
        ]),
      CONCURRENCY,
    );
    const pSearch = await timed(
      SEARCHES,
      async (i) => {
        const rows = await statements.byPatient(plain, { patient: `Patient/${pids[i]}` });
        return rows.map((r) => JSON.parse(r.body));
      },
      CONCURRENCY,
    );
    log(`${e}: searches ${vSearch.toFixed(0)}/s vs plain ${pSearch.toFixed(0)}/s`);
    figures.push(figure(`vault.${e}.search`, 'ops/s', vSearch, `plain JSON indexed select on ${e}`, pSearch));

    const audit = await vault.verifyAudit();
    if (!audit.ok) throw new Error('the audit chain does not verify after the benchmark');
    log(`${e}: audit chain intact (${audit.entries} entries)`);
    await sql`select 1`.execute(vaultDb.db);
    return figures;
  } finally {
    await bus.close();
    await vaultDb.close();
    await plainDb.close();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

export const vaultBenchmark: Benchmark = {
  name: 'vault',
  description: `FHIR vault full path vs plain JSON rows (${PATIENTS} patients × ${PER_PATIENT} Observations), SQLite and PostgreSQL`,
  async run(log) {
    const figures: Figure[] = [];
    const sqlite = sqliteEngine();
    try {
      figures.push(...(await runEngine(sqlite, log)));
    } finally {
      await sqlite.close();
    }
    const url = process.env.VIGIL_BENCH_POSTGRES_URL ?? process.env.VIGIL_TEST_POSTGRES_URL;
    const postgres = url ? await postgresEngine(url) : null;
    if (!postgres) {
      log(
        'PostgreSQL: skipped (set VIGIL_BENCH_POSTGRES_URL or VIGIL_TEST_POSTGRES_URL to a reachable server)',
      );
      return figures;
    }
    try {
      figures.push(...(await runEngine(postgres, log)));
    } finally {
      await postgres.close();
    }
    return figures;
  },
};
