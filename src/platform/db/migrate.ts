/**
 * @module platform/db/migrate
 * Versioned migrations. Each domain exports an ordered list; the composition root concatenates
 * them (foundation first) and `runMigrations` applies the ones not yet recorded.
 *
 * Each migration runs in its own transaction together with the row that records it, on both
 * engines: PostgreSQL and SQLite both have transactional DDL (SQLite's `CREATE TABLE`/`ALTER
 * TABLE` roll back with the transaction; the WAL journal makes that survive a crash). So a
 * migration interrupted by an error, a kill or a power cut leaves the database exactly at the
 * previous version, usable, and the next start applies it again. On PostgreSQL an advisory lock
 * serialises servers and workers that start at the same moment.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { AnyDb, Database, DialectFlags } from './database.js';

export interface Migration {
  /** Unique, stable id, e.g. `identity-0001-users`. Never rename or edit an applied migration. */
  readonly id: string;
  up(db: Transaction<object> | Kysely<object>, flags: DialectFlags): Promise<void>;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

const TABLE = 'vigil_migrations';
const LOCK_KEY = 7_106_169_108; // "vigil" as a number: the advisory lock id on PostgreSQL

async function ensureTable(db: AnyDb): Promise<void> {
  await db.schema
    .createTable(TABLE)
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .execute();
}

async function appliedIds(db: Kysely<object> | Transaction<object>): Promise<Set<string>> {
  const rows = await sql<{ id: string }>`select id from ${sql.table(TABLE)}`.execute(db);
  return new Set(rows.rows.map((r) => r.id));
}

export async function runMigrations(
  database: Database,
  migrations: readonly Migration[],
  onApply?: (id: string) => void,
): Promise<MigrationResult> {
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`Duplicate migration id ${m.id}`);
    ids.add(m.id);
  }
  await ensureTable(database.db);
  const before = await appliedIds(database.db);
  const applied: string[] = [];
  for (const migration of migrations) {
    if (before.has(migration.id)) continue;
    await database.db.transaction().execute(async (trx) => {
      if (database.flags.dialect === 'postgres') {
        await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(trx);
        // Another process may have applied it while we waited for the lock.
        if ((await appliedIds(trx)).has(migration.id)) return;
      }
      await migration.up(trx, database.flags);
      await sql`insert into ${sql.table(TABLE)} (id, applied_at) values (${migration.id}, ${new Date().toISOString()})`.execute(
        trx,
      );
      applied.push(migration.id);
      onApply?.(migration.id);
    });
  }
  return { applied, alreadyApplied: before.size };
}

/** Migrations recorded in the database (for `vigil migrate --status`). */
export async function listAppliedMigrations(
  database: Database,
): Promise<Array<{ id: string; appliedAt: string }>> {
  await ensureTable(database.db);
  const rows = await sql<{
    id: string;
    applied_at: string;
  }>`select id, applied_at from ${sql.table(TABLE)} order by applied_at, id`.execute(database.db);
  return rows.rows.map((r) => ({ id: r.id, appliedAt: r.applied_at }));
}
