/**
 * Runs the built `vigil` command (bin/vigil.js, which needs `npm run build:server`) for the vault's
 * operator tests, and collects what it printed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanEnv, ROOT } from '../support/processes.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Fails early with a clear message when dist/ is missing (CI builds it before the tests). */
export function requireBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is not built: run `npm run build:server` first');
}

/** `node bin/vigil.js <args>` with only the given VIGIL_* variables; killed after `timeoutMs`. */
export function vigil(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv(options.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal, killSignal: 'SIGKILL' as const } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vigil ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      if (err.name !== 'AbortError') reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The result, or an error with the whole output when the exit code is not 0. */
export function ok(r: CliResult, what: string): CliResult {
  if (r.code !== 0)
    throw new Error(`${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return r;
}
