/**
 * Real nginx (Debian's package) in front of a small upstream, with the shipped
 * examples/nginx/vigil-auth.conf: unauthenticated → redirect to the portal; password + TOTP
 * through nginx → the upstream sees X-Vigil-User; a foreign address on a new device → step-up;
 * a disabled user → 403. nginx runs as a foreground child on a free loopback port, with its own
 * prefix, pid and temp paths in a temp directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxExampleConfig } from '../support/nginx-example.js';
import { type ServerFixture, serverFixture } from '../support/server-fixture.js';
import { type HttpAnswer, PortalBrowser, type Send } from './portal-client.js';
import { enrolledUser, type TestUser } from './users.js';

const NGINX = '/usr/sbin/nginx';
const HAVE_NGINX = existsSync(NGINX);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function httpSend(port: number, host: string): Send {
  return (req) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const r = request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, host } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      r.on('error', reject);
      if (req.body !== undefined) r.write(req.body);
      r.end();
    });
}

/** The shipped example, pointed at this test's ports and paths. */
describe.skipIf(!HAVE_NGINX)('access gateway behind real nginx (auth_request)', () => {
  let f: ServerFixture;
  let dir: string;
  let nginx: ChildProcess;
  let upstream: Server;
  let nginxPort: number;
  let host: string;
  let send: Send;
  let alice: TestUser;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-nginx-'));
    mkdirSync(path.join(dir, 'tmp'));
    mkdirSync(path.join(dir, 'logs'));
    nginxPort = await freePort();
    host = `ehr.hospital.test:${nginxPort}`;
    f = await serverFixture({
      access: {
        applications: [{ name: 'ehr', host, pathPrefix: '/', roles: 'any' }],
        zones: { lan: ['127.0.0.0/8'] },
        trustedProxies: ['127.0.0.1'],
      },
    });
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const vigilPort = (f.app.server.address() as AddressInfo).port;
    upstream = createServer((req, res) => {
      const seen: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-vigil-')) seen[k] = String(v);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, seen }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const conf = path.join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      nginxExampleConfig(
        dir,
        { listen: nginxPort, vigil: vigilPort, upstream: upstreamPort },
        'ehr.hospital.test',
        '',
        256,
      ),
    );
    nginx = spawn(NGINX, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    nginx.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    send = httpSend(nginxPort, host);
    for (let i = 0; ; i++) {
      try {
        await send({ method: 'GET', url: '/access/portal.css', headers: {} });
        break;
      } catch (err) {
        if (i > 100 || nginx.exitCode !== null)
          throw new Error(`nginx did not start: ${stderr} ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    alice = await enrolledUser(f.services, 'alice.remote', 'clinician');
  }, 30_000);

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await new Promise((r) => upstream?.close(r));
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('unauthenticated: nginx redirects to the portal with the return URL', async () => {
    const res = await send({ method: 'GET', url: '/chart/7?tab=notes', headers: {} });
    expect(res.status).toBe(302);
    const loc = new URL(String(res.headers.location));
    expect(loc.pathname).toBe('/access/login');
    expect(loc.searchParams.get('rd')).toBe(`http://${host}/chart/7?tab=notes`);
  });

  it('the check location is internal: a browser cannot call it', async () => {
    const res = await send({ method: 'GET', url: '/_vigil_check', headers: {} });
    expect(res.status).toBe(404);
  });

  let browser: PortalBrowser;
  it('password + TOTP through nginx: the upstream is reached and sees X-Vigil-User', async () => {
    browser = new PortalBrowser(send);
    const rd = `http://${host}/chart/7?tab=notes`;
    const done = await browser.signIn('/access', rd, alice.username, alice.password, alice.secret);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(rd);
    const res = await browser.request('GET', '/chart/7?tab=notes', { 'x-vigil-user': 'forged-admin' });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { path: string; seen: Record<string, string> };
    expect(body.path).toBe('/chart/7?tab=notes');
    expect(body.seen['x-vigil-user']).toBe('alice.remote');
    expect(body.seen['x-vigil-roles']).toBe('clinician');
    expect(body.seen['x-vigil-decision']).toBe('allow');
  });

  it('the same session from a new device and a foreign address: redirected to step-up', async () => {
    const res = await send({
      method: 'GET',
      url: '/chart/7',
      headers: { cookie: browser.cookieHeader(['vigil_access']), 'x-forwarded-for': '203.0.113.50' },
    });
    expect(res.status).toBe(302);
    expect(String(res.headers.location)).toContain('/access/login?rd=');
    await f.services.access.flush();
    const [d] = await f.services.access.admin.decisions({ limit: 1 });
    expect(d?.decision).toBe('step-up');
    expect(d?.sourceIp).toBe('203.0.113.50');
  });

  it('a disabled user gets 403 through nginx at once', async () => {
    await f.services.identity.users.setStatus(alice.username, 'disabled');
    const res = await browser.request('GET', '/chart/7');
    expect(res.status).toBe(403);
    expect(res.body).not.toContain('alice.remote');
  });
});

describe.skipIf(HAVE_NGINX)('access gateway behind real nginx', () => {
  it.skip(`skipped: ${NGINX} is missing (apt-get install -y nginx)`, () => {});
});
