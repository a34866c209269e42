import { describe, expect, it } from 'vitest';
import { matchApp } from './apps.js';
import { Blocklists, parseBlocklist } from './blocklist.js';
import { Bursts } from './bursts.js';
import { DeviceCookies } from './device.js';
import { LIMITS, readForwarded } from './forwarded.js';
import { CidrSet, parseCidr, parseIp } from './ip.js';
import { safeReturnUrl } from './return-url.js';
import type { AppPolicy } from './types.js';

const trusted = new CidrSet(['127.0.0.1', '10.0.0.0/8', '::1']);
const nginx = {
  'x-original-uri': '/a?b=1',
  'x-original-method': 'POST',
  'x-forwarded-for': '203.0.113.7',
  'x-forwarded-host': 'EHR.hospital.test',
  'x-forwarded-proto': 'https',
};

describe('ip and CIDR', () => {
  it('parses IPv4, IPv6, mapped addresses; refuses junk', () => {
    expect(parseIp('10.1.2.3')).toEqual({ family: 4, value: 0x0a010203n });
    expect(parseIp('::ffff:10.1.2.3')).toEqual({ family: 4, value: 0x0a010203n });
    expect(parseIp('2001:db8::1')?.family).toBe(6);
    for (const bad of ['', '1.2.3', '256.1.1.1', '1.2.3.4.5', 'fe80:::1', 'x', '1:2:3:4:5:6:7:8:9'])
      expect(parseIp(bad), bad).toBeNull();
  });
  it('matches ranges exactly on both families', () => {
    const s = new CidrSet(['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32', 'bogus', '10.0.0.0/40']);
    expect(s.rejected).toEqual(['bogus', '10.0.0.0/40']);
    expect(s.has(parseIp('10.255.0.1'))).toBe(true);
    expect(s.has(parseIp('11.0.0.1'))).toBe(false);
    expect(s.has(parseIp('192.168.2.1'))).toBe(false);
    expect(s.has(parseIp('2001:db8:ffff::1'))).toBe(true);
    expect(s.has(parseIp('2001:db9::1'))).toBe(false);
    expect(s.has(parseIp('::ffff:10.0.0.9'))).toBe(true);
    expect(parseCidr('0.0.0.0/0')).not.toBeNull();
  });
});

describe('forwarding headers', () => {
  it('nginx and Traefik header sets from a trusted proxy', () => {
    const n = readForwarded(nginx, '127.0.0.1', trusted);
    expect(n).toEqual({
      ok: true,
      request: {
        flavour: 'nginx',
        method: 'POST',
        host: 'ehr.hospital.test',
        proto: 'https',
        uri: '/a?b=1',
        clientIp: '203.0.113.7',
      },
    });
    const t = readForwarded(
      {
        'x-forwarded-uri': '/x',
        'x-forwarded-method': 'GET',
        'x-forwarded-host': 'h.test',
        'x-forwarded-proto': 'http',
        'x-forwarded-for': '198.51.100.2',
      },
      '::1',
      trusted,
    );
    expect(t.ok && t.request.flavour).toBe('traefik');
  });
  it('the client is the rightmost untrusted hop: a prepended address cannot be forged in', () => {
    const r = readForwarded(
      { ...nginx, 'x-forwarded-for': '1.1.1.1, 203.0.113.7, 10.0.0.5' },
      '127.0.0.1',
      trusted,
    );
    expect(r.ok && r.request.clientIp).toBe('203.0.113.7');
  });
  it('forged headers from an untrusted peer are denied with the reason', () => {
    const r = readForwarded(nginx, '198.51.100.9', trusted);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.reason).toMatchObject({ deny: true, reason: expect.stringContaining('not a trusted proxy') });
  });
  it('oversized, repeated, malformed headers are denied, never thrown', () => {
    const cases: Array<Record<string, string | string[]>> = [
      { ...nginx, 'x-original-uri': `/${'a'.repeat(LIMITS.uri)}` },
      { ...nginx, 'x-forwarded-for': Array.from({ length: 40 }, () => '10.0.0.1').join(',') },
      { ...nginx, 'x-forwarded-for': 'junk' },
      { ...nginx, 'x-forwarded-host': ['a.test', 'b.test'] },
      { ...nginx, 'x-forwarded-host': 'a.test\r\nx: y' },
      { ...nginx, 'x-forwarded-host': 'evil/path' },
      { ...nginx, 'x-forwarded-proto': 'gopher' },
      { ...nginx, 'x-original-uri': 'http://evil/' },
      { ...nginx, 'x-original-method': 'G E T' },
      { 'x-forwarded-host': 'a.test' },
    ];
    for (const h of cases) {
      const r = readForwarded(h, '127.0.0.1', trusted);
      expect(r.ok, JSON.stringify(h).slice(0, 80)).toBe(false);
      if (!r.ok) expect(r.reason.deny).toBe(true);
    }
  });
});

