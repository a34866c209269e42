/**
 * A vault on one test database: a fresh key directory, the vault migrations, and every store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/index.js';
import { type Database, openDatabase, runMigrations } from '../../src/platform/db/index.js';
import { FileKeyRing } from '../../src/platform/keys/index.js';
import {
  AuditTrail,
  BlindIndex,
  CheckpointSigner,
  DataKeyStore,
  type PatientRefHasher,
  patientRefHasher,
  SealedResourceStore,
  vaultMigrations,
} from '../../src/vault/index.js';
import { POSTGRES_URL } from '../support/databases.js';

export interface VaultFixture {
  database: Database;
  keys: FileKeyRing;
  keyDir: string;
  clock: ManualClock;
  dataKeys: DataKeyStore;
  resources: SealedResourceStore;
  index: BlindIndex;
  signer: CheckpointSigner;
  audit: AuditTrail;
  patientRef: PatientRefHasher;
  close(): Promise<void>;
}

export async function vaultFixture(
  database: Database,
  options: { checkpointEvery?: number; cacheSize?: number } = {},
): Promise<VaultFixture> {
  await runMigrations(database, vaultMigrations);
  const base = mkdtempSync(path.join(tmpdir(), 'vigil-vault-'));
  const keyDir = path.join(base, 'keys');
  const keys = FileKeyRing.open(keyDir);
  const clock = new ManualClock('2026-03-01T08:00:00.000Z');
  const dataKeys = new DataKeyStore(database.db, keys, { clock, cacheSize: options.cacheSize ?? 100 });
  const signer = CheckpointSigner.fromKeyRing(keys);
  return {
    database,
    keys,
    keyDir,
    clock,
    dataKeys,
    resources: new SealedResourceStore(database.db, dataKeys),
    index: new BlindIndex(database.db, keys),
    signer,
    audit: new AuditTrail(database.db, signer, { clock, checkpointEvery: options.checkpointEvery ?? 0 }),
    patientRef: patientRefHasher(keys),
    async close() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * A second, independent connection pool to the same database (another "server process"): the
 * same PostgreSQL schema, or the same SQLite file.
 */
export async function secondConnection(database: Database): Promise<Database> {
  if (database.flags.dialect === 'sqlite') {
    return openDatabase({ sqliteFile: database.description.replace(/^sqlite:/, '') });
  }
  const { sql } = await import('kysely');
  const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(database.db)).rows[0]!.s;
  const u = new URL(POSTGRES_URL!);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return openDatabase({ url: u.toString(), poolSize: 4 });
}
