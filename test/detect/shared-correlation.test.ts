/**
 * Correlation shared by distributed workers: the window judgement is a function of the set of
 * matches (any arrival order gives the same firing matches), and the shared store on every
 * database engine gives two concurrent "workers" fed interleaved, shuffled and redelivered batches
 * exactly the firings of one worker fed everything in order, with each event counted once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, makeEvent, type VigilEvent } from '../../src/core/index.js';
import {
  AlertStore,
  type CorrelationMatch,
  type CorrelationRule,
  Correlator,
  correlationMigrations,
  Detector,
  detectMigrations,
  firingEntries,
  HOSPITAL_RULE_PACK,
  parseRuleText,
  SharedCorrelations,
  sortEntries,
  type WindowEntry,
} from '../../src/detect/index.js';
import type { Bus } from '../../src/platform/bus/index.js';
import { runMigrations } from '../../src/platform/db/index.js';
import { testDatabases } from '../support/databases.js';

const T0 = Date.parse('2026-06-02T10:00:00.000Z');

function corr(id: string, body: string): CorrelationRule {
  const r = parseRuleText(`title: ${id}\nid: ${id}\ncorrelation:\n${body}`, `${id}.yml`);
  if (r.errors.length) throw new Error(JSON.stringify(r.errors));
  return r.rules[0] as CorrelationRule;
}

const burst = corr(
  'burst',
  '  type: event_count\n  rules: [fail]\n  group-by: [user]\n  timespan: 10m\n  condition: {gte: 5}\n',
);
const scan = corr(
  'scan',
  '  type: value_count\n  rules: [conn]\n  group-by: [src]\n  timespan: 5m\n  condition: {field: dst, gte: 4}\n',
);
const chain = corr('chain', '  type: temporal\n  rules: [fail, mfa]\n  group-by: [user]\n  timespan: 10m\n');
const ordered = corr(
  'ordered',
  '  type: temporal_ordered\n  rules: [fail, ok]\n  group-by: [user]\n  timespan: 10m\n',
);
const volume = corr(
  'volume',
  '  type: value_sum\n  rules: [conn]\n  group-by: [src]\n  timespan: 5m\n  condition: {field: bytes, gt: 1000}\n',
);
const RULES = [burst, scan, chain, ordered, volume];

/** A deterministic shuffle. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Matches of a small hospital morning: bursts, scans and sign-ins, some below every threshold. */
function matches(): CorrelationMatch[] {
  const out: CorrelationMatch[] = [];
  let n = 0;
  const add = (ruleId: string, sec: number, event: Record<string, unknown>) =>
    out.push({ ruleId, event, time: T0 + sec * 1000, eventId: `e${String(n++).padStart(4, '0')}` });
  for (let i = 0; i < 12; i++) add('fail', i * 20, { user: 'eve' }); // a burst of 12 in 4 minutes
  for (let i = 0; i < 4; i++) add('fail', i * 20, { user: 'bob' }); // below the threshold
  for (let i = 0; i < 6; i++) add('fail', i * 200, { user: 'amy' }); // spread: never 5 in 10 minutes
  add('mfa', 300, { user: 'eve' });
  add('ok', 320, { user: 'eve' });
  add('ok', -30, { user: 'bob' }); // before any failure of the chain: not ordered
  for (let i = 0; i < 10; i++) add('conn', 400 + i, { src: '10.0.0.9', dst: `10.1.0.${i % 6}`, bytes: 150 });
  for (let i = 0; i < 10; i++) add('conn', 400 + i * 60, { src: '10.0.0.8', dst: '10.1.0.1', bytes: 90 });
  return out;
}

const fired = (list: { alert: { correlationId: string }; eventId: string }[]) =>
  [...new Set(list.map((f) => `${f.alert.correlationId} ${f.eventId}`))].sort();

