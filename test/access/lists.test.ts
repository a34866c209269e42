/**
 * `vigil access update-lists`: the Tor exit list and configured lists come from a local HTTP
 * server (files it serves, and failures: 500, an HTML page, a list over the size limit, a server
 * that is down); a good list replaces the old file atomically, a bad one leaves it; the counts are
 * reported; and a running gateway reloads the new file without a restart.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { updateLists } from '../../src/access/index.js';
import { main } from '../../src/cli/main.js';
import { type ServerFixture, serverFixture } from '../support/server-fixture.js';
import { enrolledUser } from './users.js';

const HOST = 'ehr.hospital.test';
const TOR_V1 = '# exits\n185.220.101.1\n185.220.101.2\n2001:db8:dead::1\n';
const TOR_V2 = '185.220.101.1\n185.220.101.2\n185.220.101.3\n198.51.100.66\n';

/** What the server answers per path; changed by the tests. */
const answers = new Map<string, { status: number; body: string; type?: string }>();
let server: Server;
let base: string;
let dir: string;

const read = (file: string): string | null => (existsSync(file) ? readFileSync(file, 'utf8') : null);
const settings = (sources: Array<{ name: string; url: string }>, torExitUrl = `${base}/tor.txt`) => ({
  torExitUrl,
  sources,
  timeoutSeconds: 5,
  maxBytes: 4096,
});

beforeAll(async () => {
  server = createServer((req, res) => {
    const a = answers.get(req.url ?? '') ?? { status: 404, body: 'not found' };
    res.writeHead(a.status, { 'content-type': a.type ?? 'text/plain' }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-lists-'));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('updateLists', () => {
  it('downloads the Tor list and a configured list, reporting counts', async () => {
    answers.set('/tor.txt', { status: 200, body: TOR_V1 });
    answers.set('/feed.txt', {
      status: 200,
      body: `203.0.113.0/24\n198.51.100.7 # scanner\nbogus-line\n${'192.0.2.1\n'.repeat(20)}`,
    });
    const r = await updateLists(settings([{ name: 'feed', url: `${base}/feed.txt` }]), dir, read);
    expect(r.map((x) => [x.name, x.ok, x.entries, x.previous, x.rejected])).toEqual([
      ['tor-exits', true, 3, null, 0],
      ['feed', true, 22, null, 1],
    ]);
    expect(read(path.join(dir, 'tor-exits.txt'))).toContain('2001:db8:dead::1');
    expect(readdirSync(dir).sort()).toEqual(['feed.txt', 'tor-exits.txt']); // no temporary files left
  });

  it('keeps the old list when the source fails, answers junk, is too big or is down', async () => {
    const before = read(path.join(dir, 'tor-exits.txt'));
    const cases: Array<[string, { status: number; body: string; type?: string }, RegExp]> = [
      ['/tor.txt', { status: 500, body: 'oops' }, /HTTP 500/],
      [
        '/tor.txt',
        { status: 200, body: '<html><body>Maintenance</body></html>\n', type: 'text/html' },
        /no addresses/,
      ],
      ['/tor.txt', { status: 200, body: '185.220.101.9\n'.repeat(400) }, /larger than 4096 bytes/],
      ['/tor.txt', { status: 200, body: `185.220.101.9\n${'<p>\n'.repeat(5)}` }, /unreadable lines/],
    ];
    for (const [p, answer, why] of cases) {
      answers.set(p, answer);
      const [tor] = await updateLists(settings([]), dir, read);
      expect(tor).toMatchObject({ name: 'tor-exits', ok: false, entries: 3, previous: 3 });
      expect(tor!.error).toMatch(why);
      expect(read(path.join(dir, 'tor-exits.txt'))).toBe(before);
    }
    const down = await updateLists(settings([], 'http://127.0.0.1:9/tor.txt'), dir, read);
    expect(down[0]).toMatchObject({ ok: false, entries: 3 });
    expect(down[0]!.error).toMatch(/fetch failed/);
    expect(readdirSync(dir).sort()).toEqual(['feed.txt', 'tor-exits.txt']);
  });

  it('vigil access update-lists prints the counts and exits 1 when a list failed', async () => {
    answers.set('/tor.txt', { status: 200, body: TOR_V1 });
    answers.set('/feed.txt', { status: 503, body: 'busy' });
    const cfg = path.join(dir, '..', `vigil-lists-${process.pid}.json`);
    writeFileSync(
      cfg,
      JSON.stringify({
        dataDir: path.join(dir, 'data'),
        access: {
          lists: { torExitUrl: `${base}/tor.txt`, sources: [{ name: 'feed', url: `${base}/feed.txt` }], dir },
        },
      }),
    );
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    try {
      expect(await main(['node', 'vigil', '--config', cfg, 'access', 'update-lists'])).toBe(0);
    } finally {
      spy.mockRestore();
      rmSync(cfg, { force: true });
    }
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
    expect(out.join('')).toBe(
      [
        'tor-exits: 3 entries (before: 3)',
        'feed: FAILED (HTTP 503); kept the old list of 22 entries',
        `1 of 2 lists updated in ${dir}`,
        '',
      ].join('\n'),
    );
  });
});

describe('the gateway reloads downloaded lists without a restart', () => {
  let f: ServerFixture;

  beforeAll(async () => {
    answers.set('/tor.txt', { status: 200, body: TOR_V1 });
    await updateLists(settings([]), dir, read);
    f = await serverFixture({
      access: {
        applications: [{ name: 'ehr', host: HOST, pathPrefix: '/', roles: 'any' }],
        lists: { torExitUrl: `${base}/tor.txt`, dir, reloadSeconds: 1 },
      },
    });
  });
  afterAll(() => f.close());

  it('an address added to the Tor list by update-lists is denied within the reload interval', async () => {
    const { access } = f.services;
    expect(access.listCounts()['tor-exits.txt']).toBe(3);
    const user = await enrolledUser(f.services, 'dana.lists', 'staff');
    const device = access.devices.issue(Date.now());
    const a = await access.portal.login(
      user.username,
      user.password,
      { ip: '198.51.100.66' },
      device.deviceId,
    );
    const b = await access.portal.verifyMfa(
      a.token!,
      user.recoveryCodes[0]!,
      { ip: '198.51.100.66' },
      device.deviceId,
    );
    const check = () =>
      access.gateway.evaluate(
        { flavour: 'nginx', method: 'GET', host: HOST, proto: 'https', uri: '/', clientIp: '198.51.100.66' },
        { sessionToken: b.token!, deviceCookie: device.value },
      );
    expect((await check()).decision.decision).not.toBe('deny');

    answers.set('/tor.txt', { status: 200, body: TOR_V2 });
    const [tor] = await updateLists(settings([]), dir, read);
    expect(tor).toMatchObject({ ok: true, entries: 4, previous: 3 });
    const deadline = Date.now() + 5000;
    let d = (await check()).decision;
    while (d.decision !== 'deny' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      d = (await check()).decision;
    }
    expect(d.decision).toBe('deny');
    expect(d.reasons.find((r) => r.signal === 'blocklist')?.reason).toBe(
      'source address is on a blocklist (tor-exits.txt)',
    );
    expect(access.listCounts()['tor-exits.txt']).toBe(4);
  });
});
