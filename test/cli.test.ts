/**
 * The built `vigil` command (`node bin/vigil.js …`), as an administrator runs it: help, config,
 * migrations, users and API tokens on a fresh data directory per test, and a CLI-made token used
 * against a running server.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, freePort, occupyPort, ROOT } from './support/processes.js';

const CLI_TIMEOUT_MS = 90_000;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let workDir: string;
let dataDir: string;

/** Runs `node bin/vigil.js <args>` in an empty working directory and collects its output. */
function vigil(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: workDir,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`vigil ${args.join(' ')} did not finish in ${CLI_TIMEOUT_MS} ms\n${stdout}\n${stderr}`),
      );
    }, CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `vigil <args> --data-dir <the test's dir>`; fails with the output when the exit code is not 0. */
async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await vigil([...args, '--data-dir', dataDir], env);
  if (r.code !== 0)
    throw new Error(
      `vigil ${args.join(' ')} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`,
    );
  return r.stdout;
}

/** `vigil <args> --data-dir <dir>` that is expected to fail. */
async function fails(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await vigil([...args, '--data-dir', dataDir], env);
  expect(r.code, `expected vigil ${args.join(' ')} to fail\n${r.stdout}`).not.toBe(0);
  expect(r.code).not.toBeNull();
  // An expected problem is one clear line, never a stack trace.
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stderr).toMatch(/\S/);
  return r;
}

function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at .+\(?.+:\d+:\d+\)?$/m);
  expect(text).not.toContain('VigilError:');
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    execFileSync('npm', ['run', 'build:server'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
  }
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
}, 320_000);

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  dataDir = join(workDir, 'data');
});

