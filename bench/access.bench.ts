/**
 * `access`: decisions per second and p50/p99 latency of `GET /access/check` for an established
 * gateway session (nginx auth_request headers, session from the in-process cache), with Vigil in
 * its own process and autocannon in this one. Run with VIGIL_ACCESS_BENCH_SERVER=1, this file is
 * that server: it prints `{url, cookie}` on stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { type Benchmark, figure } from './figure.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 16;
const HOST = 'bench.hospital.test';

async function serve(): Promise<void> {
  const { validateConfig } = await import('../src/platform/config/index.js');
  const { silentLogger } = await import('../src/platform/log/index.js');
  const { startServer } = await import('../src/server/index.js');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-access-'));
  const config = validateConfig({
    dataDir,
    server: { port: 0 },
    access: {
      applications: [{ name: 'bench', host: HOST, pathPrefix: '/', roles: 'any' }],
      zones: { lan: ['127.0.0.0/8'] },
    },
  });
  const server = await startServer(config, silentLogger());
  const { identity, access } = server.services;
  const { oneTimePassword } = await identity.users.create({
    username: 'bench.user',
    displayName: 'Bench',
    role: 'staff',
  });
  const first = await identity.auth.login('bench.user', oneTimePassword, { ip: '127.0.0.1' });
  const p = await identity.sessions.authenticate(first.token);
  await identity.auth.changePassword(p!, oneTimePassword, 'a calm night shift in ward 7', {
    ip: '127.0.0.1',
  });
  const device = access.devices.issue(Date.now());
  const step = await access.portal.login(
    'bench.user',
    'a calm night shift in ward 7',
    { ip: '127.0.0.1' },
    device.deviceId,
  );
  process.stdout.write(
    `${JSON.stringify({ url: server.url, cookie: `vigil_access=${step.token}; vigil_device=${device.value}` })}\n`,
  );
  process.on('SIGTERM', () => {
    void server.close().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

function startServer(): Promise<{ child: ChildProcess; info: { url: string; cookie: string } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, VIGIL_ACCESS_BENCH_SERVER: '1' },
  });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve({ child, info: JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`access bench server exited with ${code}`)));
  });
}

export const accessBenchmark: Benchmark = {
  name: 'access',
  description: `GET /access/check for an established session, nginx auth_request headers (${CONNECTIONS} connections, ${DURATION_S}s)`,
  async run(log) {
    const vigil = await startServer();
    try {
      const url = `${vigil.info.url}/access/check`;
      const headers = {
        cookie: vigil.info.cookie,
        'x-original-uri': '/chart/42',
        'x-original-method': 'GET',
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-host': HOST,
        'x-forwarded-proto': 'https',
      };
      await autocannon({ url, connections: 4, duration: 2, headers }); // warm-up
      const r = await autocannon({
        url,
        connections: CONNECTIONS,
        duration: DURATION_S,
        headers,
        pipelining: 1,
      });
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors`);
      log(`decisions: ${r.requests.average.toFixed(0)}/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
      return [
        figure('access.decisions', 'req/s', r.requests.average),
        figure('access.check.p50_latency', 'ms', r.latency.p50),
        figure('access.check.p99_latency', 'ms', r.latency.p99),
      ];
    } finally {
      vigil.child.kill('SIGTERM');
    }
  },
};

if (process.env.VIGIL_ACCESS_BENCH_SERVER === '1') await serve();
