/**
 * The hospital rule pack (content/rules): it loads without errors or unsupported rules, every
 * rule carries ATT&CK tags, and each rule fires on a positive event sequence and stays quiet on a
 * negative one, built here with the field names the sensor, vault, identity, access and baseline
 * producers emit. Rules about medical or life-sustaining devices read the inventory's view of an
 * address (`srcDevice.*` / `dstDevice.*`), given here by a fixed directory.
 */
import { describe, expect, it } from 'vitest';
import { type EventInput, makeEvent, type VigilEvent } from '../../src/core/index.js';
import type { AlertStore } from '../../src/detect/index.js';
import {
  anomalyEvent,
  Detector,
  DeviceEnricher,
  HOSPITAL_RULE_PACK,
  loadRules,
  type NewAlert,
  observationsOf,
  StaticDirectory,
} from '../../src/detect/index.js';
import type { Bus } from '../../src/platform/bus/index.js';

const T0 = Date.parse('2026-06-02T10:00:00.000Z');
function ev(s: number, input: EventInput): VigilEvent {
  return makeEvent(input, new Date(T0 + s * 1000));
}

/** The inventory as the rules see it. */
const PUMP = '10.20.0.5';
const MONITOR = '10.20.0.6';
const WORKSTATION = '10.30.0.7';
const ENGINE = '10.40.0.8';
const MODALITY = '10.40.0.9';
const directory = new StaticDirectory({
  [PUMP]: { type: 'infusion-pump', criticality: 'life-sustaining' },
  [MONITOR]: { type: 'patient-monitor', criticality: 'life-sustaining' },
  [WORKSTATION]: { type: 'workstation', criticality: 'clinical-support' },
  [ENGINE]: { type: 'hl7-interface-engine', criticality: 'patient-care' },
  [MODALITY]: { type: 'imaging-modality', criticality: 'patient-care' },
});

/** A detector whose store and bus are never used (detect() is pure). */
function detector(): Detector {
  return new Detector([HOSPITAL_RULE_PACK], {
    alerts: {} as AlertStore,
    bus: {} as Bus,
    clock: { now: () => new Date(T0) },
    enricher: new DeviceEnricher(directory),
  });
}

/** A sensor flow (net.flow) as the sensor emits it. */
function flow(s: number, src: string, dst: string, dstPort: number, app = ''): VigilEvent {
  return ev(s, {
    kind: 'net.flow',
    source: 'sensor',
    device: { ip: src },
    net: { srcIp: src, srcPort: 50_000 + (s % 10_000), dstIp: dst, dstPort, proto: 'tcp' },
    data: {
      transport: 'tcp',
      app,
      packetsToServer: 3,
      packetsToClient: 2,
      bytesToServer: 400,
      bytesToClient: 300,
      durationMs: 12,
      sawSyn: true,
      end: 'fin',
    },
  });
}
const titles = (alerts: NewAlert[]) => alerts.map((a) => a.ruleTitle);

