/**
 * The hospital rule pack (content/rules): it loads without errors or unsupported rules, and each
 * rule fires on a positive event sequence and stays quiet on a negative one, built here.
 */
import { describe, expect, it } from 'vitest';
import { type EventInput, makeEvent, type VigilEvent } from '../../src/core/index.js';
import type { AlertStore } from '../../src/detect/index.js';
import { Detector, HOSPITAL_RULE_PACK, loadRules, type NewAlert } from '../../src/detect/index.js';
import type { Bus } from '../../src/platform/bus/index.js';

const T0 = Date.parse('2026-06-02T10:00:00.000Z');
function ev(s: number, input: EventInput): VigilEvent {
  return makeEvent(input, new Date(T0 + s * 1000));
}
/** A detector whose store and bus are never used (detect() is pure). */
function detector(): Detector {
  return new Detector([HOSPITAL_RULE_PACK], {
    alerts: {} as AlertStore,
    bus: {} as Bus,
    clock: { now: () => new Date(T0) },
  });
}
const titles = (alerts: NewAlert[]) => alerts.map((a) => a.ruleTitle);

describe('hospital rule pack', () => {
  it('loads every rule, none unsupported', () => {
    const { report } = loadRules(HOSPITAL_RULE_PACK);
    expect(report.errors).toEqual([]);
    expect(report.unsupported).toEqual([]);
    expect(report.loaded).toBeGreaterThanOrEqual(7);
    expect(report.correlations).toBe(4);
  });

  const fail = (s: number, user = 'eve') =>
    ev(s, { kind: 'auth.login.failed', source: 'identity', user: { name: user } });
  const ok = (s: number, user = 'eve') =>
    ev(s, { kind: 'auth.login.succeeded', source: 'identity', user: { name: user } });

  it('failed-login burst, then success for the same user', () => {
    const d = detector();
    const got = titles(d.detect([...[0, 10, 20, 30, 40].map((s) => fail(s)), ok(60)]));
    expect(got).toEqual([
      'Vigil - Failed login burst for one user',
      'Vigil - Many failed logins then a success for one user',
    ]);
    // negative: failures spread over users, success of another user
    const d2 = detector();
    expect(
      titles(d2.detect([...[0, 10, 20, 30, 40].map((s, i) => fail(s, `u${i}`)), ok(60, 'bob')])),
    ).toEqual([]);
  });

  it('MFA fatigue', () => {
    const prompts = Array.from({ length: 8 }, (_, i) =>
      ev(i * 20, {
        kind: i % 2 ? 'auth.mfa.failed' : 'auth.mfa.challenged',
        source: 'identity',
        user: { name: 'ann' },
      }),
    );
    expect(titles(detector().detect(prompts))).toEqual(['Vigil - MFA fatigue']);
    // negative: the same prompts spread over an hour
    const slow = prompts.map((e, i) => ({ ...e, time: new Date(T0 + i * 600_000).toISOString() }));
    expect(titles(detector().detect(slow))).toEqual([]);
  });

  it('lockout and break-glass', () => {
    const d = detector();
    expect(
      titles(d.detect([ev(0, { kind: 'auth.lockout', source: 'identity', user: { name: 'a' } })])),
    ).toEqual(['Vigil - Account locked out']);
    expect(
      titles(
        d.detect([
          ev(1, { kind: 'vault.resource.read', source: 'vault', data: { breakGlass: { reason: 'ER' } } }),
          ev(2, { kind: 'vault.resource.read', source: 'vault', data: { breakGlass: null } }),
          ev(3, { kind: 'vault.resource.read', source: 'vault', data: {} }),
        ]),
      ),
    ).toEqual(['Vigil - Break-glass access to patient data']);
    expect(
      titles(
        d.detect([
          ev(4, { kind: 'vault.break_glass.declared', source: 'vault', severity: 'high', data: {} }),
        ]),
      ),
    ).toEqual(['Vigil - Break-glass access to patient data']);
  });

  it('DICOM association from an unknown AE title', () => {
    const assoc = (reason: number) =>
      ev(0, {
        kind: 'net.dicom.association',
        source: 'sensor',
        data: { result: 'rejected', callingAe: 'ROGUE', reject: { result: 1, source: 1, reason } },
      });
    expect(titles(detector().detect([assoc(3)]))).toEqual([
      'Vigil - DICOM association from an unknown AE title',
    ]);
    expect(titles(detector().detect([assoc(7)]))).toEqual([]);
  });

  it('patient data in cleartext', () => {
    const d = detector();
    expect(
      titles(
        d.detect([
          ev(0, { kind: 'net.hl7.message', source: 'sensor', patientRef: 'h:abc', data: {} }),
          ev(1, { kind: 'net.hl7.message', source: 'sensor', data: {} }),
          ev(2, { kind: 'net.flow', source: 'sensor', patientRef: 'h:abc', data: {} }),
        ]),
      ),
    ).toEqual(['Vigil - Patient data in cleartext on the network']);
  });

  it('access gateway deny burst from one address', () => {
    const deny = (s: number, ip: string, decision = 'deny') =>
      ev(s, { kind: 'access.decision', source: 'access', net: { srcIp: ip }, data: { decision } });
    const burst = Array.from({ length: 20 }, (_, i) => deny(i * 5, '203.0.113.9'));
    expect(titles(detector().detect(burst))).toEqual(['Vigil - Access gateway deny burst from one address']);
    const spread = Array.from({ length: 20 }, (_, i) => deny(i * 5, `203.0.113.${i}`));
    const allowed = Array.from({ length: 20 }, (_, i) => deny(i * 5, '203.0.113.9', 'allow'));
    expect(titles(detector().detect([...spread, ...allowed]))).toEqual([]);
  });
});