afterEach(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('vigil --help and config', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await vigil(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['start', 'demo', 'migrate', 'config', 'user', 'token']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    expect(r.stdout).toContain('--data-dir');
    expect(r.stdout).toContain('--config');
  });

  it('user --help lists the user subcommands', async () => {
    const r = await vigil(['user', '--help']);
    expect(r.code).toBe(0);
    for (const sub of ['add', 'list', 'disable', 'enable', 'reset-mfa']) expect(r.stdout).toContain(sub);
  });

  it('config print prints JSON with the database URL redacted', { timeout: 60_000 }, async () => {
    const out = await ok(['config', 'print'], { VIGIL_DATABASE_URL: 'postgres://u:secret@h/db' });
    expect(out).toContain('"url": "[redacted]"');
    expect(out).not.toContain('secret');
    const printed = JSON.parse(out) as {
      dataDir: string;
      server: { port: number };
      database: { url: string };
    };
    expect(printed.dataDir).toBe(dataDir);
    expect(printed.server.port).toBe(8080);
    expect(printed.database.url).toBe('[redacted]');
  });

  it('config print honours --config, and the data dir flag wins over the file', {
    timeout: 60_000,
  }, async () => {
    const file = join(workDir, 'vigil.yaml');
    writeFileSync(file, 'dataDir: /somewhere/else\nserver:\n  port: 9443\n');
    const out = await ok(['config', 'print', '--config', file]);
    const printed = JSON.parse(out) as { dataDir: string; server: { port: number } };
    expect(printed.server.port).toBe(9443);
    expect(printed.dataDir).toBe(dataDir);
  });

  it('a config file with an unknown key exits non-zero naming the key, without a stack trace', {
    timeout: 60_000,
  }, async () => {
    const file = join(workDir, 'vigil.config.json');
    writeFileSync(file, JSON.stringify({ server: { prot: 8081 } }));
    const r = await fails(['config', 'print', '--config', file]);
    expect(r.stderr).toContain('server.prot: unknown key');
    expectNoStackTrace(r.stderr);
    expect(r.stdout).not.toContain('"server"');

    // The same file found in the working directory without --config.
    const found = await fails(['migrate']);
    expect(found.stderr).toContain('server.prot: unknown key');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('an unknown VIGIL_* variable stops a command naming it', { timeout: 60_000 }, async () => {
    const r = await fails(['config', 'print'], { VIGIL_SERVER_PROT: '1' });
    expect(r.stderr).toContain('VIGIL_SERVER_PROT');
    expectNoStackTrace(r.stderr);
  });

  it('an unknown command fails', async () => {
    const r = await vigil(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('frobnicate');
  });
});

describe('vigil migrate', () => {
  it('applies every migration, then --status shows each applied; a second run has nothing to do', {
    timeout: 90_000,
  }, async () => {
    const first = await ok(['migrate']);
    const appliedIds = [...first.matchAll(/^applied (\S+)$/gm)].map((m) => m[1]);
    expect(appliedIds.length).toBeGreaterThan(0);
    expect(first).toMatch(/\d+ migration\(s\) applied\./);

    const status = await ok(['migrate', '--status']);
    const lines = status.trim().split('\n');
    expect(lines).toHaveLength(appliedIds.length);
    for (const line of lines) expect(line).toMatch(/^applied\s+\S+$/);
    for (const id of appliedIds) expect(status).toContain(id);

    expect(await ok(['migrate'])).toContain('The database is up to date.');
    expect(existsSync(join(dataDir, 'vigil.sqlite'))).toBe(true);
  });

  it('--status on a fresh data directory shows every migration pending', { timeout: 60_000 }, async () => {
    const status = await ok(['migrate', '--status']);
    const lines = status.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^pending\s+\S+$/);
  });
});

describe('vigil user', () => {
  it('adds a user with a one-time password and lists them, as text and JSON', {
    timeout: 120_000,
  }, async () => {
    const out = await ok([
      'user',
      'add',
      'alice',
      '--role',
      'clinician',
      '--name',
      'Alice Ward',
      '--email',
      'alice@example.org',
    ]);
    expect(out).toContain('Created alice (clinician).');
    const otp = /one-time password: (\S+)/.exec(out)?.[1];
    expect(otp).toMatch(/^[A-Za-z0-9]{20}$/);
    // No MFA for a clinician.
    expect(out).not.toContain('enrol MFA');

    const list = await ok(['user', 'list']);
    const row = list.split('\n').find((l) => l.startsWith('alice '));
    expect(row).toBeDefined();
    expect(row).toMatch(/^alice\s+clinician\s+active\s+no\s+-$/);
    expect(list).not.toContain(otp!);

    const json = JSON.parse(await ok(['user', 'list', '--json'])) as Array<Record<string, unknown>>;
    const alice = json.find((u) => u.username === 'alice');
    expect(alice).toMatchObject({
      username: 'alice',
      displayName: 'Alice Ward',
      email: 'alice@example.org',
      role: 'clinician',
      status: 'active',
      mfaEnrolled: false,
      mustChangePassword: true,
    });
    expect(JSON.stringify(json)).not.toMatch(/hash|argon|\$argon2/i);
  });

  it('an admin user is told to enrol MFA', { timeout: 60_000 }, async () => {
    const out = await ok(['user', 'add', 'root-admin', '--role', 'admin']);
    expect(out).toMatch(/enrol MFA/);
  });

  it('a bad role fails naming the roles, and creates no user', { timeout: 90_000 }, async () => {
    const r = await fails(['user', 'add', 'bob', '--role', 'surgeon']);
    for (const role of ['admin', 'analyst', 'privacy-officer', 'biomed', 'clinician', 'staff'])
      expect(r.stderr).toContain(role);
    expect(r.stderr).toContain('surgeon');
    expect(r.stdout).not.toContain('one-time password');
    const users = JSON.parse(await ok(['user', 'list', '--json'])) as unknown[];
    expect(users).toEqual([]);
  });

  it('a missing --role fails', { timeout: 60_000 }, async () => {
    const r = await fails(['user', 'add', 'bob']);
    expect(r.stderr).toContain('--role');
  });

  it('a duplicate user fails clearly', { timeout: 90_000 }, async () => {
    await ok(['user', 'add', 'alice', '--role', 'clinician']);
    const r = await fails(['user', 'add', 'alice', '--role', 'staff']);
    expect(r.stderr).toMatch(/alice exists already/);
    expectNoStackTrace(r.stderr);
    // Case does not make a new user.
    const again = await fails(['user', 'add', 'ALICE', '--role', 'staff']);
    expect(again.stderr).toMatch(/alice exists already/);
  });

  it('an invalid username fails naming the rule', { timeout: 60_000 }, async () => {
    const r = await fails(['user', 'add', 'a b', '--role', 'staff']);
    expect(r.stderr).toContain('username');
  });

  it('disable, enable and reset-mfa change the user; an unknown user fails', {
    timeout: 120_000,
  }, async () => {
    await ok(['user', 'add', 'alice', '--role', 'clinician']);
    expect(await ok(['user', 'disable', 'alice'])).toContain('alice: disabled');
    let users = JSON.parse(await ok(['user', 'list', '--json'])) as Array<{
      username: string;
      status: string;
    }>;
    expect(users.find((u) => u.username === 'alice')?.status).toBe('disabled');
    expect((await ok(['user', 'list'])).split('\n').find((l) => l.startsWith('alice '))).toMatch(
      /\sdisabled\s/,
    );

    expect(await ok(['user', 'enable', 'alice'])).toContain('alice: active');
    users = JSON.parse(await ok(['user', 'list', '--json'])) as Array<{ username: string; status: string }>;
    expect(users.find((u) => u.username === 'alice')?.status).toBe('active');

    expect(await ok(['user', 'reset-mfa', 'alice'])).toContain('alice: MFA removed');

    const missing = await fails(['user', 'disable', 'nobody']);
    expect(missing.stderr).toContain('nobody');
  });
});

describe('vigil token', () => {
  it('creates, lists and revokes an API token', { timeout: 120_000 }, async () => {
    const out = await ok(['token', 'create', '--name', 'siem', '--role', 'analyst']);
    const id = /Created token ([0-9a-f-]{36}) \(siem, analyst\)/.exec(out)?.[1];
    expect(id).toBeDefined();
    const secret = /^\s+(vgl_\S+)$/m.exec(out)?.[1];
    expect(secret).toMatch(new RegExp(`^vgl_${id}\\.[A-Za-z0-9_-]{43}$`));

    const list = await ok(['token', 'list']);
    expect(list).toMatch(new RegExp(`^${id}\\s+analyst\\s+active\\s+siem$`, 'm'));
    // The list never shows the secret.
    expect(list).not.toContain(secret!.split('.')[1]!);

    expect(await ok(['token', 'revoke', id!])).toContain(`Token ${id} revoked.`);
    expect(await ok(['token', 'list'])).toMatch(new RegExp(`^${id}\\s+analyst\\s+revoked\\s+siem$`, 'm'));

    // Revoking twice is reported, not silently accepted.
    const twice = await fails(['token', 'revoke', id!]);
    expect(twice.stderr).toMatch(/no such/i);
  });

  it('revoking an unknown id fails clearly', { timeout: 60_000 }, async () => {
    const unknown = await fails(['token', 'revoke', '01900000-0000-7000-8000-000000000000']);
    expect(unknown.stderr).toMatch(/no such/i);
    expectNoStackTrace(unknown.stderr);
    const garbage = await fails(['token', 'revoke', 'not-an-id']);
    expect(garbage.stderr).toMatch(/no such/i);
  });

  it('a token with a bad role is refused', { timeout: 60_000 }, async () => {
    const r = await fails(['token', 'create', '--name', 'x', '--role', 'root']);
    expect(r.stderr).toContain('analyst');
  });
});

// ---- A CLI-created token against a running server ----

interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startServer(dir: string, port: number): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'start', '--data-dir', dir, '--port', String(port)], {
    cwd: workDir,
    env: cleanEnv({ VIGIL_LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const output = () => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('the server did not start in 90 s')), 90_000);
    const check = () => {
      const m = /Vigil is listening on (http:\/\/\S+)/.exec(stdout);
      if (m?.[1]) finish(null, m[1]);
    };
    const onExit = (code: number | null) => finish(new Error(`the server exited early with code ${code}`));
    function finish(err: Error | null, found?: string) {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', onExit);
      if (err) reject(new Error(`${err.message}\n${output()}`));
      else resolve(found!.replace(/\/+$/, ''));
    }
    child.stdout?.on('data', check);
    child.once('exit', onExit);
  });
  return { child, url, output };
}

