/**
 * The fast event check against zod's `eventSchema`: whatever it accepts, zod accepts and returns
 * equal; realistic events are all accepted (else it would save nothing).
 */
import { describe, expect, it } from 'vitest';
import { checkedEvent, validEvent } from './event-check.js';
import { eventSchema, makeEvent } from './events.js';
import { seededRng } from './random.js';

function holds(x: unknown): boolean {
  const fast = checkedEvent(x);
  if (fast === undefined) return false;
  const zod = eventSchema.safeParse(x);
  expect(zod.success, JSON.stringify(x)).toBe(true);
  expect(fast).toEqual(zod.data);
  expect(fast).toBe(x);
  return true;
}

const realistic = [
  makeEvent({
    kind: 'net.flow',
    source: 'sensor',
    net: { srcIp: '10.1.1.5', srcPort: 49562, dstIp: '52.95.110.1', dstPort: 443, proto: 'tcp' },
    device: { ip: '10.1.1.5', mac: '00:09:fb:01:02:03' },
    data: { bytes: 1200, app: 'tls', sni: 'example.org' },
  }),
  makeEvent({
    kind: 'vault.read',
    source: 'vault',
    severity: 'info',
    user: { id: 'usr_1', name: 'a.nurse', role: 'clinician' },
    patientRef: 'ph_x',
    data: { resourceType: 'Observation', breakGlass: false },
  }),
  makeEvent({
    kind: 'auth.login.failed',
    source: 'identity',
    severity: 'medium',
    user: { name: 'bob' },
    data: {},
  }),
  makeEvent({ kind: 'zeek.dns', source: 'zeek', time: '2018-03-24T17:15:20.865Z' }),
  { v: 1, id: 'x', time: '2026-12-02T10:00:00+01:00', kind: 'access.decision', source: 'access' },
];

describe('checkedEvent', () => {
  it('accepts realistic events, as JSON gives them back, and zod agrees', () => {
    for (const e of realistic) expect(holds(JSON.parse(JSON.stringify(e)))).toBe(true);
  });

  it('leaves to zod what zod strips, refuses or copies oddly', () => {
    const base = JSON.parse(JSON.stringify(realistic[0]));
    const cases: unknown[] = [
      null,
      [],
      'event',
      { ...base, extra: 1 },
      { ...base, v: 2 },
      { ...base, id: '' },
      { ...base, id: 'x'.repeat(65) },
      { ...base, time: '2023-02-29T00:00:00Z' },
      { ...base, time: '2026-12-02 10:00:00Z' },
      { ...base, kind: 'Net.Flow' },
      { ...base, kind: `a.${'b'.repeat(127)}` },
      { ...base, source: '' },
      { ...base, severity: 'urgent' },
      { ...base, user: { name: 'x', admin: true } },
      { ...base, user: null },
      { ...base, device: { ip: 7 } },
      { ...base, net: { srcPort: 1.5 } },
      { ...base, net: { srcPort: 2 ** 53 } },
      { ...base, net: { srcPort: '443' } },
      { ...base, net: { srcIp: '10.0.0.1', vlan: 5 } },
      { ...base, data: [] },
      { ...base, data: null },
      JSON.parse(
        `{"v":1,"id":"a","time":"2026-01-01T00:00:00.000Z","kind":"a.b","source":"s","data":{"__proto__":{"x":1}}}`,
      ),
      Object.assign(Object.create(null), base),
      { ...base, data: Object.create({ inherited: 1 }) },
      (() => {
        const { v: _v, ...rest } = base;
        return rest;
      })(),
    ];
    for (const c of cases) expect(checkedEvent(c), JSON.stringify(c)).toBeUndefined();
  });

  it('never accepts what zod refuses or would return changed (seeded random events)', () => {
    const rng = seededRng(11);
    const values: unknown[] = [
      undefined,
      null,
      true,
      0,
      -0,
      1,
      1.5,
      -1,
      2 ** 53 - 1,
      2 ** 53,
      -(2 ** 53) + 1,
      1e300,
      '',
      'x',
      'a.b',
      'a',
      'A.b',
      'a..b',
      'info',
      'critical',
      'x'.repeat(64),
      'x'.repeat(65),
      'x'.repeat(128),
      'x'.repeat(129),
      '2026-12-02T10:00:00Z',
      '2026-12-02T10:00:00.123456789Z',
      '2026-12-02T24:00:00Z',
      '2024-02-29T00:00:00Z',
      '2026-12-02T10:00:00+14:00',
      '2026-12-02T10:00:00+24:00',
      '2026-12-02T10:00Z',
      '2026-12-02',
      [],
      [1],
      {},
      { id: 'u' },
      { name: 'n', role: 'r' },
      { id: 1 },
      { ip: '10.0.0.1', mac: 'm' },
      { srcIp: 'a', srcPort: 1 },
      { dstPort: 65535, proto: 'udp' },
      { srcPort: -0 },
      { srcPort: 1.0 },
      JSON.parse('{"constructor":{"prototype":{}}}'),
      JSON.parse('{"constructor":1,"toString":"x"}'),
      { other: 'x' },
      { a: { b: [1] } },
    ];
    const keys = [
      'v',
      'id',
      'time',
      'kind',
      'source',
      'severity',
      'user',
      'device',
      'net',
      'patientRef',
      'data',
      'extra',
    ];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const e: Record<string, unknown> = JSON.parse(JSON.stringify(realistic[rng.int(realistic.length)]));
      for (let k = rng.int(3); k >= 0; k--) {
        const key = rng.pick(keys);
        if (rng.next() < 0.2) delete e[key];
        else e[key] = structuredClone(rng.pick(values));
      }
      const x = rng.next() < 0.5 ? e : JSON.parse(JSON.stringify(e));
      // What the check leaves to zod is fine either way; what it takes, zod must agree with.
      if (holds(x)) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe('validEvent', () => {
  it('gives the event itself when the fast check vouches for it', () => {
    const e = JSON.parse(JSON.stringify(realistic[0]));
    expect(validEvent(e)).toBe(e);
  });

  it("gives zod's result when only zod can decide, and undefined for what zod refuses", () => {
    const base = JSON.parse(JSON.stringify(realistic[0]));
    const stripped = { ...base, user: { name: 'bob', extra: 'dropped' } };
    expect(checkedEvent(stripped)).toBeUndefined();
    const out = validEvent(stripped);
    expect(out).toEqual(eventSchema.parse(stripped));
    expect(out?.user).toEqual({ name: 'bob' });
    for (const bad of [null, [], { ...base, v: 2 }, { ...base, kind: 'Not A Kind' }])
      expect(validEvent(bad)).toBeUndefined();
  });
});
