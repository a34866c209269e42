/**
 * @module sensor/zeek/follow
 * Follows Zeek logs as Zeek writes them, like `tail -F`: a file or every log in a directory is
 * read from its start and then polled for appended lines. A file is tracked by its inode through
 * an open descriptor, so a rotated log (renamed away, or deleted) is read to its end and the new
 * file under the old name is picked up from its start; a file that shrinks, or whose last bytes
 * read changed (truncated and rewritten between two polls), is read again from its start; logs that appear in the directory are added. Gzip logs are complete
 * archives: each is read once when its size has settled. Memory stays bounded: reads are at most
 * 1 MiB at a time and lines are bounded as for whole files.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { VigilEvent } from '../../core/index.js';
import { LineSplitter } from './lines.js';
import {
  logNameOf,
  MAX_ZEEK_LINE_BYTES,
  newZeekStats,
  readZeekFile,
  ZeekLineReader,
  type ZeekReadStats,
} from './read.js';

/** The log files of a directory that the sensor reads (Zeek's `.log`, `.json`, gzipped or not). */
export const ZEEK_FILE = /\.(log|json)(\.gz)?$/;

/** Something worth telling the operator about a followed file. */
export interface FollowNote {
  file: string;
  what: 'following' | 'rotated' | 'truncated' | 'gone' | 'read-archive' | 'unreadable';
}

/** Options of `followZeek`. */
export interface FollowOptions {
  /** Stops following; what was already written is read first. */
  signal: AbortSignal;
  /** Receives events in batches, in file order; awaited (back-pressure). */
  onEvents: (events: VigilEvent[]) => Promise<void>;
  onNote?: (note: FollowNote) => void;
  /** Poll interval (default 500 ms). */
  pollMs?: number;
  /** Events per batch at most (default 512). */
  batchSize?: number;
  /** Where the counts are kept (to watch them while following); a new map by default. */
  stats?: Map<string, ZeekReadStats>;
}

interface Tracked {
  /** The name it was first found under (summaries are keyed by it). */
  name: string;
  /** The name it has now. */
  current: string;
  fd: number;
  dev: number;
  ino: number;
  pos: number;
  /** The last bytes read (up to MARK_BYTES) before `pos`: a file rewritten in place differs there. */
  mark: Buffer;
  lines: LineSplitter;
  reader: ZeekLineReader;
  /** Not listed any more (rotated away or deleted): read to its end, then closed. */
  orphan: boolean;
}

const READ_BYTES = 1024 * 1024;
const MARK_BYTES = 64;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Follows `target` (a log file or a directory of logs) until `signal` aborts; returns the
 * statistics of every file read, keyed by the name it was first found under.
 */
