/**
 * Runs a suite on every database engine: SQLite always, PostgreSQL when VIGIL_TEST_POSTGRES_URL
 * is set (CI sets it). Each PostgreSQL suite gets its own schema, dropped afterwards, so suites
 * never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/platform/db/index.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

export const POSTGRES_URL = process.env.VIGIL_TEST_POSTGRES_URL;

export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [sqliteDb()];
  if (POSTGRES_URL) list.push(postgresDb(POSTGRES_URL));
  return list;
}

function sqliteDb(): TestDatabase {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-db-'));
  let n = 0;
  return {
    name: 'sqlite',
    open: () => openDatabase({ sqliteFile: path.join(dir, `db-${n++}.sqlite`) }),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresDb(url: string): TestDatabase {
  const schemas: string[] = [];
  return {
    name: 'postgres',
    async open() {
      const schema = `vigil_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      schemas.push(schema);
      const u = new URL(url);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return openDatabase({ url: u.toString(), poolSize: 4 });
    },
    async cleanup() {
      if (!schemas.length) return;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      for (const s of schemas.splice(0)) await admin.query(`drop schema if exists ${s} cascade`);
      await admin.end();
    },
  };
}
