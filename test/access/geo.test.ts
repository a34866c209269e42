/**
 * GeoIP risk signals. The reader is tested on the real data package's `.mmdb` files; the gateway
 * learns countries and networks from sign-ins that passed MFA and flags new ones in the decision
 * record; without data each signal says unknown and why. Impossible travel needs coordinates (a
 * City database, which no small npm package ships), so it is tested through the `GeoSignals`
 * interface with fixed coordinates and a manual clock.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccess, type GeoInfo, type GeoSignals, openGeoIp } from '../../src/access/index.js';
import { ManualClock } from '../../src/core/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { type ServerFixture, serverFixture } from '../support/server-fixture.js';
import { enrolledUser, type TestUser } from './users.js';

const HOST = 'ehr.hospital.test';
const pkgFile = (name: string) =>
  createRequire(import.meta.url).resolve(`@ip-location-db/geo-whois-asn-country-mmdb/${name}`);

describe('GeoIP reader on the data package', () => {
  it('answers countries for public addresses, nothing for private ones, and says what it covers', () => {
    const geo = openGeoIp({});
    expect(geo.sources.map((s) => s.name)).toEqual(['@ip-location-db/geo-whois-asn-country-mmdb']);
    expect(geo.coverage).toEqual({ country: true, asn: false, location: false });
    expect(geo.lookup('193.0.0.1')?.country).toBe('NL'); // RIPE NCC, Amsterdam
    expect(geo.lookup('8.8.8.8')?.country).toBe('US');
    expect(geo.lookup('2001:4860:4860::8888')?.country).toBe('US');
    expect(geo.lookup('10.1.2.3')).toBeNull();
    expect(geo.lookup('127.0.0.1')).toBeNull();
    expect(geo.lookup('not-an-ip')).toBeNull();
    const us = geo.lookup('8.8.8.8')!;
    expect([us.asn, us.lat, us.lon]).toEqual([null, null, null]);
  });

  it('reads a configured file in place of the default', () => {
    const geo = openGeoIp({ countryFile: pkgFile('geo-whois-asn-country-ipv6.mmdb'), useDefault: false });
    expect(geo.sources.map((s) => s.name)).toEqual(['country']);
    expect(geo.sources[0]!.built).toMatch(/^20\d\d-/);
    expect(geo.lookup('2001:4860:4860::8888')?.country).toBe('US');
    expect(geo.lookup('::1')).toBeNull();
  });

  it('without any data every lookup is null and coverage is empty', () => {
    const geo = openGeoIp({ useDefault: false });
    expect(geo.coverage).toEqual({ country: false, asn: false, location: false });
    expect(geo.lookup('8.8.8.8')).toBeNull();
  });

  it('a configured file that is missing or not a database stops start-up naming the setting', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-geo-'));
    try {
      expect(() => openGeoIp({ cityFile: path.join(dir, 'GeoLite2-City.mmdb') })).toThrow(
        /access.geoipCityFile: cannot read .*ENOENT/,
      );
      const junk = path.join(dir, 'junk.mmdb');
      writeFileSync(junk, 'this is not a MaxMind database\n'.repeat(20));
      expect(() => openGeoIp({ asnFile: junk })).toThrow(
        /access.geoipAsnFile: .* is not a MaxMind-format database/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

type Reason = { signal: string; score: number; reason: string; unknown?: boolean };
const reasonOf = (reasons: readonly Reason[], signal: string) => reasons.find((r) => r.signal === signal)!;

describe('gateway: new country and network with the package data', () => {
  let f: ServerFixture;
  let alice: TestUser;

  beforeAll(async () => {
    f = await serverFixture({
      access: {
        applications: [
          { name: 'ehr', host: HOST, pathPrefix: '/', roles: 'any', stepUpRisk: 40, denyRisk: 90 },
        ],
        trustedProxies: ['127.0.0.1'],
      },
    });
    alice = await enrolledUser(f.services, 'alice.geo', 'clinician');
  });
  afterAll(() => f.close());

  it('learns from an MFA sign-in; a new country and network raise the risk, with reasons', async () => {
    const { access } = f.services;
    const device = access.devices.issue(Date.now());
    const ctx = { ip: '193.0.0.1' };
    const first = await access.portal.login(alice.username, alice.password, ctx, device.deviceId);
    expect(first.next).toBe('mfa');
    const done = await access.portal.verifyMfa(first.token!, alice.recoveryCodes[0]!, ctx, device.deviceId);
    const creds = { sessionToken: done.token!, deviceCookie: device.value };
    const req = (clientIp: string) => ({
      flavour: 'nginx' as const,
      method: 'GET',
      host: HOST,
      proto: 'https' as const,
      uri: '/chart/1',
      clientIp,
    });

    const home = (await access.gateway.evaluate(req('193.0.0.77'), creds)).decision;
    expect(reasonOf(home.reasons, 'geo-country')).toMatchObject({ score: 0, reason: 'usual country NL' });
    expect(reasonOf(home.reasons, 'network')).toMatchObject({
      score: 0,
      reason: 'usual network 193.0.0.0/24',
    });
    expect(reasonOf(home.reasons, 'geo-asn')).toMatchObject({ unknown: true, score: 0 });
    expect(reasonOf(home.reasons, 'geo-asn').reason).toMatch(/access.geoipAsnFile/);
    expect(reasonOf(home.reasons, 'impossible-travel').reason).toMatch(/access.geoipCityFile/);

    const abroad = (await access.gateway.evaluate(req('8.8.8.8'), creds)).decision;
    expect(reasonOf(abroad.reasons, 'geo-country')).toMatchObject({ score: 25 });
    expect(reasonOf(abroad.reasons, 'geo-country').reason).toMatch(/^new country US for this user/);
    expect(reasonOf(abroad.reasons, 'network')).toMatchObject({
      score: 5,
      reason: 'new network 8.8.8.0/24 for this user',
    });
    expect(abroad.risk).toBeGreaterThan(home.risk);

    // A private address has no country: unknown, never a guess.
    const lan = (await access.gateway.evaluate(req('10.9.8.7'), creds)).decision;
    expect(reasonOf(lan.reasons, 'geo-country')).toMatchObject({
      unknown: true,
      reason: 'country unknown for this address',
    });
  });
});

/** Fixed places for the travel test (a City database would give these). */
const PLACES: Record<string, GeoInfo> = {
  '198.51.100.10': { country: 'FR', asn: 3215, lat: 48.8566, lon: 2.3522, radiusKm: 20 }, // Paris
  '198.51.100.20': { country: 'AU', asn: 1221, lat: -33.8688, lon: 151.2093, radiusKm: 20 }, // Sydney
  '198.51.100.30': { country: 'FR', asn: 3215, lat: 45.764, lon: 4.8357, radiusKm: 20 }, // Lyon
};
const cityGeo: GeoSignals = {
  lookup: (ip) => PLACES[ip] ?? null,
  coverage: { country: true, asn: true, location: true },
};