const apps: AppPolicy[] = [
  { name: 'ehr', host: 'ehr.hospital.test', pathPrefix: '/', roles: 'any', stepUpRisk: 40, denyRisk: 80 },
  {
    name: 'ehr-admin',
    host: 'ehr.hospital.test',
    pathPrefix: '/admin',
    roles: ['admin'],
    stepUpRisk: 20,
    denyRisk: 60,
  },
  {
    name: 'pacs',
    host: 'pacs.hospital.test:8443',
    pathPrefix: '/viewer',
    roles: 'any',
    stepUpRisk: 40,
    denyRisk: 80,
  },
];

describe('applications and return URLs', () => {
  it('host + longest prefix, segment-aware; no match is null', () => {
    expect(matchApp(apps, 'EHR.hospital.test', '/admin/users')?.name).toBe('ehr-admin');
    expect(matchApp(apps, 'ehr.hospital.test:443', '/adminx')?.name).toBe('ehr');
    expect(matchApp(apps, 'pacs.hospital.test:8443', '/viewer?id=1')?.name).toBe('pacs');
    expect(matchApp(apps, 'pacs.hospital.test:8443', '/viewerevil')).toBeNull();
    expect(matchApp(apps, 'evil.test', '/')).toBeNull();
  });
  it('return URLs only to protected applications', () => {
    expect(safeReturnUrl('https://ehr.hospital.test/chart?x=1', apps)).toBe(
      'https://ehr.hospital.test/chart?x=1',
    );
    for (const bad of [
      'https://evil.test/',
      '//evil.test',
      '/relative',
      'javascript:alert(1)',
      'https://ehr.hospital.test@evil.test/',
      'https://u:p@ehr.hospital.test/',
      'https://ehr.hospital.test\\@evil.test',
      'https://ehr.hospital.test/\n',
      42,
      undefined,
      `https://ehr.hospital.test/${'a'.repeat(5000)}`,
    ]) {
      expect(safeReturnUrl(bad, apps), String(bad).slice(0, 60)).toBeNull();
    }
  });
});

describe('device cookies', () => {
  const key = Buffer.alloc(32, 7);
  const cookies = new DeviceCookies(key, 180);
  it('round-trips; tampering, truncation, junk and expiry are refused with a reason', () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    const { deviceId, value } = cookies.issue(now);
    expect(cookies.verify(value, now)).toEqual({ ok: true, deviceId });
    const flipped = value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
    expect(cookies.verify(flipped, now)).toEqual({ ok: false, why: 'bad signature' });
    expect(cookies.verify(value.slice(0, -3), now)).toEqual({ ok: false, why: 'malformed' });
    expect(cookies.verify('x'.repeat(500), now)).toEqual({ ok: false, why: 'oversized' });
    expect(cookies.verify(value, now + 181 * 86_400_000)).toEqual({ ok: false, why: 'expired' });
    expect(new DeviceCookies(Buffer.alloc(32, 8), 180).verify(value, now).ok).toBe(false);
  });
});

describe('blocklists and bursts', () => {
  it('reads address/CIDR files with comments; bad lines are reported', () => {
    const { entries, rejected } = parseBlocklist(
      '# Tor exits\n185.220.101.1\n\n2001:db8::/48  # range\nnot-an-ip\n',
    );
    expect(entries).toEqual(['185.220.101.1', '2001:db8::/48']);
    expect(rejected).toEqual(['not-an-ip']);
    const b = new Blocklists();
    b.replace('tor', entries);
    expect(b.match(parseIp('185.220.101.1'))).toBe('tor');
    expect(b.match(parseIp('185.220.101.2'))).toBeNull();
    const { problems } = Blocklists.fromFiles(['/nonexistent/list.txt']);
    expect(problems[0]).toContain('/nonexistent/list.txt');
  });
  it('counts failures per user and per source in a sliding window', () => {
    const b = new Bursts(10);
    const t0 = Date.parse('2026-06-01T08:00:00Z');
    for (let i = 0; i < 6; i++) {
      b.observe({
        v: 1,
        id: `e${i}`,
        time: new Date(t0 + i * 1000).toISOString(),
        kind: 'auth.login.failed',
        source: 'identity',
        user: { name: 'Bob' },
        net: { srcIp: '203.0.113.5' },
      });
    }
    b.observe({
      v: 1,
      id: 'm',
      time: new Date(t0).toISOString(),
      kind: 'auth.mfa.challenged',
      source: 'identity',
      user: { name: 'bob' },
    });
    expect(b.userFailuresOf('bob', t0 + 10_000)).toBe(6);
    expect(b.sourceFailuresOf('203.0.113.5', t0 + 10_000)).toBe(6);
    expect(b.mfaOf('bob', t0 + 10_000)).toEqual({ prompts: 1, failures: 0 });
    expect(b.userFailuresOf('bob', t0 + 11 * 60_000)).toBe(0);
  });
});
