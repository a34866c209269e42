import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { startSqliteCheckpointer } from './sqlite-checkpointer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('background WAL checkpoints', () => {
  it('copies the WAL into the database from a worker thread, and the next write starts the WAL over', async () => {
    const file = path.join(dir, 'a.sqlite');
    const db = new SqliteDatabase(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('create table t (id integer primary key, body text)');
    const insert = db.prepare('insert into t (body) values (?)');
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run('x'.repeat(200));
    })();
    const wal = `${file}-wal`;
    const before = statSync(wal).size;
    expect(before).toBeGreaterThan(1_000_000);
    const checkpointer = startSqliteCheckpointer(file, 60_000);
    try {
      const r = await checkpointer.checkpoint();
      expect(r.ok).toBe(true);
      expect(r.log).toBeGreaterThan(0);
      expect(r.checkpointed).toBe(r.log);
      // The frames are in the database file: a fresh connection without the WAL reads them all.
      insert.run('after');
      const again = await checkpointer.checkpoint();
      expect(again.ok).toBe(true);
      expect(again.log).toBeLessThan(r.log!);
      expect((db.prepare('select count(*) as n from t').get() as { n: number }).n).toBe(5001);
    } finally {
      await checkpointer.close();
      db.close();
    }
  });

  it('reports a file that cannot be opened instead of failing the process', async () => {
    const reports: Array<{ ok: boolean; error?: string }> = [];
    const checkpointer = startSqliteCheckpointer(path.join(dir, 'missing', 'nope.sqlite'), 60_000, (r) =>
      reports.push(r),
    );
    await new Promise((r) => setTimeout(r, 500));
    await checkpointer.close();
    expect(reports.some((r) => !r.ok)).toBe(true);
  });

  it('a database opened with background checkpoints works and closes with its worker', async () => {
    const database = await openDatabase({
      sqliteFile: path.join(dir, 'b.sqlite'),
      backgroundCheckpoints: true,
    });
    await sql`create table t (id integer primary key)`.execute(database.db);
    await sql`insert into t (id) values (1)`.execute(database.db);
    expect(await database.ping()).toBe(true);
    await database.close();
  });
});
