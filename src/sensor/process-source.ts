/**
 * @module sensor/process-source
 * A `CaptureSource` reading the standard output of a capture process (tcpdump, see tcpdump.ts).
 * The process starts on the first call of `chunks()`; `stop()` sends it SIGTERM (and SIGKILL after
 * a grace period); a reader that gives up early stops it too, so it never outlives the sensor. Its
 * standard error is kept, bounded, for the outcome: a process that could not start or that ended
 * by itself with a non-zero code is a failure, described by the caller's `failure`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { VigilError } from '../core/index.js';
import type { CaptureOutcome, CaptureSource } from './capture-source.js';

/** How a capture process ended, for `failure` and `counters`. */
export interface ProcessEnd {
  /** The first 8 KiB of its standard error and, when longer, the last 2 KiB. */
  stderr: string;
  /** The last 2 KiB of its standard error (closing counters are printed there). */
  stderrTail: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not be started (ENOENT, EACCES, …). */
  spawnError: NodeJS.ErrnoException | null;
  /** True when it ended because `stop()` was called (or the reader gave up). */
  stopped: boolean;
}

/** Options of `processSource`. */
export interface ProcessSourceOptions {
  label: string;
  command: string;
  args: readonly string[];
  /** Called with the standard error seen so far (its first 8 KiB) whenever more arrives. */
  onStderr?: (head: string) => void;
  /** The error of a process that could not start or failed by itself. */
  failure: (end: ProcessEnd) => VigilError;
  /** Figures the process reports when it ends (packets captured, dropped by the kernel). */
  counters?: (end: ProcessEnd) => Omit<CaptureOutcome, 'error'>;
  /** How long the process may take to exit after `stop()` before it is killed (default 5 s). */
  stopGraceMs?: number;
}

const STDERR_HEAD = 8 * 1024;
const STDERR_TAIL = 2 * 1024;

/** The standard output of a process as a capture source. */
export function processSource(options: ProcessSourceOptions): CaptureSource {
  let child: ChildProcess | null = null;
  let stopRequested = false;
  let killTimer: NodeJS.Timeout | null = null;
  let settle: (o: CaptureOutcome) => void = () => {};
  const outcome = new Promise<CaptureOutcome>((resolve) => {
    settle = resolve;
  });

  const terminate = () => {
    if (!child || child.exitCode !== null || child.signalCode !== null || killTimer) return;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child?.kill('SIGKILL'), options.stopGraceMs ?? 5000);
    killTimer.unref();
  };
  const stop = () => {
    stopRequested = true;
    terminate();
  };

  async function* chunks(): AsyncGenerator<Buffer> {
    if (child) throw new Error(`${options.label}: a process source is read once`);
    const proc = spawn(options.command, [...options.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let head = '';
    let tail = '';
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (head.length < STDERR_HEAD) {
        head += s.slice(0, STDERR_HEAD - head.length);
        options.onStderr?.(head);
      }
      tail = (tail + s).slice(-STDERR_TAIL);
    });
    let spawnError: NodeJS.ErrnoException | null = null;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once('error', (err) => {
        spawnError = err as NodeJS.ErrnoException;
        resolve({ code: null, signal: null });
      });
      proc.once('close', (code, signal) => resolve({ code, signal }));
    });
    if (stopRequested) terminate();
    let ended = false;
    try {
      for await (const chunk of proc.stdout! as AsyncIterable<Buffer>) yield chunk;
      ended = true;
    } catch {
      // The pipe broke: the exit status says why.
      ended = true;
    } finally {
      // The reader gave up on the stream early: the process must not outlive it.
      if (!ended) stop();
      const { code, signal } = await exited;
      if (killTimer) clearTimeout(killTimer);
      const end: ProcessEnd = {
        stderr: head + (head.length >= STDERR_HEAD ? `\n${tail}` : ''),
        stderrTail: tail,
        code,
        signal,
        spawnError,
        stopped: stopRequested,
      };
      const counters = options.counters?.(end) ?? {};
      if (!spawnError && (stopRequested || (code === 0 && signal === null)))
        settle({ error: null, ...counters });
      else settle({ error: options.failure(end), ...counters });
    }
  }

  return {
    label: options.label,
    total: null,
    chunks,
    stop,
    outcome: () => outcome,
  };
}