describe('hospital rule pack', () => {
  it('loads every rule, none unsupported', () => {
    const { report } = loadRules(HOSPITAL_RULE_PACK);
    expect(report.errors).toEqual([]);
    expect(report.unsupported).toEqual([]);
    expect(report.loaded).toBeGreaterThanOrEqual(16);
    expect(report.correlations).toBe(7);
  });

  it('tags every alerting rule with ATT&CK techniques', () => {
    const { rules, correlations } = loadRules(HOSPITAL_RULE_PACK);
    const alerting = [
      ...rules.filter((r) => r.level !== 'informational').map((r) => [r.title, r.tags] as const),
      ...correlations.map((c) => [c.title, c.tags] as const),
    ];
    for (const [title, tags] of alerting)
      expect(
        (tags ?? []).some((t) => /^attack\.t\d{4}/.test(t)),
        `${title} has an ATT&CK technique`,
      ).toBe(true);
    const all = alerting.flatMap(([, tags]) => tags ?? []);
    expect(all.some((t) => /^attack\.t0\d{3}$/.test(t))).toBe(true); // ICS
    expect(all.some((t) => /^attack\.t1\d{3}/.test(t))).toBe(true); // Enterprise
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

describe('hospital rule pack: devices and the network', () => {
  it('medical device talking to a public address (either direction)', () => {
    expect(titles(detector().detect([flow(0, PUMP, '52.95.110.1', 443, 'tls')]))).toEqual([
      'Vigil - Medical device talking to a public address',
    ]);
    expect(titles(detector().detect([flow(0, '185.220.101.5', MONITOR, 22)]))).toEqual([
      'Vigil - Medical device talking to a public address',
    ]);
    // negative: a medical device on the internal network, a workstation on the Internet, a
    // device the inventory does not know, multicast
    expect(
      titles(
        detector().detect([
          flow(0, PUMP, ENGINE, 443, 'tls'),
          flow(1, WORKSTATION, '52.95.110.1', 443, 'tls'),
          flow(2, '10.99.0.1', '52.95.110.1', 443),
          flow(3, MONITOR, '239.255.255.250', 1900),
        ]),
      ),
    ).toEqual([]);
  });

  it('new external destination for a life-sustaining device (from the baseline learner)', () => {
    const anomaly = (src: string, dst: string, direction: 'out' | 'in' = 'out') => {
      const f = flow(0, src, dst, 443, 'tls');
      const ob = observationsOf(f).find((o) => o.direction === direction)!;
      return anomalyEvent({
        type: 'new-peer',
        device: ob.device,
        eventId: f.id,
        time: f.time,
        value: ob.peer,
        observation: ob,
      });
    };
    expect(titles(detector().detect([anomaly(PUMP, '52.95.110.1')]))).toEqual([
      'Vigil - New external destination for a life-sustaining device',
    ]);
    // negative: a patient-care (not life-sustaining) device, an internal peer, an inbound peer
    expect(
      titles(
        detector().detect([
          anomaly(MODALITY, '52.95.110.1'),
          anomaly(MONITOR, ENGINE),
          anomaly('52.95.110.1', MONITOR, 'in'),
        ]),
      ),
    ).toEqual([]);
  });

  it('SMB or RDP from a medical device', () => {
    expect(
      titles(detector().detect([flow(0, MODALITY, WORKSTATION, 445), flow(1, PUMP, ENGINE, 3389)])),
    ).toEqual(['Vigil - SMB or RDP from a medical device', 'Vigil - SMB or RDP from a medical device']);
    // negative: a workstation using SMB, a pump using TLS
    expect(
      titles(detector().detect([flow(0, WORKSTATION, ENGINE, 445), flow(1, PUMP, ENGINE, 443)])),
    ).toEqual([]);
  });

  it('one host reaching many devices in a short time (probes or remote administration)', () => {
    const probe = (s: number, dst: string, dstPort: number) => {
      const e = flow(s, WORKSTATION, dst, dstPort);
      return {
        ...e,
        data: { ...e.data, packetsToServer: 1, packetsToClient: 1, bytesToClient: 0, end: 'rst' },
      };
    };
    const scan = Array.from({ length: 50 }, (_, i) => probe(i * 5, `10.50.0.${i + 1}`, 80));
    expect(titles(detector().detect(scan))).toEqual([
      'Vigil - One host reaching many devices in a short time',
    ]);
    const smb = Array.from({ length: 50 }, (_, i) => flow(i * 5, WORKSTATION, `10.50.0.${i + 1}`, 445));
    expect(titles(detector().detect(smb))).toEqual([
      'Vigil - One host reaching many devices in a short time',
    ]);
    // negative: 49 devices; 50 devices over 50 minutes; 100 probes of the same 5 devices; a
    // central station with established TLS sessions to 60 monitors
    expect(titles(detector().detect(scan.slice(1)))).toEqual([]);
    const slow = Array.from({ length: 50 }, (_, i) => probe(i * 60, `10.50.0.${i + 1}`, 80));
    expect(titles(detector().detect(slow))).toEqual([]);
    const same = Array.from({ length: 100 }, (_, i) => probe(i, `10.50.0.${(i % 5) + 1}`, 80));
    expect(titles(detector().detect(same))).toEqual([]);
    const station = Array.from({ length: 60 }, (_, i) =>
      flow(i, WORKSTATION, `10.50.1.${i + 1}`, 443, 'tls'),
    );
    expect(titles(detector().detect(station))).toEqual([]);
  });

  it('mass DICOM query or retrieve', () => {
    const cmd = (s: number, command: string, src = WORKSTATION) =>
      ev(s, {
        kind: 'net.dicom.command',
        source: 'sensor',
        device: { ip: src },
        net: { srcIp: src, srcPort: 51_000, dstIp: '10.40.0.20', dstPort: 104, proto: 'tcp' },
        data: {
          command,
          commandField: 32,
          callingAe: 'VIEWER1',
          calledAe: 'PACS',
          carriesPatientData: false,
        },
      });
    const harvest = Array.from({ length: 200 }, (_, i) => cmd(i * 2, i % 2 ? 'C-MOVE-RQ' : 'C-FIND-RQ'));
    expect(titles(detector().detect(harvest))).toEqual(['Vigil - Mass DICOM query or retrieve']);
    // negative: 199 queries; 200 stores; 200 queries over an hour
    expect(titles(detector().detect(harvest.slice(1)))).toEqual([]);
    expect(titles(detector().detect(Array.from({ length: 200 }, (_, i) => cmd(i, 'C-STORE-RQ'))))).toEqual(
      [],
    );
    expect(
      titles(detector().detect(Array.from({ length: 200 }, (_, i) => cmd(i * 18, 'C-FIND-RQ')))),
    ).toEqual([]);
  });

  it('HL7 from an unexpected sender', () => {
    const hl7 = (src: string) =>
      ev(0, {
        kind: 'net.hl7.message',
        source: 'sensor',
        device: { ip: src },
        net: { srcIp: src, srcPort: 52_000, dstIp: '10.40.0.30', dstPort: 2575, proto: 'tcp' },
        data: {
          sendingApplication: 'ADT1',
          sendingFacility: 'MCM',
          messageType: { code: 'ADT', trigger: 'A01', structure: 'ADT_A01' },
          patientRefs: [],
        },
      });
    expect(titles(detector().detect([hl7(WORKSTATION)]))).toEqual(['Vigil - HL7 from an unexpected sender']);
    // negative: the interface engine, a lab or monitor sender, an address not in the inventory
    expect(titles(detector().detect([hl7(ENGINE), hl7(MONITOR), hl7('10.99.0.1')]))).toEqual([]);
  });
});

describe('hospital rule pack: people and patient data', () => {
  const decision = (s: number, reasons: { signal: string; score: number; reason: string }[]) =>
    ev(s, {
      kind: 'access.decision',
      source: 'access',
      severity: 'medium',
      user: { id: 'u1', name: 'ann', role: 'clinician' },
      net: { srcIp: '198.51.100.7' },
      data: {
        decision: 'step-up',
        risk: 65,
        app: 'ehr',
        host: 'ehr.hospital.org',
        path: '/',
        method: 'GET',
        reasons,
      },
    });

  it('impossible travel (from the access gateway)', () => {
    expect(
      titles(
        detector().detect([
          decision(0, [{ signal: 'impossible-travel', score: 60, reason: '8200 km: 4100 km/h' }]),
        ]),
      ),
    ).toEqual(['Vigil - Impossible travel']);
    // negative: a new country only, no reasons
    expect(
      titles(
        detector().detect([
          decision(0, [{ signal: 'geo-country', score: 25, reason: 'new country FR for this user' }]),
          decision(1, []),
        ]),
      ),
    ).toEqual([]);
  });

  it('after-hours mass record access (hours in UTC)', () => {
    const read = (iso: string, s: number, patient: number, user = 'u-night') =>
      makeEvent(
        {
          kind: 'vault.resource.read',
          source: 'vault',
          severity: 'info',
          user: { id: user, role: 'clinician' },
          patientRef: `h:${patient.toString(16).padStart(8, '0')}`,
          data: { resourceType: 'Patient', action: 'read' },
        },
        new Date(Date.parse(iso) + s * 1000),
      );
    const night = Array.from({ length: 30 }, (_, i) => read('2026-06-02T22:00:00Z', i * 60, i));
    expect(titles(detector().detect(night))).toEqual(['Vigil - After-hours mass patient record access']);
    const early = Array.from({ length: 30 }, (_, i) => read('2026-06-03T04:00:00Z', i * 60, i));
    expect(titles(detector().detect(early))).toEqual(['Vigil - After-hours mass patient record access']);
    // negative: the same reads in the day; 30 reads of 5 patients at night; 29 patients at night
    const day = Array.from({ length: 30 }, (_, i) => read('2026-06-02T10:00:00Z', i * 60, i));
    expect(titles(detector().detect(day))).toEqual([]);
    const few = Array.from({ length: 30 }, (_, i) => read('2026-06-02T22:00:00Z', i * 60, i % 5));
    expect(titles(detector().detect(few))).toEqual([]);
    expect(titles(detector().detect(night.slice(1)))).toEqual([]);
  });
});
