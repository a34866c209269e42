/**
 * `access`: the gateway's decision rate and its cost behind a real reverse proxy.
 *
 * 1. `GET /access/check` for an established gateway session (nginx auth_request headers, session
 *    from the in-process cache), Vigil in its own process, autocannon in this one: decisions/s,
 *    p50/p99, and decisions per CPU-second of the Vigil process (its own user+system time, so the
 *    figure means "on one core" even on a busy machine).
 * 2. Debian's nginx (`/usr/sbin/nginx`) with the shipped `examples/nginx/vigil-auth.conf` in a
 *    temp prefix on free loopback ports, in front of a small upstream (its own process), beside a
 *    server block of the same nginx that proxies to the same upstream without `auth_request`:
 *    requests/s at full load, and p99 at a fixed 1,000 requests/s, each with the plain proxy as
 *    the peer; the fixed rate is an open-loop load (bench/open-loop.ts), evenly spaced, latency
 *    from when each request was sent. Skipped (said so) when nginx is not installed.
 * 3. The floor of that added latency on this machine: a second nginx with the same example config
 *    whose auth_request goes to a do-nothing server (its own process, answering 200 with the very
 *    headers Vigil sends). What it adds is the cost of the subrequest hop itself (two more
 *    loopback round trips and process wake-ups); no gateway can add less. The fixed-rate runs of
 *    the three (Vigil, plain, floor) take turns in short rounds, so drift in the machine's load
 *    falls on all of them alike, and each figure is the median over the rounds.
 *
 * Run with VIGIL_ACCESS_BENCH_SERVER=1 this file is the Vigil server (prints `{url, cookie}`, then
 * answers `cpu` on stdin with its CPU usage); with VIGIL_ACCESS_BENCH_UPSTREAM=1 the upstream;
 * with VIGIL_ACCESS_BENCH_FLOOR=1 the do-nothing auth server (headers from VIGIL_ACCESS_BENCH_HEADERS).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { nginxExampleConfig } from '../test/support/nginx-example.js';
import { freePort } from '../test/support/processes.js';
import { type Benchmark, type Figure, figure, median } from './figure.js';
import { type OpenLoopResult, openLoop } from './open-loop.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 16;
const HOST = 'bench.hospital.test';
const NGINX = '/usr/sbin/nginx';
const FIXED_RATE = 1000;
/**
 * Fixed-rate rounds per system (each DURATION_S / 2 long), after one discarded warm-up round. One
 * round's p99 moves by 2-3x on a shared 2-core machine (rounds of the same nginx without
 * auth_request gave 0.9 to 9.8 ms in one run): the median of five holds steadier than of three.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function serve(): Promise<void> {
  const { validateConfig } = await import('../src/platform/config/index.js');
  const { silentLogger } = await import('../src/platform/log/index.js');
  const { startServer } = await import('../src/server/index.js');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-access-'));
  const nginxHost = process.env.VIGIL_ACCESS_BENCH_NGINX_HOST;
  const config = validateConfig({
    dataDir,
    server: { port: 0 },
    access: {
      applications: [
        { name: 'bench', host: HOST, pathPrefix: '/', roles: 'any' },
        ...(nginxHost ? [{ name: 'bench-nginx', host: nginxHost, pathPrefix: '/', roles: 'any' }] : []),
      ],
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
  const creds = { sessionToken: step.token ?? undefined, deviceCookie: device.value };
  const checkHeaders = {
    'x-original-uri': '/chart/42',
    'x-original-method': 'GET',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-host': HOST,
    'x-forwarded-proto': 'https',
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const inproc = /^inproc (\d+)$/.exec(line.trim());
    if (inproc) {
      // The decision path without HTTP: gateway.check in a loop, recording (store + bus) included.
      void (async () => {
        const n = Number(inproc[1]);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        let allowed = 0;
        for (let i = 0; i < n; i++) {
          const out = await access.gateway.check(checkHeaders, '127.0.0.1', creds);
          if (out.decision.decision === 'allow') allowed++;
        }
        await access.flush();
        const c = process.cpuUsage(c0);
        process.stdout.write(
          `${JSON.stringify({ n, allowed, wallS: (performance.now() - t0) / 1000, cpuS: (c.user + c.system) / 1e6 })}\n`,
        );
      })();
    }
    if (line.trim() === 'cpu') process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`);
    if (line.trim() === 'last')
      void access
        .flush()
        .then(() => access.admin.decisions({ limit: 1 }))
        .then(([d]) => process.stdout.write(`${JSON.stringify(d ?? null)}\n`));
  });
  process.on('SIGTERM', () => {
    void server.close().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

/** The protected application: a small JSON answer that shows the user nginx passed on. */
function upstream(): void {
  const server = createServer((req, res) => {
    const body = JSON.stringify({ path: req.url, user: req.headers['x-vigil-user'] ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

/**
 * The floor: an auth server that does nothing but answer 200 with the headers it was given (those
 * of one of Vigil's own allow answers), so nginx handles the same answer with no decision behind it.
 */
function floor(): void {
  const headers = JSON.parse(process.env.VIGIL_ACCESS_BENCH_HEADERS ?? '{}') as Record<string, string>;
  const server = createServer((_req, res) => {
    res.writeHead(200, headers);
    res.end();
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

interface Child<T> {
  child: ChildProcess;
  info: T;
  lines: Interface;
}

function startChild<T>(role: string, env: Record<string, string> = {}): Promise<Child<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, [role]: '1', ...env },
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve({ child, info: JSON.parse(line) as T, lines }));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The last decision Vigil took (to say why a run was refused). */
function lastDecision(vigil: Child<unknown>): Promise<string> {
  return new Promise((resolve) => {
    vigil.lines.once('line', resolve);
    vigil.child.stdin!.write('last\n');
  });
}

/** `n` decisions in the Vigil process without HTTP: wall and CPU seconds. */
function inProcess(
  vigil: Child<unknown>,
  n: number,
): Promise<{ n: number; allowed: number; wallS: number; cpuS: number }> {
  return new Promise((resolve) => {
    vigil.lines.once('line', (line) => resolve(JSON.parse(line)));
    vigil.child.stdin!.write(`inproc ${n}\n`);
  });
}

/** The Vigil process's CPU time so far, in seconds. */
function cpuOf(vigil: Child<unknown>): Promise<number> {
  return new Promise((resolve) => {
    vigil.lines.once('line', (line) => {
      const u = JSON.parse(line) as { user: number; system: number };
      resolve((u.user + u.system) / 1e6);
    });
    vigil.child.stdin!.write('cpu\n');
  });
}

/** The shipped example pointed at this run's ports, plus a server block without auth_request. */
function nginxConfig(
  dir: string,
  ports: { auth: number; plain: number; vigil: number; upstream: number },
): string {
  return nginxExampleConfig(
    dir,
    { listen: ports.auth, vigil: ports.vigil, upstream: ports.upstream },
    HOST,
    `  # The peer: the same nginx and upstream, no auth_request.
  server {
    listen 127.0.0.1:${ports.plain};
    server_name ${HOST};
    location / {
      proxy_set_header Host $http_host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://protected_app;
    }
  }
`,
  );
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET with the given headers (fetch() may not set Host); status, headers and body. */
function httpGet(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

async function waitFor(url: string, headers: Record<string, string>, nginx: ChildProcess): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      const res = await httpGet(url, headers);
      if (res.status === 200) return res.body;
      throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      if (i > 100 || nginx.exitCode !== null)
        throw new Error(`nginx is not answering: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function load(
  url: string,
  headers: Record<string, string>,
  opts: { duration: number },
): Promise<autocannon.Result> {
  const r = await autocannon({
    url,
    headers,
    connections: CONNECTIONS,
    duration: opts.duration,
    pipelining: 1,
  });
  // A refusal is a wrong answer; a few socket errors (timeouts, connections cut as the run stops)
  // among tens of thousands are load, reported but tolerated up to 0.1%.
  if (r.non2xx > 0 || r.errors > Math.max(1, r.requests.total / 1000))
    throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors of ${r.requests.total}`);
  if (r.errors > 0) console.error(`   ${url}: ${r.errors} socket errors of ${r.requests.total} requests`);
  return r;
}

/** A steady FIXED_RATE requests/s for `durationS` (open loop, see open-loop.ts); refusals are wrong answers. */
async function steady(target: Target, durationS: number): Promise<OpenLoopResult> {
  const r = await openLoop({
    url: target.url,
    headers: target.headers,
    rate: FIXED_RATE,
    durationS,
    connections: CONNECTIONS * 4,
  });
  if (r.non2xx > 0 || r.errors > Math.max(1, r.total / 1000))
    throw new Error(`${target.url}: ${r.non2xx} non-2xx answers, ${r.errors} errors of ${r.total}`);
  if (Math.abs(r.rate - FIXED_RATE) > FIXED_RATE * 0.05)
    throw new Error(`${target.url}: the load generator kept ${r.rate.toFixed(0)} req/s, not ${FIXED_RATE}`);
  return r;
}

interface Target {
  url: string;
  headers: Record<string, string>;
}

/**
 * The fixed-rate runs: one discarded warm-up round, then ROUNDS rounds in which each target gets a
 * turn of DURATION_S / 2; per target, the median p50 and p99 over the rounds and the worst max.
 */
async function fixedRateRounds<K extends string>(
  targets: Record<K, Target>,
): Promise<Record<K, { p50: number; p99: number; max: number; p99s: number[] }>> {
  const names = Object.keys(targets) as K[];
  const turnS = Math.max(2, DURATION_S / 2);
  for (const name of names) await steady(targets[name], 2);
  const runs = Object.fromEntries(names.map((n) => [n, [] as OpenLoopResult[]])) as Record<
    K,
    OpenLoopResult[]
  >;
  for (let round = 0; round < ROUNDS; round++)
    for (const name of names) runs[name].push(await steady(targets[name], turnS));
  return Object.fromEntries(
    names.map((n) => [
      n,
      {
        p50: median(runs[n].map((r) => r.p50)),
        p99: median(runs[n].map((r) => r.p99)),
        max: Math.max(...runs[n].map((r) => r.max)),
        p99s: runs[n].map((r) => r.p99),
      },
    ]),
  ) as Record<K, { p50: number; p99: number; max: number; p99s: number[] }>;
}

/** Debian's nginx on `conf` in the foreground; stopped by `stopNginx`. */
function startNginx(dir: string, conf: string): ChildProcess {
  return spawn(NGINX, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stopNginx(nginx: ChildProcess | undefined): Promise<void> {
  if (!nginx || nginx.exitCode !== null) return;
  const exited = new Promise((r) => nginx.once('exit', r));
  nginx.kill('SIGQUIT');
  await exited;
}

async function nginxFigures(
  log: (line: string) => void,
  vigil: Child<{ url: string; cookie: string }>,
  nginxPort: number,
) {
  const { cookie } = vigil.info;
  const vigilPort = Number(new URL(vigil.info.url).port);
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-nginx-'));
  const floorDir = path.join(dir, 'floor');
  mkdirSync(path.join(dir, 'tmp'));
  mkdirSync(path.join(floorDir, 'tmp'), { recursive: true });
  const up = await startChild<{ port: number }>('VIGIL_ACCESS_BENCH_UPSTREAM');
  let nginx: ChildProcess | undefined;
  let floorNginx: ChildProcess | undefined;
  let floorAuth: Child<{ port: number }> | undefined;
  try {
    const plainPort = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      nginxConfig(dir, { auth: nginxPort, plain: plainPort, vigil: vigilPort, upstream: up.info.port }),
    );
    nginx = startNginx(dir, conf);
    const auth = {
      url: `http://127.0.0.1:${nginxPort}/chart/42`,
      headers: { host: `${HOST}:${nginxPort}`, cookie },
    };
    const plain = {
      url: `http://127.0.0.1:${plainPort}/chart/42`,
      headers: { host: `${HOST}:${plainPort}` },
    };
    const body = await waitFor(auth.url, auth.headers, nginx).catch(async (err: Error) => {
      throw new Error(`${err.message}; Vigil's last decision: ${await lastDecision(vigil)}`);
    });
    const seen = JSON.parse(body) as { user: string | null };
    if (seen.user !== 'bench.user')
      throw new Error(`the upstream saw X-Vigil-User ${seen.user}, not bench.user`);
    await waitFor(plain.url, plain.headers, nginx);

    // The floor: Vigil's own allow answer, replayed by a server that decides nothing.
    const answer = await httpGet(`${vigil.info.url}/access/check`, {
      cookie,
      'x-original-uri': '/chart/42',
      'x-original-method': 'GET',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-host': `${HOST}:${nginxPort}`,
      'x-forwarded-proto': 'http',
    });
    if (answer.status !== 200) throw new Error(`Vigil answered ${answer.status} to the floor's sample check`);
    const replay = Object.fromEntries(
      Object.entries(answer.headers).filter(
        ([name, value]) => typeof value === 'string' && !['date', 'connection', 'keep-alive'].includes(name),
      ),
    ) as Record<string, string>;
    floorAuth = await startChild<{ port: number }>('VIGIL_ACCESS_BENCH_FLOOR', {
      VIGIL_ACCESS_BENCH_HEADERS: JSON.stringify(replay),
    });
    const floorPort = await freePort();
    const floorConf = path.join(floorDir, 'nginx.conf');
    writeFileSync(
      floorConf,
      nginxExampleConfig(
        floorDir,
        { listen: floorPort, vigil: floorAuth.info.port, upstream: up.info.port },
        HOST,
      ),
    );
    floorNginx = startNginx(floorDir, floorConf);
    const floorTarget = {
      url: `http://127.0.0.1:${floorPort}/chart/42`,
      headers: { host: `${HOST}:${floorPort}` },
    };
    const floorBody = JSON.parse(await waitFor(floorTarget.url, floorTarget.headers, floorNginx)) as {
      user: string | null;
    };
    if (floorBody.user !== 'bench.user')
      throw new Error(`the floor's upstream saw X-Vigil-User ${floorBody.user}`);

    const fixed = await fixedRateRounds({ vigil: auth, plain, floor: floorTarget });
    const added = fixed.vigil.p99 - fixed.plain.p99;
    const floorAdded = fixed.floor.p99 - fixed.plain.p99;
    const show = (r: { p50: number; p99: number; max: number; p99s: number[] }) =>
      `p50 ${r.p50.toFixed(2)} / p99 ${r.p99.toFixed(2)} (rounds ${r.p99s.map((x) => x.toFixed(1)).join(', ')}) / max ${r.max.toFixed(1)} ms`;
    log(`at a steady ${FIXED_RATE} req/s (open loop, median of ${ROUNDS} rounds):`);
    log(`  nginx + auth_request to Vigil:         ${show(fixed.vigil)}`);
    log(`  nginx + auth_request to a no-op server: ${show(fixed.floor)}`);
    log(`  nginx without auth_request:            ${show(fixed.plain)}`);
    log(
      `  p99 added: Vigil ${added.toFixed(2)} ms, the no-op server (this machine's floor) ${floorAdded.toFixed(2)} ms`,
    );

    await load(auth.url, auth.headers, { duration: 2 }); // warm-up
    const full = await load(auth.url, auth.headers, { duration: DURATION_S });
    const fullPlain = await load(plain.url, plain.headers, { duration: DURATION_S });
    log(
      `nginx + auth_request: ${full.requests.average.toFixed(0)} req/s, p99 ${full.latency.p99} ms; without: ${fullPlain.requests.average.toFixed(0)} req/s, p99 ${fullPlain.latency.p99} ms`,
    );
    return [
      figure(
        'access.nginx.auth_request',
        'req/s',
        full.requests.average,
        'nginx',
        fullPlain.requests.average,
      ),
      figure('access.nginx.auth_request.p99_latency', 'ms', full.latency.p99, 'nginx', fullPlain.latency.p99),
      figure(
        `access.nginx.auth_request.p99_at_${FIXED_RATE}rps`,
        'ms',
        fixed.vigil.p99,
        'nginx',
        fixed.plain.p99,
      ),
      figure(
        `access.nginx.added_p99_at_${FIXED_RATE}rps`,
        'ms',
        added,
        'no-op auth server',
        floorAdded > 0 ? floorAdded : undefined,
      ),
    ];
  } finally {
    await stopNginx(nginx);
    await stopNginx(floorNginx);
    if (floorAuth) await stop(floorAuth.child);
    await stop(up.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export const accessBenchmark: Benchmark = {
  name: 'access',
  description: `GET /access/check for an established session (${CONNECTIONS} connections, ${DURATION_S}s); nginx auth_request with the shipped example beside the same nginx without it, and with a no-op auth server (the floor)`,
  async run(log) {
    const haveNginx = existsSync(NGINX);
    const nginxPort = haveNginx ? await freePort() : 0;
    const vigil = await startChild<{ url: string; cookie: string }>('VIGIL_ACCESS_BENCH_SERVER', {
      ...(haveNginx ? { VIGIL_ACCESS_BENCH_NGINX_HOST: `${HOST}:${nginxPort}` } : {}),
    });
    const figures: Figure[] = [];
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
      await load(url, headers, { duration: 2 }); // warm-up
      const cpu0 = await cpuOf(vigil);
      const r = await load(url, headers, { duration: DURATION_S });
      const cpu = (await cpuOf(vigil)) - cpu0;
      const perCpu = r.requests.total / cpu;
      log(
        `decisions: ${r.requests.average.toFixed(0)}/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms; ${perCpu.toFixed(0)} per CPU-second of the Vigil process (${cpu.toFixed(1)} s CPU for ${r.requests.total})`,
      );
      figures.push(
        figure('access.decisions', 'req/s', r.requests.average),
        figure('access.decisions_per_cpu_second', 'req/s', perCpu),
        figure('access.check.p50_latency', 'ms', r.latency.p50),
        figure('access.check.p99_latency', 'ms', r.latency.p99),
      );
      await inProcess(vigil, 5000); // warm-up
      const ip = await inProcess(vigil, 50_000);
      if (ip.allowed !== ip.n)
        throw new Error(`in-process: ${ip.n - ip.allowed} of ${ip.n} checks not allowed`);
      log(
        `in-process (gateway.check, no HTTP, recording included): ${(ip.n / ip.wallS).toFixed(0)} decisions/s wall, ${(ip.n / ip.cpuS).toFixed(0)} per CPU-second`,
      );
      figures.push(
        figure('access.decisions_in_process', 'req/s', ip.n / ip.wallS),
        figure('access.decisions_in_process_per_cpu_second', 'req/s', ip.n / ip.cpuS),
      );
      if (haveNginx) {
        figures.push(...(await nginxFigures(log, vigil, nginxPort)));
      } else log(`nginx part skipped: ${NGINX} is missing (apt-get install -y nginx)`);
      return figures;
    } finally {
      await stop(vigil.child);
    }
  },
};

if (process.env.VIGIL_ACCESS_BENCH_SERVER === '1') await serve();
if (process.env.VIGIL_ACCESS_BENCH_UPSTREAM === '1') upstream();
if (process.env.VIGIL_ACCESS_BENCH_FLOOR === '1') floor();