export async function followZeek(
  target: string,
  options: FollowOptions,
): Promise<Map<string, ZeekReadStats>> {
  const isDir = statSync(target, { throwIfNoEntry: false })?.isDirectory() ?? false;
  const stats = options.stats ?? new Map<string, ZeekReadStats>();
  const tracked = new Map<string, Tracked>();
  const archives = new Map<string, { size: number; done: boolean }>();
  const batchSize = options.batchSize ?? 512;
  const note = (file: string, what: FollowNote['what']) => options.onNote?.({ file, what });
  let batch: VigilEvent[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const out = batch;
    batch = [];
    await options.onEvents(out);
  };

  const statsOf = (name: string) => {
    let s = stats.get(name);
    if (!s) {
      s = newZeekStats();
      stats.set(name, s);
    }
    return s;
  };

  const list = (): string[] => {
    if (!isDir) return [target];
    try {
      return readdirSync(target)
        .filter((f) => ZEEK_FILE.test(f))
        .sort()
        .map((f) => path.join(target, f));
    } catch {
      return [];
    }
  };

  const open = (file: string): Tracked | null => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return null;
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      return null;
    }
    const key = `${st.dev}:${st.ino}`;
    const t: Tracked = {
      name: file,
      current: file,
      fd,
      dev: st.dev,
      ino: st.ino,
      pos: 0,
      mark: Buffer.alloc(0),
      lines: new LineSplitter(MAX_ZEEK_LINE_BYTES),
      reader: new ZeekLineReader(logNameOf(file), statsOf(file)),
      orphan: false,
    };
    tracked.set(key, t);
    note(file, 'following');
    return t;
  };

  const close = (key: string, t: Tracked) => {
    if (t.lines.reset()) t.reader.skip('incomplete-last-line');
    closeSync(t.fd);
    tracked.delete(key);
  };

  /** True when the bytes before `t.pos` are no longer those read: rewritten in place. */
  const rewritten = (t: Tracked): boolean => {
    if (!t.mark.length) return false;
    const now = Buffer.alloc(t.mark.length);
    const n = readSync(t.fd, now, 0, now.length, t.pos - t.mark.length);
    return n !== now.length || !now.equals(t.mark);
  };

  /** Reads what was appended to `t` since the last time; restarts it when it shrank or was rewritten. */
  const drain = async (t: Tracked) => {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let checked = false;
    for (;;) {
      const size = fstatSync(t.fd).size;
      if (size < t.pos || (!checked && rewritten(t))) {
        // Truncated under us (`> conn.log`, copytruncate rotation), perhaps already rewritten
        // past where we were: start again from the top.
        note(t.current, 'truncated');
        if (t.lines.reset()) t.reader.skip('truncated-line');
        t.reader.restart();
        t.pos = 0;
        t.mark = Buffer.alloc(0);
      }
      checked = true;
      if (size === t.pos) return;
      const n = readSync(t.fd, buf, 0, Math.min(READ_BYTES, size - t.pos), t.pos);
      if (n <= 0) return;
      t.pos += n;
      t.mark =
        n >= MARK_BYTES
          ? Buffer.from(buf.subarray(n - MARK_BYTES, n))
          : Buffer.concat([t.mark, buf.subarray(0, n)]).subarray(-MARK_BYTES);
      t.lines.push(buf.subarray(0, n), (line) => {
        const e = t.reader.line(line);
        if (e) batch.push(e);
      });
      if (t.reader.stopped && t.pos < size) {
        // Not a Zeek log: skip whatever it holds now; a truncation gives it another chance.
        t.pos = size;
        t.mark = Buffer.alloc(0);
        t.lines.reset();
      }
      if (batch.length >= batchSize) await flush();
    }
  };

  const readArchive = async (file: string) => {
    note(file, 'read-archive');
    for await (const events of readZeekFile(file, statsOf(file))) {
      for (const e of events) batch.push(e);
      if (batch.length >= batchSize) await flush();
    }
  };

  const tick = async () => {
    const seen = new Set<string>();
    for (const file of list()) {
      if (file.endsWith('.gz')) {
        const st = statSync(file, { throwIfNoEntry: false });
        if (!st?.isFile()) continue;
        const a = archives.get(file);
        if (a?.done) continue;
        // A gzip archive is read once, when its size has not moved since the last poll.
        if (a && a.size === st.size) {
          a.done = true;
          await readArchive(file);
        } else archives.set(file, { size: st.size, done: false });
        continue;
      }
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st?.isFile()) continue;
      const key = `${st.dev}:${st.ino}`;
      seen.add(key);
      const known = tracked.get(key);
      if (known) {
        if (known.current !== file) {
          // Renamed (rotated) into another listed name: same file, keep reading it.
          note(known.current, 'rotated');
          known.current = file;
        }
        known.orphan = false;
        continue;
      }
      // A new file under a name we followed means the old one was rotated away.
      for (const t of tracked.values())
        if (t.current === file && !t.orphan) {
          t.orphan = true;
          note(file, 'rotated');
        }
      if (!open(file)) note(file, 'unreadable');
    }
    for (const [key, t] of [...tracked]) {
      if (!seen.has(key) && !t.orphan) {
        t.orphan = true;
        note(t.current, 'gone');
      }
      await drain(t);
      // An orphan has been read to its end: nobody writes it under a name we follow any more.
      if (t.orphan) close(key, t);
    }
    await flush();
  };

  try {
    const pollMs = options.pollMs ?? 500;
    while (!options.signal.aborted) {
      await tick();
      await sleep(pollMs, options.signal);
    }
    // Stopped: read what was written up to now, then end.
    await tick();
    for (const [key, t] of [...tracked]) close(key, t);
    for (const [file, a] of archives) if (!a.done) await readArchive(file);
    await flush();
  } finally {
    for (const t of tracked.values()) closeSync(t.fd);
    tracked.clear();
  }
  return stats;
}