describe('correlation windows judged on a set of matches', () => {
  it('give the same firing matches whatever the order they arrive in', () => {
    const c = new Correlator(RULES);
    const all = matches();
    const judge = (order: readonly CorrelationMatch[]) => {
      const out: string[] = [];
      for (const rule of RULES) {
        const groups = new Map<string, WindowEntry[]>();
        for (const m of order)
          for (const input of c.inputsOf(m.ruleId, m.event))
            if (input.correlation.id === rule.id) {
              const list = groups.get(input.key) ?? [];
              list.push({ t: m.time, id: m.eventId, pos: input.pos, value: input.value });
              groups.set(input.key, list);
            }
        for (const entries of groups.values())
          for (const f of firingEntries(rule, sortEntries(entries))) out.push(`${rule.id} ${f.entry.id}`);
      }
      return out.sort();
    };
    const inOrder = judge(all);
    // eve's 5th to 12th failure; the mfa and then the success of eve; 10.0.0.9's 4th to 10th
    // connection (4 distinct destinations); its sums over 1000 bytes from the 7th on.
    expect(inOrder.filter((s) => s.startsWith('burst '))).toHaveLength(8);
    expect(inOrder.filter((s) => s.startsWith('chain '))).toHaveLength(1);
    expect(inOrder.filter((s) => s.startsWith('ordered '))).toHaveLength(1);
    expect(inOrder.filter((s) => s.startsWith('scan '))).toHaveLength(7);
    expect(inOrder.filter((s) => s.startsWith('volume '))).toHaveLength(4);
    for (const seed of [1, 2, 3]) expect(judge(shuffled(all, seed))).toEqual(inOrder);
  });

  it('value_avg and value_percentile judge the window ending at each match', () => {
    const avg = corr(
      'avg',
      '  type: value_avg\n  rules: [r]\n  group-by: [h]\n  timespan: 1m\n  condition: {field: n, gte: 10}\n',
    );
    const e = (t: number, value: number): WindowEntry => ({ t: t * 1000, id: `a${t}`, pos: 0, value });
    expect(firingEntries(avg, [e(0, 4), e(10, 20), e(80, 1)]).map((f) => f.value)).toEqual([12]);
    const rare = corr(
      'rare',
      '  type: value_percentile\n  rules: [r]\n  group-by: [h]\n  timespan: 1h\n  condition: {field: v, lte: 10}\n',
    );
    const entries = Array.from({ length: 20 }, (_, i) => ({
      t: i,
      id: `p${i}`,
      pos: 0,
      value: i === 19 ? 'odd' : 'usual',
    }));
    expect(firingEntries(rare, entries).map((f) => f.entry.id)).toEqual(['p19']);
  });
});

