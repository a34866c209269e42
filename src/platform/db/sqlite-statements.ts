/**
 * @module platform/db/sqlite-statements
 * A prepared-statement cache in front of better-sqlite3 for Kysely. Kysely's SQLite driver
 * prepares every query it runs; preparing costs as much as running a small query, and a server
 * runs the same few hundred statements all day. The cache keeps the most recently used
 * statements by their SQL text (bounded), and hands out a fresh one when the cached statement is
 * still being iterated (a stream in progress), since a better-sqlite3 statement runs one at a time.
 * SQLite re-prepares a cached statement itself when the schema changes (sqlite3_prepare_v2).
 */
import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase, SqliteStatement } from 'kysely';

const DEFAULT_CAPACITY = 512;

export function cachingStatements(
  native: SqliteDatabase.Database,
  capacity = DEFAULT_CAPACITY,
): KyselySqliteDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        // Re-insert: a Map keeps insertion order, so the first key is the least recently used.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit as unknown as SqliteStatement;
      }
      const statement = native.prepare(sql);
      if (!hit) {
        cache.set(sql, statement);
        if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
      }
      return statement as unknown as SqliteStatement;
    },
    close() {
      cache.clear();
      native.close();
    },
  };
}
