/**
 * The built server as an operator runs it (`node bin/vigil.js start`): first start and restart,
 * health, the key directory on disk, where the first administrator's one-time password may and may
 * not appear, graceful shutdown on SIGTERM, and start-up failures that must be one clear line.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, freePort, occupyPort } from './support/processes.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const START_TIMEOUT_MS = 90_000;

const LISTENING = /Vigil is listening on (http:\/\/\S+)/;
const ONE_TIME = /one-time password: (\S+)/;

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

function spawnVigil(args: string[], env: Record<string, string>, cwd: string): Proc {
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    output: () => `--- stdout ---\n${out}\n--- stderr ---\n${err}`,
    exited,
  };
}

/** Resolves with the URL once the server prints it; rejects (with its output) if it exits first. */
function listening(proc: Proc): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no "Vigil is listening" in ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const check = () => {
      const m = LISTENING.exec(proc.stdout());
      if (m?.[1]) done(null, m[1].replace(/\/+$/, ''));
    };
    const onExit = (code: number | null) => done(new Error(`the server exited early with code ${code}`));
    function done(err: Error | null, url?: string) {
      clearTimeout(timer);
      proc.child.stdout?.off('data', check);
      proc.child.off('exit', onExit);
      if (err) reject(new Error(`${err.message}\n${proc.output()}`));
      else resolve(url!);
    }
    proc.child.stdout?.on('data', check);
    proc.child.once('exit', onExit);
    check();
  });
}

/** Waits until `pattern` appears on stdout (the banner comes in more than one write). */
async function waitForStdout(proc: Proc, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(proc.stdout());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`${pattern} did not appear on stdout\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stop(proc: Proc): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
  const result = await proc.exited;
  clearTimeout(timer);
  return result;
}

/** Lines of stdout that are log lines (pino JSON), and stderr's lines. */
function logLines(proc: Proc): string[] {
  const json = proc
    .stdout()
    .split('\n')
    .filter((l) => l.trimStart().startsWith('{'));
  const err = proc.stderr().split('\n').filter(Boolean);
  return [...json, ...err];
}

/** Every file of the SQLite database (main file, WAL, shared memory), concatenated. */
function sqliteBytes(dataDir: string): Buffer {
  const files = readdirSync(dataDir).filter((f) => f.startsWith('vigil.sqlite'));
  return Buffer.concat(files.map((f) => readFileSync(join(dataDir, f))));
}

let workDir: string;
let dataDir: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    execFileSync('npm', ['run', 'build:server'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
  }
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
}, 320_000);

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'vigil-life-'));
  dataDir = join(workDir, 'data');
});

afterEach(async () => {
  // A failed test must not leave a server behind.
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

async function startOn(dir: string, env: Record<string, string> = {}): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const proc = spawnVigil(
    ['start', '--data-dir', dir, '--port', String(port)],
    { VIGIL_LOG_LEVEL: 'warn', ...env },
    workDir,
  );
  const url = await listening(proc);
  expect(url).toBe(`http://127.0.0.1:${port}`);
  return { proc, url };
}

describe('vigil start: first start and restart', () => {
  it('shows the first administrator once, only in the banner; health, keys and database are right', {
    timeout: 180_000,
  }, async () => {
    const { proc, url } = await startOn(dataDir);
    expect((await waitForStdout(proc, /^\s*username: (\S+)$/m))[1]).toBe('admin');
    const otp = (await waitForStdout(proc, ONE_TIME))[1]!;
    expect(otp).toMatch(/^[A-Za-z0-9]{20}$/);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: true, bus: true });

    // The key directory: 0700, every file 0600.
    const keys = join(dataDir, 'keys');
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    const keyFiles = readdirSync(keys);
    expect(keyFiles).toEqual(expect.arrayContaining(['root.key', 'kek-0001.key']));
    for (const f of keyFiles) expect(statSync(join(keys, f)).mode & 0o777, f).toBe(0o600);

    // The database holds a hash, never the password.
    expect(existsSync(join(dataDir, 'vigil.sqlite'))).toBe(true);
    expect(sqliteBytes(dataDir).includes(otp)).toBe(false);

    const result = await stop(proc);
    expect(result.code, proc.output()).toBe(0);

    // The password appears exactly once, in the plain banner, and in no log line.
    expect(proc.stdout().split(otp).length - 1).toBe(1);
    for (const line of logLines(proc)) expect(line).not.toContain(otp);
    expect(proc.stderr()).not.toContain(otp);
    expect(sqliteBytes(dataDir).includes(otp)).toBe(false);

    // A second start on the same data directory creates nobody and prints no password.
    const again = await startOn(dataDir);
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200);
    expect(again.proc.stdout()).toContain(`data directory: ${dataDir}`);
    expect(again.proc.stdout()).not.toMatch(/one-time password/);
    expect(again.proc.stdout()).not.toContain('First start');
    expect((await stop(again.proc)).code, again.proc.output()).toBe(0);
    expect(again.proc.stdout()).not.toMatch(/one-time password/);
  });

  it('even at trace level, neither the one-time password nor the session cookie reaches a log line', {
    timeout: 180_000,
  }, async () => {
    const { proc, url } = await startOn(dataDir, { VIGIL_LOG_LEVEL: 'trace' });
    const otp = (await waitForStdout(proc, ONE_TIME))[1]!;

    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: otp }),
    });
    expect(login.status, proc.output()).toBe(200);
    expect(((await login.json()) as { state: string }).state).toBe('password');
    const cookie = /vigil_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toBeDefined();
    const session = await fetch(`${url}/api/auth/session`, {
      headers: { cookie: `vigil_session=${cookie}` },
    });
    expect(((await session.json()) as { state: string }).state).toBe('password');

    expect((await stop(proc)).code, proc.output()).toBe(0);
    const lines = logLines(proc);
    // Trace level does log (requests, migrations): the check below is not vacuous.
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.some((l) => l.includes('/api/auth/login'))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(otp);
      expect(line).not.toContain(cookie!);
    }
    expect(sqliteBytes(dataDir).includes(otp)).toBe(false);
  });
});

