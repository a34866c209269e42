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
  type SqliteDatabase as KyselySqliteDatabase,
  PostgresDialect,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import pg from 'pg';
import { writeInTransaction } from './insert-rows.js';
import { startSqliteCheckpointer } from './sqlite-checkpointer.js';
import { cachingStatements } from './sqlite-statements.js';
import { type OffThreadWriter, startSqliteWriter, ThreadWriteLock } from './sqlite-writer.js';

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
  /**
   * SQLite files opened with `backgroundCheckpoints` only: writes run by a worker thread
   * (sqlite-writer.ts), for append-only logs written at request rates. Absent: write in the thread.
   */
  readonly offThread?: OffThreadWriter;
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
   * waits for one, and offer `offThread` writes. For long-running processes that answer requests
   * (the server, workers).
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
 *
 * With a writer thread (sqlite-writer.ts) the connection first takes the threads' own write lock,
 * without blocking the event loop: for each transaction, from BEGIN to its end, and for each
 * statement outside one that writes (not `readonly` for SQLite). Reads never wait for it.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  #inTransaction = false;

  constructor(
    config: SqliteDialectConfig,
    private readonly lock: ThreadWriteLock | undefined,
    private readonly statements: KyselySqliteDatabase,
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    if (!this.lock) return connection;
    return {
      executeQuery: (query) => this.#guarded(connection, query),
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await this.lock?.acquire();
    this.#inTransaction = true;
    try {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    } catch (err) {
      this.#end();
      throw err;
    }
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.commitTransaction(connection);
    } finally {
      this.#end();
    }
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } finally {
      this.#end();
    }
  }

  async #guarded<R>(connection: DatabaseConnection, query: CompiledQuery): Promise<QueryResult<R>> {
    const lock = this.lock;
    if (!lock || this.#inTransaction || this.#readonly(query.sql)) return connection.executeQuery<R>(query);
    await lock.acquire();
    try {
      return await connection.executeQuery<R>(query);
    } finally {
      lock.release();
    }
  }

  /** Whether SQLite says the statement writes nothing (prepared once, from the statement cache). */
  #readonly(text: string): boolean {
    return (this.statements.prepare(text) as unknown as { readonly: boolean }).readonly;
  }

  #end(): void {
    if (!this.#inTransaction) return;
    this.#inTransaction = false;
    this.lock?.release();
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig & { database: KyselySqliteDatabase };
  constructor(
    config: SqliteDialectConfig & { database: KyselySqliteDatabase },
    private readonly lock?: ThreadWriteLock,
  ) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.lock, this.#config.database);
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
  // A writer thread (sqlite-writer.ts) beside the checkpointer, on the same lock as this connection.
  const lock = checkpointer ? new ThreadWriteLock() : undefined;
  const db = new Kysely<object>({
    dialect: new ImmediateSqliteDialect({ database: cachingStatements(native) }, lock),
  }) as AnyDb;
  const writer = lock
    ? startSqliteWriter(file, lock, (statements) => writeInTransaction(db, statements))
    : undefined;
  return {
    db,
    flags: { dialect: 'sqlite', jsonType: 'text', bigintAsString: false, blobType: 'blob' },
    description: `sqlite:${file}`,
    ...(writer ? { offThread: writer } : {}),
    async ping() {
      try {
        native.prepare('select 1').get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await writer?.close();
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
