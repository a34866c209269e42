/**
 * @module platform/db/planner-stats
 * Planner statistics after a bulk load. PostgreSQL plans from statistics that autovacuum refreshes
 * only a while after a table has grown; right after a bulk import it may believe a table with
 * thousands of rows holds a few dozen, and then prefers a scan of every row of a type to the
 * primary key (PostgreSQL's documentation advises ANALYZE after bulk loading). SQLite's planner
 * works without statistics here (Vigil's queries are shaped for it), and its ANALYZE reads whole
 * indexes, so on SQLite this does nothing.
 */
import { PostgresAdapter, sql } from 'kysely';
import type { AnyDb } from './database.js';

/** Refreshes the planner's statistics of these tables (PostgreSQL; a no-op on SQLite). */
export async function refreshPlannerStats(db: AnyDb, tables: readonly string[]): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  for (const table of tables) await sql`analyze ${sql.table(table)}`.execute(db);
}
