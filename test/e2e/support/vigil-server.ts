/**
 * Starts the real, built Vigil server (`node bin/vigil.js start`) on a fresh data directory and a
 * free port, and reads the first admin's one-time password from its stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/processes.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface RunningServer {
  url: string;
  port: number;
  adminUsername: string;
  adminOneTimePassword: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the server printed so far (stdout and stderr), for failure messages. */
  output: () => string;
}

/** Fails with a clear message when the build the test runs against is missing. */
export function requireBuild(): void {
  for (const file of ['dist/cli/main.js', 'dist/web/index.html']) {
    if (!existsSync(join(REPO_ROOT, file))) {
      throw new Error(`${file} is missing: run npm run build first (npm test does it before the tests).`);
    }
  }
}

const LISTENING = /Vigil is listening on (http:\/\/\S+)/;
const USERNAME = /^\s*username:\s*(\S+)/m;
const ONE_TIME = /one-time password:\s*(\S+)/;

export async function startServer(timeoutMs = 90_000): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['bin/vigil.js', 'start', '--data-dir', dataDir, '--port', String(port)],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const cap = (s: string) => (s.length > 200_000 ? s.slice(-200_000) : s);
  // Keep draining both pipes for the whole run, so the server never blocks on a full pipe.
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout = cap(stdout + chunk);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = cap(stderr + chunk);
  });
  const output = () => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;

  try {
    const found = await new Promise<{ url: string; username: string; password: string }>(
      (resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`The server did not print its address and one-time password in ${timeoutMs} ms.`));
        }, timeoutMs);
        const check = () => {
          const listening = LISTENING.exec(stdout);
          const password = ONE_TIME.exec(stdout);
          if (listening?.[1] && password?.[1]) {
            cleanup();
            resolve({
              url: listening[1].replace(/\/+$/, ''),
              username: USERNAME.exec(stdout)?.[1] ?? 'admin',
              password: password[1],
            });
          }
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          cleanup();
          reject(new Error(`The server exited early (code ${code}, signal ${signal}).`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', check);
        child.once('exit', onExit);
        check();
      },
    );
    return {
      url: found.url,
      port,
      adminUsername: found.username,
      adminOneTimePassword: found.password,
      dataDir,
      child,
      output,
    };
  } catch (err) {
    await stopServer(child).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${output()}`);
  }
}

/** SIGTERM, then waits for the exit; SIGKILL and an error when it does not stop in time. */
export async function stopServer(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const inTime = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
  ]);
  if (!inTime) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`The server did not exit within ${timeoutMs} ms of SIGTERM (killed).`);
  }
}
