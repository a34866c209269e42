/**
 * @module platform/db/sqlite-checkpointer
 * WAL checkpoints off the event loop. SQLite copies the write-ahead log back into the database
 * file in the connection that commits past `wal_autocheckpoint`, and better-sqlite3 is
 * synchronous: a server would stop answering for as long as that copy takes (tens to hundreds of
 * milliseconds with a large WAL). A server instead runs passive checkpoints every second in a
 * worker thread with its own connection; passive checkpoints never wait for, nor block, the
 * server's readers and writers. The server's own autocheckpoint stays as a backstop, set high.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const run = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message) });
  }
};
const timer = setInterval(run, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'now') run();
  if (m === 'close') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
`;

export interface CheckpointReport {
  ok: boolean;
  /** Frames in the WAL, and how many of them are now in the database file. */
  log?: number;
  checkpointed?: number;
  error?: string;
}

export interface SqliteCheckpointer {
  /** Runs one checkpoint now; resolves with its report. */
  checkpoint(): Promise<CheckpointReport>;
  close(): Promise<void>;
}

/** Starts passive checkpoints of `file` every `everyMs` in a worker thread. */
export function startSqliteCheckpointer(
  file: string,
  everyMs = 1000,
  onReport?: (r: CheckpointReport) => void,
): SqliteCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { file, driver, everyMs } });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const waiting: Array<(r: CheckpointReport) => void> = [];
  worker.on('message', (r: CheckpointReport) => {
    onReport?.(r);
    waiting.shift()?.(r);
  });
  // A failed checkpointer leaves the connection's own autocheckpoint to do the work.
  worker.on('error', (err) => onReport?.({ ok: false, error: err.message }));
  return {
    checkpoint() {
      return new Promise((resolve) => {
        waiting.push(resolve);
        worker.postMessage('now');
      });
    },
    async close() {
      // Held until it has closed its connection (unreferenced, the process could end meanwhile).
      worker.ref();
      worker.postMessage('close');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
