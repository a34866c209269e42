/**
 * Device behaviour baselines on every database engine, with flows built here and a manual clock:
 * a week of learning raises nothing; afterwards a new peer, a new port, a new protocol and an hour
 * with ten times the usual volume each raise one alert (once, however often they recur or a batch
 * is redelivered) and a normal hour raises none; a reset returns the device to learning; the
 * learned sets stay within their caps. Plus the robust statistics on their own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, makeEvent, type VigilEvent } from '../../src/core/index.js';
import {
  AlertStore,
  BaselineStore,
  Baselines,
  baselineMigrations,
  detectMigrations,
  hourOfWeek,
  mad,
  median,
  observationsOf,
  robustBounds,
} from '../../src/detect/index.js';
import type { Bus } from '../../src/platform/bus/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import { testDatabases } from '../support/databases.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 1 June 2026, 00:00 UTC. */
const T0 = Date.parse('2026-06-01T00:00:00.000Z');
const PUMP = '10.20.0.5';
const SERVER = '10.20.0.10';
const DNS = '10.20.0.2';

let port = 40_000;
function flow(
  t: number,
  src: string,
  dst: string,
  dstPort: number,
  o: { app?: string | null; transport?: 'tcp' | 'udp'; bytes?: number } = {},
): VigilEvent {
  const transport = o.transport ?? 'tcp';
  const bytes = Math.round(o.bytes ?? 10_000);
  port = port >= 60_000 ? 40_000 : port + 1;
  return makeEvent(
    {
      kind: 'net.flow',
      source: 'sensor',
      device: { ip: src },
      net: { srcIp: src, srcPort: port, dstIp: dst, dstPort, proto: transport },
      data:
        transport === 'udp'
          ? { transport, app: null, packets: 2, bytes }
          : {
              transport,
              app: o.app ?? '',
              packetsToServer: 10,
              packetsToClient: 12,
              bytesToServer: Math.round(bytes / 4),
              bytesToClient: bytes - Math.round(bytes / 4),
              sawSyn: true,
            },
    },
    new Date(t),
  );
}

/** A deterministic jitter in [0.85, 1.15] per hour. */
function jitter(hour: number): number {
  const x = Math.sin(hour * 12.9898) * 43_758.5453;
  return 0.85 + 0.3 * (x - Math.floor(x));
}

/** The pump's usual hour: three TLS flows to its server (more by day) and a DNS query. */
function normalHour(hour: number, factor = 1): VigilEvent[] {
  const t = T0 + hour * HOUR;
  const h = new Date(t).getUTCHours();
  const total = (h >= 8 && h < 20 ? 4_000_000 : 1_000_000) * jitter(hour) * factor;
  return [
    flow(t + 5 * 60_000, PUMP, SERVER, 443, { app: 'tls', bytes: total * 0.4 }),
    flow(t + 20 * 60_000, PUMP, DNS, 53, { transport: 'udp', bytes: 180 }),
    flow(t + 35 * 60_000, PUMP, SERVER, 443, { app: 'tls', bytes: total * 0.3 }),
    flow(t + 50 * 60_000, PUMP, SERVER, 443, { app: 'tls', bytes: total * 0.3 }),
  ];
}

/** A bus that keeps what is published. */
function recordingBus(): Bus & { events: VigilEvent[] } {
  const events: VigilEvent[] = [];
  return {
    kind: 'memory',
    events,
    async publish(evs: readonly VigilEvent[]) {
      events.push(...evs);
    },
    subscribe: () => Promise.reject(new Error('not used')),
    stats: () => ({ published: events.length, delivered: 0, redelivered: 0, queued: 0 }),
    ready: async () => true,
    close: async () => {},
  };
}

