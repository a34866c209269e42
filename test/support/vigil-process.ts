/**
 * Runs the built `vigil` command as child processes for fault-tolerance tests: spawn one and watch
 * its output, run one to completion, kill one with SIGKILL, and make sure none outlives the suite.
 * (The CLI and lifecycle tests keep their own small helpers; these are for the vault's
 * kill and two-process tests.)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { BIN, cleanEnv, ROOT } from './processes.js';

/** A running `vigil` child process and what it printed so far. */
export interface VigilProcess {
  readonly child: ChildProcess;
  readonly args: readonly string[];
  stdout(): string;
  stderr(): string;
  /** Both streams, labelled, for failure messages. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Builds `dist/` when it is missing (CI builds it before the tests). */
export function ensureBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    execFileSync('npm', ['run', 'build:server'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/cli/main.js was not built');
}

/** Starts `node bin/vigil.js <args>` with only the given VIGIL_* variables. */
export function spawnVigil(args: readonly string[], env: Record<string, string>, cwd: string): VigilProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => {
      running.delete(child);
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    args,
    stdout: () => out,
    stderr: () => err,
    output: () => `vigil ${args.join(' ')}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`,
    exited,
  };
}

/** Runs `vigil <args>` to its end; kills it and fails after `timeoutMs`. */
export async function runVigil(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs = 240_000,
): Promise<{ code: number | null; stdout: string; stderr: string; output: string }> {
  const p = spawnVigil(args, env, cwd);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`did not finish in ${timeoutMs} ms\n${p.output()}`);
  return { code, stdout: p.stdout(), stderr: p.stderr(), output: p.output() };
}

/** Runs `vigil <args>` and returns its stdout; throws with the output unless it exits 0. */
export async function vigilOk(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs?: number,
): Promise<string> {
  const r = await runVigil(args, env, cwd, timeoutMs);
  if (r.code !== 0) throw new Error(`exited ${r.code}\n${r.output}`);
  return r.stdout;
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined; fails with
 * `describe()` after `timeoutMs`, or at once when `proc` exits first.
 */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number; proc?: VigilProcess } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    const p = options.proc?.child;
    if (p && (p.exitCode !== null || p.signalCode !== null))
      throw new Error(`the process exited before ${what}\n${options.proc!.output()}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${options.proc ? `\n${options.proc.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function stopVigil(
  p: VigilProcess,
  graceMs = 30_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  const result = await p.exited;
  clearTimeout(timer);
  return result;
}

/** Kills (SIGKILL) every child these helpers started that is still running: for afterAll. */
export async function killAllVigil(): Promise<void> {
  const waits: Array<Promise<unknown>> = [];
  for (const child of running) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    waits.push(new Promise((resolve) => child.once('close', resolve)));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
}

/**
 * A fresh PostgreSQL schema on `baseUrl` and the URL whose connections use it (search_path in the
 * `options` parameter, as test/support/databases.ts does): child processes given this URL as
 * VIGIL_DATABASE_URL see only this schema's tables. `drop` removes it with everything in it.
 */
export async function freshPostgresSchema(
  baseUrl: string,
  prefix: string,
): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  const u = new URL(baseUrl);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}
