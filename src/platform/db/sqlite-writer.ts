/**
 * @module platform/db/sqlite-writer
 * Writes off the event loop, for high-volume append-only logs (the gateway's decisions). SQLite
 * through better-sqlite3 is synchronous: a batch of a few dozen rows with its indexes and its
 * commit holds the event loop for about a millisecond, and every request that arrives meanwhile
 * waits. At a thousand gateway checks a second that was most of the gateway's p99. Here a worker
 * thread with its own connection to the same file runs each batch (its statements in one
 * transaction); the caller awaits the commit, so what it writes is durable and readable by the
 * server's own connection once the promise resolves, as with a write in the thread.
 *
 * The two connections share SQLite's single write lock, and SQLite's own wait for it (the busy
 * timeout) is a poll that sleeps the thread: 1, 2, 5, 10… ms at a time, blind to when the lock
 * frees. Against a writer thread that commits batch after batch, a server write measured 200–340 ms
 * waiting so, with the event loop stopped. So the two threads take turns on a lock of their own
 * first ({@link ThreadWriteLock}, in shared memory): the server's connection awaits it without
 * blocking (Atomics.waitAsync) before each write and for the length of each transaction, the
 * worker waits for it (Atomics.wait) before each batch and lets a waiting server go first. SQLite
 * then never finds its lock taken by the other thread; other processes (the CLI) still meet the
 * busy timeout, as before. Never await a `write` inside a transaction of the same database: the
 * batch would wait for the transaction, and the transaction for the batch.
 *
 * Should the worker stop (it should not), batches run on the server's own connection: nothing is
 * lost, only the latency comes back.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { WriteStatement } from './insert-rows.js';

/** Runs batches of statements, each batch in one transaction. */
export interface OffThreadWriter {
  /** Resolves once the batch is committed; rejects (nothing of it written) if a statement fails. */
  write(statements: readonly WriteStatement[]): Promise<void>;
}

/** `Atomics.waitAsync` (in Node since 16; TypeScript's lib has it from ES2024). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeoutMs: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** The lock word: free, or held by the server's thread or by the writer thread. */
const FREE = 0;
const SERVER = 1;
const WRITER = 2;

/**
 * The server thread's side of the lock the two threads take before writing (see the module
 * comment). Word 0 says who holds it; word 1 counts server waiters, whom the writer lets go first.
 * One holder at a time on the server's side: Kysely runs one statement or transaction at a time
 * on SQLite's single connection.
 */
export class ThreadWriteLock {
  readonly buffer = new SharedArrayBuffer(8);
  private readonly word = new Int32Array(this.buffer);

  async acquire(): Promise<void> {
    if (Atomics.compareExchange(this.word, 0, FREE, SERVER) === FREE) return;
    Atomics.add(this.word, 1, 1);
    try {
      for (;;) {
        const holder = Atomics.compareExchange(this.word, 0, FREE, SERVER);
        if (holder === FREE) return;
        // Waits while the holder stays the same (never spins, whoever holds it).
        const wait = waitAsync(this.word, 0, holder, 100);
        if (wait.async) await wait.value;
      }
    } finally {
      Atomics.sub(this.word, 1, 1);
      Atomics.notify(this.word, 1);
    }
  }

  release(): void {
    if (Atomics.compareExchange(this.word, 0, SERVER, FREE) === SERVER) Atomics.notify(this.word, 0);
  }

