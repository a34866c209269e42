/**
 * @module platform/db/database
 * Opens the database: SQLite (better-sqlite3 12, WAL) by default, PostgreSQL (`pg`) when a
 * postgres URL is given. Domains see a `Kysely` instance and the small `DialectFlags`, never the
 * driver; dialect differences stay here.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import pg from 'pg';
import { startSqliteCheckpointer } from './sqlite-checkpointer.js';
import { cachingStatements } from './sqlite-statements.js';

export type Dialect = 'sqlite' | 'postgres';

/** What differs between engines, as flags (Kysely's habit), so domains need no `if (sqlite)`. */
export interface DialectFlags {
  readonly dialect: Dialect;
  /** SQL type for a JSON document column (text on SQLite, jsonb would change query shapes, so text on both). */
  readonly jsonType: 'text';
  /** Does `count(*)` come back as a string (pg bigint)? Use `toCount()` instead of caring. */
  readonly bigintAsString: boolean;
  /** SQL type for raw bytes (both engines hand back a `Buffer`). */
  readonly blobType: 'blob' | 'bytea';
}

// biome-ignore lint/complexity/noBannedTypes: an empty table map; each domain narrows it with `withTables`.
export type AnyDb = Kysely<{}>;

export interface Database {
  readonly db: AnyDb;
  readonly flags: DialectFlags;
  /** A short description for logs (never the URL: it may hold a password). */
  readonly description: string;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A postgres:// URL; when absent, SQLite at `sqliteFile`. */
  url?: string | undefined;
  /** SQLite file path, or ':memory:'. */
  sqliteFile?: string;
  poolSize?: number;
  /**
   * SQLite only: checkpoint the WAL in a worker thread (sqlite-checkpointer.ts), so no request
   * waits for one. For long-running processes that answer requests (the server, workers).
   */
  backgroundCheckpoints?: boolean;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? 10);
  return openSqlite(options.sqliteFile ?? ':memory:', options.backgroundCheckpoints === true);
}

/**
 * SQLite transactions begin IMMEDIATE: they take the write lock at BEGIN, waiting for it up to the
 * busy timeout. A deferred transaction (SQLite's default) that reads and then writes fails at once
 * with "database is locked" when another process (the CLI during `vigil keys rotate` or an import,
 * a second server) committed a write in between, and the busy timeout cannot help it. In one
 * process better-sqlite3 has one connection and Kysely runs its transactions one at a time anyway.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

function openSqlite(file: string, backgroundCheckpoints: boolean): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const native = new SqliteDatabase(file);
  native.pragma('journal_mode = WAL');
  native.pragma('synchronous = NORMAL');
  native.pragma('foreign_keys = ON');
  native.pragma('busy_timeout = 5000');
  // A server's working set (indexes of every table, the audit trail) outgrows SQLite's default
  // 2 MiB page cache quickly, and each miss is a read through the WAL index: 32 MiB.
  native.pragma('cache_size = -32768');
  // Checkpoint the WAL every ~40 MiB instead of every 4 MiB: a write that touches many index pages
  // (the vault's blind indexes and audit trail) otherwise pays a checkpoint every few dozen
  // commits, and pages written again before a checkpoint are copied once. The file is cut back to
  // 64 MiB after a checkpoint.
  native.pragma('wal_autocheckpoint = 10000');
  native.pragma('journal_size_limit = 67108864');
  // Statement journals in memory: a multi-row insert inside a transaction (the vault's group-
  // committed audit entries, bulk imports) copies every page it changes to a statement journal,
  // which past 64 KiB spills to a temporary file, two system calls per page. Durability is the
  // WAL's business, not the statement journal's (it only undoes a failed statement).
  native.pragma('temp_store = memory');
  // With background checkpoints the connection's own is only a backstop (~200 MiB of WAL).
  const checkpointer =
    backgroundCheckpoints && file !== ':memory:' ? startSqliteCheckpointer(file) : undefined;
  if (checkpointer) native.pragma('wal_autocheckpoint = 50000');
  const db = new Kysely<object>({
    dialect: new ImmediateSqliteDialect({ database: cachingStatements(native) }),
  }) as AnyDb;
  return {
    db,
    flags: { dialect: 'sqlite', jsonType: 'text', bigintAsString: false, blobType: 'blob' },
    description: `sqlite:${file}`,
    async ping() {
      try {
        native.prepare('select 1').get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await checkpointer?.close();
      await db.destroy();
    },
  };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
  // An idle client error must not crash the process; the pool replaces the client.
  pool.on('error', () => {});
  const db = new Kysely<object>({ dialect: new PostgresDialect({ pool }) }) as AnyDb;
  const parsed = new URL(url);
  const database: Database = {
    db,
    flags: { dialect: 'postgres', jsonType: 'text', bigintAsString: true, blobType: 'bytea' },
    description: `postgres://${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await db.destroy();
    },
  };
  return database;
}

/** A count from either engine as a number. */
export function toCount(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return Number.parseInt(value, 10) || 0;
  return 0;
}