for (const engine of testDatabases()) {
  describe(`shared correlation store (${engine.name})`, () => {
    afterAll(() => engine.cleanup());

    it('gives two concurrent workers fed shuffled, redelivered batches the firings of one worker', async () => {
      const all = matches();
      const one = await engine.open();
      const two = await engine.open();
      try {
        await runMigrations(one, correlationMigrations);
        await runMigrations(two, correlationMigrations);
        const single = new SharedCorrelations(one.db, new Correlator(RULES));
        const reference: { alert: { correlationId: string }; eventId: string }[] = [];
        for (let i = 0; i < all.length; i += 8)
          reference.push(...(await single.process(all.slice(i, i + 8))));

        // Two workers on one database, each with its own state-less store, batches interleaved.
        const a = new SharedCorrelations(two.db, new Correlator(RULES));
        const b = new SharedCorrelations(two.db, new Correlator(RULES));
        const order = shuffled(all, 7);
        const batches: CorrelationMatch[][] = [];
        for (let i = 0; i < order.length; i += 5) batches.push(order.slice(i, i + 5));
        const got: { alert: { correlationId: string }; eventId: string }[] = [];
        await Promise.all(
          [a, b].map(async (w, k) => {
            for (let i = k; i < batches.length; i += 2) got.push(...(await w.process(batches[i]!)));
          }),
        );
        // A worker died before acknowledging: its batches come again, to the other one.
        for (const batch of batches.slice(0, 3)) got.push(...(await b.process(batch)));

        expect(fired(got)).toEqual(fired(reference));
        expect(fired(reference).length).toBeGreaterThan(15);
        // Each event is stored once per correlation and rule, however often it was delivered.
        const rows = await two.db
          .withTables<{ detect_correlation_inputs: { correlation_id: string; event_id: string } }>()
          .selectFrom('detect_correlation_inputs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        const singleRows = await one.db
          .withTables<{ detect_correlation_inputs: { correlation_id: string; event_id: string } }>()
          .selectFrom('detect_correlation_inputs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(rows.n)).toBe(Number(singleRows.n));
      } finally {
        await one.close();
        await two.close();
      }
    });

    it('raises the hospital pack correlations a detector in memory raises, split over two detectors', async () => {
      const db = await engine.open();
      try {
        await runMigrations(db, [...detectMigrations, ...correlationMigrations]);
        const clock = new ManualClock(new Date(T0));
        const bus = { kind: 'nats', publish: async () => {} } as unknown as Bus;
        const alerts = new AlertStore(db.db, clock);
        const events: VigilEvent[] = [];
        const at = (sec: number) => new Date(T0 + sec * 1000);
        for (let i = 0; i < 7; i++)
          events.push(
            makeEvent({
              kind: 'auth.login.failed',
              source: 'identity',
              time: at(i * 10),
              user: { name: 'eve' },
            }),
          );
        events.push(
          makeEvent({
            kind: 'auth.login.succeeded',
            source: 'identity',
            time: at(200),
            user: { name: 'eve' },
          }),
        );
        for (let i = 0; i < 3; i++)
          events.push(
            makeEvent({
              kind: 'auth.login.failed',
              source: 'identity',
              time: at(i * 10),
              user: { name: 'bob' },
            }),
          );
        for (let i = 0; i < 60; i++)
          events.push(
            makeEvent({
              kind: 'net.flow',
              source: 'sensor',
              time: at(300 + i),
              net: { srcIp: '10.0.0.66', dstIp: `10.1.0.${i}`, dstPort: 443 },
              data: { transport: 'tcp', packetsToClient: 0 },
            }),
          );
        const memory = new Detector([HOSPITAL_RULE_PACK], { alerts, bus, clock })
          .detect(events)
          .map((a) => a.dedupKey);
        const a = new Detector([HOSPITAL_RULE_PACK], { alerts, bus, clock, correlationDb: db.db });
        const b = new Detector([HOSPITAL_RULE_PACK], { alerts, bus, clock, correlationDb: db.db });
        const order = shuffled(events, 3);
        await Promise.all([
          a.handle(order.filter((_, i) => i % 2 === 0)),
          b.handle(order.filter((_, i) => i % 2 === 1)),
        ]);
        await b.handle(order.slice(0, 10)); // a redelivery
        const listed = (await alerts.list({ limit: 100 })).alerts;
        expect([...new Set(listed.map((x) => x.dedupKey))].sort()).toEqual([...new Set(memory)].sort());
        expect(listed.map((x) => x.entity).sort()).toEqual([
          'net.srcIp=10.0.0.66',
          'user.name=eve',
          'user.name=eve',
        ]);
        // eve's 5th, 6th and 7th failures each fire the burst: three occurrences, one alert.
        expect(listed.find((x) => x.ruleId === '6f1f4b52-2f0e-4c1c-9a51-0c7d3a1e0a03')?.count).toBe(3);
      } finally {
        await db.close();
      }
    });

    it('feeds a correlation of correlations and keeps huge group values bounded', async () => {
      const db = await engine.open();
      try {
        await runMigrations(db, correlationMigrations);
        const outer = corr(
          'outer',
          '  type: event_count\n  rules: [burst]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 2}\n',
        );
        const store = new SharedCorrelations(db.db, new Correlator([burst, outer]));
        const huge = 'x'.repeat(100_000);
        const ms = Array.from({ length: 6 }, (_, i) => ({
          ruleId: 'fail',
          event: { user: huge },
          time: T0 + i * 1000,
          eventId: `h${i}`,
        }));
        const out = await store.process(ms);
        expect(out.filter((f) => f.alert.correlationId === 'burst').map((f) => f.eventId)).toEqual([
          'h4',
          'h5',
        ]);
        expect(out.filter((f) => f.alert.correlationId === 'outer').map((f) => f.eventId)).toEqual([
          'h5@burst',
        ]);
        expect(out[0]!.alert.group.user).toHaveLength(100_000);
      } finally {
        await db.close();
      }
    });
  });
}

describe('scan of a hot group', () => {
  it('judges 20,000 matches in one pass', () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => ({
      t: i * 10,
      id: `m${i}`,
      pos: 0,
      value: `d${i % 70}`,
    }));
    const t = performance.now();
    const out = firingEntries(scan, entries);
    expect(out.length).toBeGreaterThan(19_000);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});
