/**
 * `http`: requests per second and p99 latency of an authenticated API call (bearer token checked
 * against the database, role checked, one indexed query, JSON serialised with its schema) beside
 * a bare node:http handler, each server in its own process, loaded by autocannon in this one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { type Benchmark, figure } from './figure.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 16;

function startServer(
  script: string,
): Promise<{ child: ChildProcess; info: { url: string; token?: string } }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve({ child, info: JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function load(url: string, headers: Record<string, string>) {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers,
    pipelining: 1,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

export const httpBenchmark: Benchmark = {
  name: 'http',
  description: `authenticated GET /api/events?limit=1 vs a bare node:http handler (${CONNECTIONS} connections, ${DURATION_S}s each)`,
  async run(log) {
    const vigil = await startServer('./servers/vigil.ts');
    const bare = await startServer('./servers/bare.ts');
    try {
      const url = `${vigil.info.url}/api/events?limit=1`;
      const headers = { authorization: `Bearer ${vigil.info.token}` };
      await autocannon({ url, connections: 4, duration: 2, headers }); // warm-up
      const v = await load(url, headers);
      log(`vigil: ${v.rps.toFixed(0)} req/s, p99 ${v.p99} ms`);
      await autocannon({ url: bare.info.url, connections: 4, duration: 2 });
      const b = await load(bare.info.url, {});
      log(`node:http: ${b.rps.toFixed(0)} req/s, p99 ${b.p99} ms`);
      return [
        figure('http.authenticated', 'req/s', v.rps, 'node:http bare handler', b.rps),
        figure('http.authenticated.p99_latency', 'ms', v.p99, 'node:http bare handler', b.p99),
      ];
    } finally {
      vigil.child.kill('SIGTERM');
      bare.child.kill('SIGTERM');
    }
  },
};