async function setup(db: Database, options = {}) {
  await runMigrations(db, [...detectMigrations, ...baselineMigrations]);
  const clock = new ManualClock(T0);
  const alerts = new AlertStore(db.db, clock);
  const bus = recordingBus();
  const baselines = new Baselines({ store: new BaselineStore(db.db), alerts, bus, clock, options });
  /** Feeds events as the bus would, with the clock at the last event's time. */
  const feed = async (events: VigilEvent[]) => {
    const last = Math.max(...events.map((e) => Date.parse(e.time)));
    if (last > clock.now().getTime()) clock.advance(last - clock.now().getTime());
    return baselines.handle(events);
  };
  const alertsOf = async (ruleId: string, device?: string) =>
    (await alerts.list({ ruleId, limit: 500 })).alerts.filter(
      (a) => device === undefined || a.dedupKey.startsWith(`${ruleId}|${device}|`),
    );
  return { clock, alerts, bus, baselines, feed, alertsOf };
}

describe('robust statistics', () => {
  it('median, MAD and bounds resist outliers; nothing is judged on too few samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
    const o = { minSamples: 3, tolerance: 5, minRelative: 0, minAbsolute: 0 };
    const b = robustBounds([10, 11, 9, 10, 1000], o)!;
    expect(b.median).toBe(10);
    expect(b.upper).toBeLessThan(20);
    expect(robustBounds([10, 11], o)).toBeUndefined();
    // A perfectly regular history (MAD 0) still has a band, from the relative floor.
    const flat = robustBounds([100, 100, 100], { ...o, minRelative: 0.1 })!;
    expect([flat.lower, flat.upper]).toEqual([50, 150]);
    expect(hourOfWeek(T0)).toBe(0); // Monday 00:00
    expect(hourOfWeek(T0 + 6 * DAY + 23 * HOUR)).toBe(167);
  });

  it('a flow teaches both of its internal ends, never a public or multicast address', () => {
    const obs = observationsOf(flow(T0, PUMP, SERVER, 443, { app: 'tls' }));
    expect(obs.map((o) => [o.device, o.direction, o.peer, o.protocol])).toEqual([
      [PUMP, 'out', SERVER, 'tls'],
      [SERVER, 'in', PUMP, 'tls'],
    ]);
    expect(observationsOf(flow(T0, PUMP, '52.95.110.1', 443)).map((o) => o.device)).toEqual([PUMP]);
    expect(observationsOf(flow(T0, PUMP, '239.1.1.1', 5000, { transport: 'udp' })).length).toBe(1);
  });
});