async function stopServer(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

describe('vigil demo', () => {
  it('on a busy port fails mentioning --port but still shows the demo administrator it created', {
    timeout: 180_000,
  }, async () => {
    const { port, release } = await occupyPort();
    try {
      const r = await fails(['demo', '--port', String(port)], { VIGIL_LOG_LEVEL: 'warn' });
      expect(r.stderr).toContain('--port');
      expect(r.stdout).toMatch(/username: admin/);
      expect(r.stdout).toMatch(/one-time password: [A-Za-z0-9]{20}\b/);
    } finally {
      await release();
    }
    // The data is seeded; the administrator exists.
    const users = JSON.parse(await ok(['user', 'list', '--json'])) as Array<{
      username: string;
      role: string;
    }>;
    expect(users).toContainEqual(expect.objectContaining({ username: 'admin', role: 'admin' }));
  });
});

describe('a CLI-created token at a running server', () => {
  let server: Server | undefined;

  afterAll(async () => {
    if (server) await stopServer(server.child);
  }, 60_000);

  it('authenticates with its role until revoked, then gets 401', { timeout: 180_000 }, async () => {
    const out = await ok(['token', 'create', '--name', 'siem', '--role', 'analyst']);
    const id = /Created token ([0-9a-f-]{36})/.exec(out)?.[1];
    const secret = /^\s+(vgl_\S+)$/m.exec(out)?.[1];
    expect(id).toBeDefined();
    expect(secret).toBeDefined();

    server = await startServer(dataDir, await freePort());
    const overview = () =>
      fetch(`${server!.url}/api/overview`, { headers: { authorization: `Bearer ${secret}` } });

    const res = await overview();
    expect(res.status, server.output()).toBe(200);
    const body = (await res.json()) as { users: { total: number }; bus: { kind: string } };
    expect(body.bus.kind).toBe('memory');
    // The first start created the administrator.
    expect(body.users.total).toBeGreaterThanOrEqual(1);

    // Without the token, or with a wrong secret, the same route is refused.
    expect((await fetch(`${server.url}/api/overview`)).status).toBe(401);
    const wrong = `${secret!.slice(0, -4)}AAAA`;
    expect(
      (await fetch(`${server.url}/api/overview`, { headers: { authorization: `Bearer ${wrong}` } })).status,
    ).toBe(401);

    // The analyst token may not manage users (an admin-only route), but it is recognised.
    const users = await fetch(`${server.url}/api/users`, { headers: { authorization: `Bearer ${secret}` } });
    expect(users.status).toBe(403);
    expect(((await users.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');

    // The CLI revokes it while the server runs (same data directory).
    expect(await ok(['token', 'revoke', id!])).toContain('revoked');
    const after = await overview();
    expect(after.status).toBe(401);
    const error = (await after.json()) as { error: { code: string } };
    expect(error.error.code).toBe('UNAUTHENTICATED');

    expect(await stopServer(server.child)).toBe(0);
  });
});