describe('gateway: impossible travel between consecutive sign-ins', () => {
  let f: ServerFixture;
  let bob: TestUser;

  beforeAll(async () => {
    f = await serverFixture({
      access: {
        applications: [
          { name: 'ehr', host: HOST, pathPrefix: '/', roles: 'any', stepUpRisk: 40, denyRisk: 95 },
        ],
        impossibleTravelKmh: 900,
      },
    });
    bob = await enrolledUser(f.services, 'bob.travel', 'staff');
  });
  afterAll(() => f.close());

  it('Paris then Sydney two hours later is impossible; Lyon a day later is not', async () => {
    const s = f.services;
    const clock = new ManualClock(new Date());
    const access = await createAccess({
      db: s.database.db,
      bus: s.bus,
      clock,
      logger: silentLogger(),
      keys: s.keys,
      identity: s.identity,
      config: s.config.access,
      auth: { ...s.config.auth, sessionAbsoluteHours: 24 * 30, sessionIdleMinutes: 24 * 60 * 30 },
      geo: cityGeo,
    });
    try {
      let code = 0;
      const signIn = async (ip: string) => {
        const device = access.devices.issue(clock.now().getTime());
        const a = await access.portal.login(bob.username, bob.password, { ip }, device.deviceId);
        const b = await access.portal.verifyMfa(
          a.token!,
          bob.recoveryCodes[code++]!,
          { ip },
          device.deviceId,
        );
        const out = await access.gateway.evaluate(
          { flavour: 'nginx', method: 'GET', host: HOST, proto: 'https', uri: '/', clientIp: ip },
          { sessionToken: b.token!, deviceCookie: device.value },
        );
        return out.decision;
      };

      const paris = await signIn('198.51.100.10');
      expect(reasonOf(paris.reasons, 'impossible-travel')).toMatchObject({
        unknown: true,
        reason: 'no earlier sign-in of this user to compare with',
      });

      clock.advance(2 * 3_600_000);
      const sydney = await signIn('198.51.100.20');
      const travel = reasonOf(sydney.reasons, 'impossible-travel');
      expect(travel.score).toBe(60);
      expect(travel.reason).toMatch(
        /^impossible travel: 169\d\d km from 198\.51\.100\.10 \(FR\) at .* to 198\.51\.100\.20 \(AU\) in 2\.0 h = 8\d\d\d km\/h, above the 900 km\/h limit$/,
      );
      // MFA was just passed on this device and address, so the step-up counts as done.
      expect(sydney.risk).toBeGreaterThanOrEqual(60);
      expect(sydney.reasons.map((r) => r.signal)).toContain('step-up');

      clock.advance(30 * 3_600_000);
      const lyon = await signIn('198.51.100.30');
      const back = reasonOf(lyon.reasons, 'impossible-travel');
      expect(back.score).toBe(0);
      expect(back.reason).toMatch(/possible$/);
      // Both countries were learned from MFA sign-ins: France is usual again.
      expect(reasonOf(lyon.reasons, 'geo-country').reason).toBe('usual country FR');
      expect(reasonOf(lyon.reasons, 'geo-asn').reason).toBe('usual ASN AS3215');

      // A session used from far away and stepped up there: the step-up replaces the session row,
      // but the sign-in it started from is still the one compared with.
      clock.advance(24 * 3_600_000);
      const device = access.devices.issue(clock.now().getTime());
      const a = await access.portal.login(
        bob.username,
        bob.password,
        { ip: '198.51.100.10' },
        device.deviceId,
      );
      const b = await access.portal.verifyMfa(
        a.token!,
        bob.recoveryCodes[code++]!,
        { ip: '198.51.100.10' },
        device.deviceId,
      );
      const at = (ip: string, token: string) =>
        access.gateway.evaluate(
          { flavour: 'nginx', method: 'GET', host: HOST, proto: 'https', uri: '/', clientIp: ip },
          { sessionToken: token, deviceCookie: device.value },
        );
      expect((await at('198.51.100.10', b.token!)).decision.decision).toBe('allow');
      clock.advance(10 * 60_000);
      const up = await access.portal.stepUp(
        b.token!,
        bob.recoveryCodes[code++]!,
        { ip: '198.51.100.20' },
        device.deviceId,
      );
      expect(up.error).toBeUndefined();
      const after = (await at('198.51.100.20', up.step!.token!)).decision;
      expect(reasonOf(after.reasons, 'impossible-travel').score).toBe(60);
      expect(reasonOf(after.reasons, 'impossible-travel').reason).toMatch(
        /from 198\.51\.100\.10 \(FR\) .* in 10 min/,
      );
    } finally {
      await access.close();
    }
  });
});
