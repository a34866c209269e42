export { type CompiledOnce, compiledOnce, type SlotValues } from './compiled-once.js';
export {
  type AnyDb,
  type Database,
  type Dialect,
  type DialectFlags,
  type OpenDatabaseOptions,
  openDatabase,
  toCount,
} from './database.js';
export { rowInserter, type WriteStatement, writeInTransaction } from './insert-rows.js';
export { listAppliedMigrations, type Migration, type MigrationResult, runMigrations } from './migrate.js';
export { refreshPlannerStats } from './planner-stats.js';
export type { OffThreadWriter } from './sqlite-writer.js';