for (const engine of testDatabases()) {
  describe(`device baselines on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('learns for 7 days silently, then raises one alert per new peer, port, protocol and abnormal hour', async () => {
      const db = await engine.open();
      try {
        const { baselines, feed, alertsOf, alerts, bus } = await setup(db);
        // A week of normal traffic, an hour per batch: nothing is raised while learning.
        for (let h = 0; h < 7 * 24; h++) expect(await feed(normalHour(h))).toEqual([]);
        expect((await alerts.list()).total).toBe(0);
        let list = await baselines.list();
        expect(list.baselines.map((b) => [b.device, b.status])).toEqual([
          [SERVER, 'learning'],
          [DNS, 'learning'],
          [PUMP, 'learning'],
        ]);
        const pump = (await baselines.get(PUMP))!;
        expect(pump).toMatchObject({ peers: 2, ports: 2, protocols: 2, anomalies: 0 });
        expect(pump.knownPorts.sort()).toEqual(['out:tcp/443', 'out:udp/53']);

        // Day 8: normal hours raise nothing (volume judged against the learned hours).
        let h = 7 * 24;
        for (; h < 7 * 24 + 6; h++) expect(await feed(normalHour(h))).toEqual([]);
        list = await baselines.list({ status: 'active' });
        expect(list.total).toBe(3);

        // A new peer (known port and protocol): once, however often it recurs or is redelivered.
        expect(await feed(normalHour(h))).toEqual([]);
        const t = T0 + h * HOUR;
        const newPeer = [
          flow(t + 60_000, PUMP, '10.20.0.77', 443, { app: 'tls' }),
          flow(t + 120_000, PUMP, '10.20.0.77', 443, { app: 'tls' }),
        ];
        const got = await feed(newPeer);
        expect(got.map((a) => [a.type, a.device, a.value])).toEqual([['new-peer', PUMP, '10.20.0.77']]);
        await feed(newPeer); // redelivered batch
        await feed([flow(t + 180_000, PUMP, '10.20.0.77', 443, { app: 'tls' })]);
        expect(await alertsOf('vigil-baseline-new-peer')).toHaveLength(1);

        // A new port to a known peer: the pump uses it, and the server serves it (both learned).
        const newPort = flow(t + 240_000, PUMP, SERVER, 8443, { app: 'tls' });
        const ports = await feed([newPort, flow(t + 250_000, PUMP, SERVER, 8443, { app: 'tls' })]);
        expect(ports.map((a) => [a.type, a.device, a.value])).toEqual([
          ['new-port', PUMP, 'out:tcp/8443'],
          ['new-port', SERVER, 'in:tcp/8443'],
        ]);
        expect(await alertsOf('vigil-baseline-new-port', PUMP)).toHaveLength(1);

        // A new protocol on a known port and peer: cleartext HTTP where TLS was.
        const proto = await feed([flow(t + 300_000, PUMP, SERVER, 443, { app: 'http' })]);
        expect(proto.map((a) => [a.type, a.device, a.value])).toEqual([
          ['new-protocol', PUMP, 'http'],
          ['new-protocol', SERVER, 'http'],
        ]);
        expect(await alertsOf('vigil-baseline-new-protocol', PUMP)).toHaveLength(1);

        // Ten times the usual volume in the next hour: judged when the hour after it starts.
        h++;
        expect(await feed(normalHour(h, 10))).toEqual([]);
        h++;
        const closing = normalHour(h);
        const vol = await feed(closing);
        expect(vol.map((a) => [a.type, a.device])).toEqual([
          ['volume-high', PUMP],
          ['volume-high', SERVER],
        ]);
        const v = vol[0]!.volume!;
        expect(v.bytes).toBeGreaterThan(v.upper);
        expect(v.hour).toBe(new Date(T0 + (h - 1) * HOUR).toISOString());
        expect(await feed(closing)).toEqual([]); // redelivered
        expect(await alertsOf('vigil-baseline-volume-high', PUMP)).toHaveLength(1);

        // The next normal hours raise nothing.
        for (let k = 0; k < 3; k++) expect(await feed(normalHour(++h))).toEqual([]);
        expect(await alertsOf('vigil-baseline-volume-high', PUMP)).toHaveLength(1);

        // Each anomaly is published as an event for the rule pack, and each new alert announced.
        const kinds = bus.events.map((e) => e.kind);
        expect(kinds.filter((k) => k === 'detect.baseline.new-peer')).toHaveLength(1);
        expect(kinds.filter((k) => k === 'detect.alert')).toHaveLength((await alerts.list()).total);
        const peerEvent = bus.events.find((e) => e.kind === 'detect.baseline.new-peer')!;
        expect(peerEvent).toMatchObject({
          device: { ip: PUMP },
          net: { srcIp: PUMP, dstIp: '10.20.0.77', dstPort: 443 },
          data: { anomaly: 'new-peer', direction: 'out', peer: '10.20.0.77', peerExternal: false },
        });
        expect((await baselines.get(PUMP))!.anomalies).toBe(4);
      } finally {
        await db.close();
      }
    });

    it('a reset returns the device to learning: what it learned is forgotten, nothing is raised', async () => {
      const db = await engine.open();
      try {
        const { baselines, feed, alertsOf, bus, clock } = await setup(db, { learningDays: 2 });
        let h = 0;
        for (; h < 3 * 24; h++) await feed(normalHour(h));
        expect((await baselines.get(PUMP))!.status).toBe('active');
        await expect(baselines.reset('10.99.99.99')).rejects.toMatchObject({ code: 'NOT_FOUND' });

        const reset = await baselines.reset(PUMP, { name: 'ana', role: 'biomed' });
        expect(reset).toMatchObject({ device: PUMP, status: 'learning', peers: 0, ports: 0, resets: 1 });
        expect(Date.parse(reset.learningUntil) - clock.now().getTime()).toBe(2 * DAY);
        expect(bus.events.at(-1)).toMatchObject({
          kind: 'detect.baseline.reset',
          user: { name: 'ana', role: 'biomed' },
          device: { ip: PUMP },
        });
        // A new peer and ten times the volume while learning again: nothing for the pump (its
        // server, not reset, does see the volume).
        const t = T0 + h * HOUR;
        expect(await feed([flow(t + 60_000, PUMP, '10.20.0.88', 22)])).toEqual([]);
        const raised = [];
        for (let k = 0; k < 4; k++) raised.push(...(await feed(normalHour(h + k, 10))));
        expect(raised.filter((a) => a.device === PUMP)).toEqual([]);
        expect(raised.filter((a) => a.device === SERVER).map((a) => a.type)).toContain('volume-high');
        for (const r of ['new-peer', 'new-port', 'new-protocol', 'volume-high', 'volume-low'])
          expect(await alertsOf(`vigil-baseline-${r}`, PUMP)).toEqual([]);
        expect((await baselines.list({ status: 'learning' })).baselines.map((b) => b.device)).toEqual([
          PUMP,
          '10.20.0.88', // first seen just now
        ]);
        // And it learns again: after the window, a peer it has not seen since the reset is new.
        h += 4;
        for (const end = h + 2 * 24; h < end; h++) await feed(normalHour(h));
        const after = await feed([flow(T0 + h * HOUR + 60_000, PUMP, '10.20.0.99', 443, { app: 'tls' })]);
        expect(after.map((a) => [a.type, a.device])).toEqual([['new-peer', PUMP]]);
      } finally {
        await db.close();
      }
    });

    it('keeps at most maxPeers peers and maxPorts ports per device; a saturated device is not alerted on', async () => {
      const db = await engine.open();
      try {
        const { baselines, feed, alerts } = await setup(db, { learningDays: 1, maxPeers: 20, maxPorts: 5 });
        // A workstation that talks to 50 servers on 10 ports while learning.
        const ws = '10.30.0.9';
        const events: VigilEvent[] = [];
        for (let i = 0; i < 50; i++)
          events.push(flow(T0 + i * 60_000, ws, `10.40.0.${i + 1}`, 8000 + (i % 10)));
        await feed(events);
        const d = (await baselines.get(ws))!;
        expect(d).toMatchObject({ peers: 20, ports: 5, protocols: 1 });
        expect(d.saturated).toEqual({ peers: true, ports: true, protocols: false });
        expect(d.knownPeers).toHaveLength(20);
        // After learning: new peers and ports raise nothing for it (its behaviour is too wide).
        const later = T0 + 2 * DAY;
        const got = await feed([flow(later, ws, '10.50.0.1', 9999, { app: 'tls' })]);
        expect(got.filter((a) => a.device === ws).map((a) => a.type)).toEqual(['new-protocol']);
        expect((await baselines.get(ws))!.peers).toBe(20);
        // The stored document stays small.
        const stored = await new BaselineStore(db.db).get(ws);
        expect(JSON.stringify(stored!.state).length).toBeLessThan(4000);
        expect((await alerts.list()).alerts.every((a) => !a.ruleId.endsWith('new-peer'))).toBe(true);
      } finally {
        await db.close();
      }
    });

    it('two learners sharing a device (two workers) never lose each other’s updates', async () => {
      const db = await engine.open();
      try {
        const a = await setup(db, { learningDays: 1 });
        const b = new Baselines({
          store: new BaselineStore(db.db),
          alerts: a.alerts,
          bus: a.bus,
          clock: a.clock,
          options: { learningDays: 1 },
        });
        const events = Array.from({ length: 40 }, (_, i) =>
          flow(T0 + i * 1000, PUMP, `10.60.0.${i + 1}`, 443, { app: 'tls' }),
        );
        await Promise.all([a.baselines.handle(events.slice(0, 20)), b.handle(events.slice(20))]);
        expect((await a.baselines.get(PUMP))!.peers).toBe(40);
      } finally {
        await db.close();
      }
    });
  });
}