describe('vigil start: graceful shutdown', () => {
  it('on SIGTERM stops accepting, answers the request in flight, then exits 0', {
    timeout: 180_000,
  }, async () => {
    const { proc, url } = await startOn(dataDir);
    const { hostname, port } = new URL(url);
    const body = JSON.stringify({ username: 'nobody-here', password: 'not the password at all' });
    const half = Math.floor(body.length / 2);

    // A request whose body arrives in two halves, the second after SIGTERM.
    const request = http.request({
      host: hostname,
      port: Number(port),
      method: 'POST',
      path: '/api/auth/login',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      request.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          text += s;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      request.on('error', reject);
    });
    request.write(body.slice(0, half));
    // Let the server receive the headers and the first half.
    await new Promise((r) => setTimeout(r, 500));

    proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    expect(proc.child.exitCode, `the server exited with a request in flight\n${proc.output()}`).toBeNull();

    // A new connection is refused, or answered 503.
    const fresh = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then(
      (res) => ({ status: res.status, error: '' }),
      (err: Error) => ({
        status: 0,
        error: String((err.cause as Error | undefined)?.message ?? err.message),
      }),
    );
    if (fresh.status === 0) expect(fresh.error).toMatch(/ECONNREFUSED|ECONNRESET|other side closed|socket/i);
    else expect(fresh.status).toBe(503);

    // The in-flight request still gets its real answer.
    request.end(body.slice(half));
    const answer = await response;
    expect(answer.status, proc.output()).toBe(401);
    expect((JSON.parse(answer.text) as { error: { code: string } }).error.code).toBe('INVALID_CREDENTIALS');

    const exit = await Promise.race([
      proc.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 60_000).unref()),
    ]);
    expect(exit, `the server did not exit after the request\n${proc.output()}`).not.toBeNull();
    expect(exit?.code, proc.output()).toBe(0);
    expect(proc.stderr()).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });
});

describe('vigil start: start-up failures are one clear line', () => {
  let release: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await release?.();
  });

  it('a port already in use exits non-zero mentioning --port', { timeout: 120_000 }, async () => {
    const occupied = await occupyPort();
    release = occupied.release;
    const port = occupied.port;
    const proc = spawnVigil(
      ['start', '--data-dir', dataDir, '--port', String(port)],
      { VIGIL_LOG_LEVEL: 'warn' },
      workDir,
    );
    const exit = await proc.exited;
    expect(exit.code, proc.output()).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(proc.stderr()).toContain('--port');
    expect(proc.stderr()).toMatch(/in use/);
    expect(proc.stderr()).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(proc.stdout()).not.toContain('Vigil is listening');
  });

  // The first administrator is created only once the server listens: a start that fails on a busy
  // port must not create an admin whose one-time password nobody ever sees.
  it('after a start that failed on a busy port, the next start still shows the first administrator', {
    timeout: 120_000,
  }, async () => {
    const { port, release } = await occupyPort();
    try {
      const failed = spawnVigil(
        ['start', '--data-dir', dataDir, '--port', String(port)],
        { VIGIL_LOG_LEVEL: 'warn' },
        workDir,
      );
      expect((await failed.exited).code).not.toBe(0);
    } finally {
      await release();
    }
    const { proc, url } = await startOn(dataDir);
    // The banner is complete once the server answers (it is written before the first request).
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await stop(proc)).code).toBe(0);
    expect(proc.stdout()).toMatch(ONE_TIME);
  });

  it('VIGIL_SERVER_PORT=abc exits non-zero naming the variable', { timeout: 120_000 }, async () => {
    const proc = spawnVigil(['start', '--data-dir', dataDir], { VIGIL_SERVER_PORT: 'abc' }, workDir);
    const exit = await proc.exited;
    expect(exit.code, proc.output()).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(proc.stderr()).toContain('VIGIL_SERVER_PORT');
    expect(proc.stderr()).toContain('expected a number');
    expect(proc.stderr()).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // Nothing was created for a configuration that never validated.
    expect(existsSync(dataDir)).toBe(false);
  });

  it('--port out of range is refused before anything starts', { timeout: 120_000 }, async () => {
    const proc = spawnVigil(['start', '--data-dir', dataDir, '--port', '70000'], {}, workDir);
    const exit = await proc.exited;
    expect(exit.code, proc.output()).not.toBe(0);
    expect(proc.stderr()).toContain('--port');
    expect(existsSync(dataDir)).toBe(false);
  });
});
