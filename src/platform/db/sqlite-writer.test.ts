import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import type { WriteStatement } from './insert-rows.js';
import { startSqliteWriter, ThreadWriteLock } from './sqlite-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function fileDatabase(name: string) {
  const database = await openDatabase({ sqliteFile: path.join(dir, name), backgroundCheckpoints: true });
  await sql`create table log (id integer primary key, body text not null)`.execute(database.db);
  await sql`create table other (id integer primary key, v text not null)`.execute(database.db);
  return database;
}

const rowsOf = (from: number, n: number): WriteStatement => ({
  sql: `insert into log (id, body) values ${Array.from({ length: n }, () => '(?, ?)').join(', ')}`,
  parameters: Array.from({ length: n }, (_, i) => [from + i, `row ${from + i}`]).flat(),
});

const count = async (database: Awaited<ReturnType<typeof fileDatabase>>, table: 'log' | 'other') =>
  Number(
    (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(database.db)).rows[0]!.n,
  );

describe('off-thread SQLite writes', () => {
  it('is offered for a SQLite file opened for a server, not in memory nor without background checkpoints', async () => {
    const memory = await openDatabase({ sqliteFile: ':memory:', backgroundCheckpoints: true });
    const plain = await openDatabase({ sqliteFile: path.join(dir, 'plain.sqlite') });
    const server = await fileDatabase('server.sqlite');
    try {
      expect(memory.offThread).toBeUndefined();
      expect(plain.offThread).toBeUndefined();
      expect(server.offThread).toBeDefined();
    } finally {
      await Promise.all([memory.close(), plain.close(), server.close()]);
    }
  });

  it('commits a batch before it resolves: the server connection reads it at once', async () => {
    const database = await fileDatabase('commit.sqlite');
    try {
      await database.offThread!.write([rowsOf(1, 50), rowsOf(51, 50)]);
      expect(await count(database, 'log')).toBe(100);
      const last = await sql<{ body: string }>`select body from log where id = 100`.execute(database.db);
      expect(last.rows[0]!.body).toBe('row 100');
    } finally {
      await database.close();
    }
  });

  it('writes a batch all or nothing, and says why it failed', async () => {
    const database = await fileDatabase('atomic.sqlite');
    try {
      await database.offThread!.write([rowsOf(1, 10)]);
      // The second statement repeats id 5: the whole batch, first statement included, is undone.
      await expect(database.offThread!.write([rowsOf(11, 10), rowsOf(5, 1)])).rejects.toThrow(/UNIQUE/);
      await expect(
        database.offThread!.write([{ sql: 'insert into nowhere values (?)', parameters: [1] }]),
      ).rejects.toThrow(/no such table/);
      expect(await count(database, 'log')).toBe(10);
      // The thread goes on after a failed batch.
      await database.offThread!.write([rowsOf(100, 5)]);
      expect(await count(database, 'log')).toBe(15);
    } finally {
      await database.close();
    }
  });

  it("takes turns with the server's writes and transactions: the server never meets SQLite's lock taken", async () => {
    const database = await fileDatabase('turns.sqlite');
    try {
      // No busy wait on the server's connection: a write that found SQLite's write lock held by
      // the writer thread would fail at once with SQLITE_BUSY. Taking turns, none does.
      await sql`pragma busy_timeout = 0`.execute(database.db);
      await database.offThread!.write([rowsOf(-1, 1)]); // the thread is up and writing
      const batches = Array.from({ length: 200 }, (_, b) => database.offThread!.write([rowsOf(b * 64, 64)]));
      // The server's writes one after another, while the thread works through its batches.
      const server = (async () => {
        for (let i = 0; i < 100; i++) {
          await sql`insert into other (v) values (${`single ${i}`})`.execute(database.db);
          await database.db.transaction().execute(async (trx) => {
            await sql`insert into other (v) values (${`tx ${i} a`})`.execute(trx);
            await sql`insert into other (v) values (${`tx ${i} b`})`.execute(trx);
          });
        }
      })();
      await Promise.all([...batches, server]);
      expect(await count(database, 'log')).toBe(200 * 64 + 1);
      expect(await count(database, 'other')).toBe(300);
    } finally {
      await database.close();
    }
  });

  it('a transaction that fails gives the lock back: the writer thread goes on', async () => {
    const database = await fileDatabase('rollback.sqlite');
    try {
      await expect(
        database.db.transaction().execute(async (trx) => {
          await sql`insert into other (v) values ('kept?')`.execute(trx);
          throw new Error('the caller gave up');
        }),
      ).rejects.toThrow('the caller gave up');
      await database.offThread!.write([rowsOf(1, 3)]);
      expect(await count(database, 'log')).toBe(3);
      expect(await count(database, 'other')).toBe(0);
    } finally {
      await database.close();
    }
  });

  it('close waits for the batches in flight', async () => {
    const database = await fileDatabase('close.sqlite');
    const file = path.join(dir, 'close.sqlite');
    const writes = Array.from({ length: 20 }, (_, b) => database.offThread!.write([rowsOf(b * 100, 100)]));
    await database.close();
    await Promise.all(writes);
    const again = await openDatabase({ sqliteFile: file });
    try {
      expect(
        Number((await sql<{ n: number }>`select count(*) as n from log`.execute(again.db)).rows[0]!.n),
      ).toBe(2000);
    } finally {
      await again.close();
    }
  });

  it('runs the batches in the calling thread when the worker cannot work (nothing lost)', async () => {
    const ran: WriteStatement[][] = [];
    const writer = startSqliteWriter(
      path.join(dir, 'missing', 'nope.sqlite'),
      new ThreadWriteLock(),
      async (s) => {
        ran.push([...s]);
      },
    );
    try {
      // The worker fails to open the file and stops; the batch written meanwhile or after goes to the fallback.
      await writer.write([rowsOf(1, 2)]);
      await new Promise((r) => setTimeout(r, 200));
      await writer.write([rowsOf(3, 2)]);
      expect(ran.map((batch) => batch[0]!.parameters[0])).toEqual([1, 3]);
    } finally {
      await writer.close();
    }
  });
});

describe('the threads write lock', () => {
  it('is taken at once when free, and waited for (without blocking) while the other thread holds it', async () => {
    const lock = new ThreadWriteLock();
    await lock.acquire();
    lock.release();
    const word = new Int32Array(lock.buffer);
    Atomics.store(word, 0, 2); // the writer thread holds it
    let got = false;
    const waiting = lock.acquire().then(() => {
      got = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toBe(false);
    expect(Atomics.load(word, 1)).toBe(1); // the writer would let the server go first
    lock.releaseWriter();
    await waiting;
    expect(got).toBe(true);
    expect(Atomics.load(word, 0)).toBe(1);
    expect(Atomics.load(word, 1)).toBe(0);
    lock.release();
    expect(Atomics.load(word, 0)).toBe(0);
    // Releasing what the other side holds does nothing.
    Atomics.store(word, 0, 2);
    lock.release();
    expect(Atomics.load(word, 0)).toBe(2);
  });
});
