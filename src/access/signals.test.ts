import { describe, expect, it } from 'vitest';
import { type AwarenessSignals, awarenessSignal, neutralAwareness } from './awareness.js';
import { decide } from './decide.js';
import {
  asnSignal,
  countrySignal,
  distanceKm,
  type KnownPlaces,
  networkOf,
  networkSignal,
  noGeo,
  travelSignal,
} from './geo.js';
import { emptyHistogram, parseHistogram, recordHour, withinHours } from './hours.js';
import { parseIp } from './ip.js';
import {
  accountSignal,
  allowedHoursSignal,
  blocklistSignal,
  deviceSignal,
  mfaFatigueSignal,
  roleSignal,
  sourceFailuresSignal,
  userFailuresSignal,
  usualHoursSignal,
  zoneSignal,
} from './signals.js';

const app = { stepUpRisk: 40, denyRisk: 80 };

describe('risk signals', () => {
  it('device: known 0, new/missing raise risk, a rejected cookie is a reason', () => {
    expect(deviceSignal({ kind: 'known' }).score).toBe(0);
    expect(deviceSignal({ kind: 'new' }).score).toBeGreaterThan(0);
    expect(deviceSignal({ kind: 'missing' }).score).toBeGreaterThan(0);
    const bad = deviceSignal({ kind: 'invalid', why: 'bad signature' });
    expect(bad.reason).toContain('bad signature');
    expect(bad.deny).toBeUndefined();
  });

  it('zone: scores by zone, denies a zone the application excludes', () => {
    expect(zoneSignal('lan', null).score).toBe(0);
    expect(zoneSignal('internet', null).score).toBeGreaterThan(zoneSignal('vpn', null).score);
    expect(zoneSignal('internet', { zones: ['lan', 'vpn'] }).deny).toBe(true);
    expect(zoneSignal('vpn', { zones: ['lan', 'vpn'] }).deny).toBeUndefined();
  });

  it('allowed hours, including a window past midnight', () => {
    const w = { start: '07:00', end: '19:00', days: [1, 2, 3, 4, 5] };
    expect(withinHours(new Date(2026, 5, 3, 8, 0), w)).toBe(true); // Wednesday 08:00
    expect(withinHours(new Date(2026, 5, 3, 19, 0), w)).toBe(false);
    expect(withinHours(new Date(2026, 5, 6, 10, 0), w)).toBe(false); // Saturday
    const night = { start: '22:00', end: '06:00', days: [5] };
    expect(withinHours(new Date(2026, 5, 5, 23, 0), night)).toBe(true); // Friday 23:00
    expect(withinHours(new Date(2026, 5, 6, 3, 0), night)).toBe(true); // Saturday 03:00, Friday's shift
    expect(withinHours(new Date(2026, 5, 6, 23, 0), night)).toBe(false);
    expect(allowedHoursSignal(new Date(2026, 5, 6, 10, 0), { allowedHours: w }).deny).toBe(true);
    expect(allowedHoursSignal(new Date(2026, 5, 6, 10, 0), {}).score).toBe(0);
  });

  it('usual hours: learning first, then unusual hours score', () => {
    let h = emptyHistogram();
    expect(usualHoursSignal(3, h).unknown).toBe(true);
    for (let i = 0; i < 30; i++) h = recordHour(h, 9 + (i % 3));
    expect(usualHoursSignal(10, h).score).toBe(0);
    expect(usualHoursSignal(3, h).score).toBeGreaterThan(0);
    expect(parseHistogram('{bad json')).toEqual(emptyHistogram());
    expect(parseHistogram('[1,2]')).toEqual(emptyHistogram());
  });

  it('failure bursts per user and per source, MFA fatigue', () => {
    expect(userFailuresSignal(0, 10).score).toBe(0);
    expect(userFailuresSignal(10, 10).score).toBeGreaterThan(userFailuresSignal(5, 10).score);
    expect(sourceFailuresSignal(30, 10).score).toBeGreaterThanOrEqual(50);
    expect(mfaFatigueSignal(0, 0, 10).score).toBe(0);
    expect(mfaFatigueSignal(12, 0, 10).score).toBe(40);
    expect(mfaFatigueSignal(3, 5, 10).score).toBe(40);
  });

  it('account, blocklist and role are hard verdicts', () => {
    expect(accountSignal('disabled')).toMatchObject({ deny: true, reason: 'account disabled' });
    expect(accountSignal('active').deny).toBeUndefined();
    expect(blocklistSignal('tor-exits.txt').reason).toContain('tor-exits.txt');
    expect(blocklistSignal('tor-exits.txt').deny).toBe(true);
    expect(roleSignal({ roles: ['admin'] }, ['staff']).deny).toBe(true);
    expect(roleSignal({ roles: 'any' }, ['staff']).deny).toBeUndefined();
    expect(roleSignal({ roles: ['clinician', 'staff'] }, ['staff']).deny).toBeUndefined();
  });

  it('awareness: the neutral default says nothing; a fake reporting overdue training forces step-up', () => {
    expect(awarenessSignal(neutralAwareness.stateOf('u1'))).toMatchObject({ score: 0, unknown: true });
    const fake: AwarenessSignals = {
      stateOf: (id) => (id === 'u1' ? { overdueTraining: true, recentPhishingFailure: false } : null),
    };
    const s = awarenessSignal(fake.stateOf('u1'));
    expect(s.reason).toContain('training overdue');
    expect(decide(app, [s], false).decision).toBe('step-up');
    expect(decide(app, [awarenessSignal(fake.stateOf('u2'))], false).decision).toBe('allow');
  });

  it('geo: unknown without data (never a guess); new country, ASN, network and impossible travel with data', () => {
    const none: KnownPlaces = { countries: new Set(), asns: new Set(), networks: new Set() };
    const here = noGeo.lookup('203.0.113.1');
    const blank = [
      countrySignal(here, none, noGeo.coverage),
      asnSignal(here, none, noGeo.coverage),
      travelSignal(null, { at: 0, ip: '203.0.113.1', geo: here }, 900, noGeo.coverage),
    ];
    expect(blank.every((s) => s.unknown && s.score === 0)).toBe(true);
    expect(blank[1]!.reason).toMatch(/access.geoipAsnFile/);
    const paris = { country: 'FR', asn: 3215, lat: 48.85, lon: 2.35 };
    const sydney = { country: 'AU', asn: 1221, lat: -33.87, lon: 151.21 };
    expect(
      distanceKm(paris as { lat: number; lon: number }, sydney as { lat: number; lon: number }),
    ).toBeGreaterThan(16_000);
    const known: KnownPlaces = {
      countries: new Set(['FR']),
      asns: new Set([3215]),
      networks: new Set(['10.1.2.0/24']),
    };
    expect(countrySignal(sydney, known).score).toBeGreaterThan(0);
    expect(countrySignal(paris, known).score).toBe(0);
    expect(asnSignal(sydney, known).score).toBeGreaterThan(0);
    expect(asnSignal(paris, known).score).toBe(0);
    expect(networkSignal(networkOf(parseIp('10.1.2.200')), known).score).toBe(0);
    expect(networkSignal(networkOf(parseIp('10.1.3.1')), known).reason).toBe(
      'new network 10.1.3.0/24 for this user',
    );
    expect(networkOf(parseIp('2001:db8:abcd:12::1'))).toBe('2001:db8:abcd::/48');
    const fast = travelSignal(
      { at: 0, ip: '1.1.1.1', geo: paris },
      { at: 2 * 3_600_000, ip: '2.2.2.2', geo: sydney },
      900,
    );
    expect(fast.score).toBeGreaterThan(0);
    expect(fast.reason).toMatch(/km\/h, above the 900 km\/h limit/);
    const slow = travelSignal(
      { at: 0, ip: '1.1.1.1', geo: paris },
      { at: 48 * 3_600_000, ip: '2.2.2.2', geo: sydney },
      900,
    );
    expect(slow.score).toBe(0);
    // Two fixes whose accuracy radii cover the distance are not travel.
    const vague = travelSignal(
      { at: 0, ip: '1.1.1.1', geo: { ...paris, radiusKm: 500 } },
      { at: 60_000, ip: '2.2.2.2', geo: { country: 'FR', asn: 3215, lat: 45.76, lon: 4.84, radiusKm: 500 } },
      900,
    );
    expect(vague.score).toBe(0);
  });
});

describe('decide', () => {
  const r = (score: number, deny?: boolean) => ({
    signal: 't',
    score,
    reason: 'r',
    ...(deny ? { deny } : {}),
  });
  it('allow below step-up, step-up between, deny at the deny threshold', () => {
    expect(decide(app, [r(10), r(20)], false)).toEqual({ decision: 'allow', risk: 30 });
    expect(decide(app, [r(25), r(20)], false)).toEqual({ decision: 'step-up', risk: 45 });
    expect(decide(app, [r(50), r(40)], false)).toEqual({ decision: 'deny', risk: 90 });
  });
  it('a hard verdict denies whatever the other scores', () => {
    expect(decide(app, [r(0), r(0, true)], true)).toEqual({ decision: 'deny', risk: 100 });
  });
  it('a recent step-up turns step-up into allow, never deny into allow', () => {
    expect(decide(app, [r(45)], true).decision).toBe('allow');
    expect(decide(app, [r(85)], true).decision).toBe('deny');
  });
  it('risk is capped at 100', () => {
    expect(decide({ stepUpRisk: 40, denyRisk: 101 }, [r(80), r(80)], false).risk).toBe(100);
  });
});