  /** The writer thread stopped: a lock it held is free again. */
  releaseWriter(): void {
    if (Atomics.compareExchange(this.word, 0, WRITER, FREE) === WRITER) Atomics.notify(this.word, 0);
  }
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const word = new Int32Array(workerData.lock);
const acquire = () => {
  for (;;) {
    // A server thread waiting for the lock goes first.
    for (let n = Atomics.load(word, 1); n > 0; n = Atomics.load(word, 1)) Atomics.wait(word, 1, n, 50);
    if (Atomics.compareExchange(word, 0, ${FREE}, ${WRITER}) === ${FREE}) return;
    Atomics.wait(word, 0, ${SERVER}, 50);
  }
};
const release = () => {
  Atomics.store(word, 0, ${FREE});
  Atomics.notify(word, 0);
};
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('temp_store = memory');
// Checkpoints: see checkpointSoon below; never inline in a commit, which holds the threads' lock.
db.pragma('wal_autocheckpoint = 0');
// This thread writes most of what goes into the WAL, so it copies the WAL back itself, after a
// batch and outside the threads' lock, at most every 250 ms (a passive checkpoint: it neither
// waits for nor blocks the server's connection). Caught up right after its own commit, it lets
// the next transaction start the WAL over. Left to the server's checkpointer (every second), the
// WAL never caught up while this thread kept appending, grew to the server connection's backstop
// (~200 MiB), and the server's next commit copied it all back inline: a write of 150-400 ms.
let checkpointedAt = 0;
const checkpointSoon = () => {
  const now = Date.now();
  if (now - checkpointedAt < 250) return;
  checkpointedAt = now;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // The server's checkpointer and its backstop remain.
  }
};
const cache = new Map();
const prepared = (sql) => {
  let s = cache.get(sql);
  if (!s) {
    s = db.prepare(sql);
    if (cache.size >= 64) cache.delete(cache.keys().next().value);
    cache.set(sql, s);
  }
  return s;
};
const begin = db.prepare('begin immediate');
const commit = db.prepare('commit');
const rollback = db.prepare('rollback');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let reply;
  acquire();
  try {
    begin.run();
    try {
      for (const s of m.statements) prepared(s.sql).run(s.parameters);
      commit.run();
    } catch (err) {
      if (db.inTransaction) rollback.run();
      throw err;
    }
    reply = { id: m.id, ok: true };
  } catch (err) {
    reply = { id: m.id, ok: false, error: String((err && err.message) || err) };
  } finally {
    release();
  }
  parentPort.postMessage(reply);
  checkpointSoon();
});
`;

interface Pending {
  resolve(): void;
  reject(err: Error): void;
  statements: readonly WriteStatement[];
}

export interface SqliteWriterThread extends OffThreadWriter {
  /** Waits for the batches in flight, then stops the worker and closes its connection. */
  close(): Promise<void>;
}

/**
 * Starts the writer thread on `file` (an existing SQLite database in WAL mode), taking turns with
 * the server's connection on `lock`. `fallback` runs a batch on the server's own connection, in
 * one transaction, when the worker has stopped.
 */
export function startSqliteWriter(
  file: string,
  lock: ThreadWriteLock,
  fallback: (statements: readonly WriteStatement[]) => Promise<void>,
): SqliteWriterThread {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { file, driver, lock: lock.buffer } });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const pending = new Map<number, Pending>();
  let idle: (() => void)[] = [];
  let next = 0;
  let stopped = false;
  const settled = () => {
    if (pending.size > 0) return;
    worker.unref();
    const waiting = idle;
    idle = [];
    for (const w of waiting) w();
  };
  const runHere = (p: Pending) => fallback(p.statements).then(p.resolve, p.reject);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    lock.releaseWriter();
    // What the worker held had not been committed (a batch is one transaction): it runs here.
    const held = [...pending.values()];
    pending.clear();
    settled();
    for (const p of held) void runHere(p);
  };
  worker.on('message', (m: { id: number; ok: boolean; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    settled();
    if (m.ok) p.resolve();
    else p.reject(new Error(m.error ?? 'the write failed'));
  });
  worker.on('error', stop);
  worker.on('exit', stop);
  let closing: Promise<void> | undefined;
  return {
    write(statements) {
      if (statements.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const p: Pending = { resolve, reject, statements };
        if (stopped || closing) return void runHere(p);
        const id = next++;
        pending.set(id, p);
        // Held while a batch is in flight, so the process cannot end before its commit.
        worker.ref();
        worker.postMessage({ id, statements });
      });
    },
    close() {
      closing ??= (async () => {
        if (pending.size > 0) await new Promise<void>((resolve) => idle.push(resolve));
        if (!stopped) {
          worker.ref();
          worker.postMessage('close');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 2000)))]);
          clearTimeout(timer);
        }
        stopped = true;
        await worker.terminate();
      })();
      return closing;
    },
  };
}
