import { describe, expect, it } from 'vitest';
import { seededRng } from '../../core/index.js';
import { Correlator } from './correlation.js';
import { type Layers, merged } from './event.js';
import { loadRules } from './load.js';
import { parseRuleText } from './parse.js';
import type { CorrelationRule } from './types.js';

function corr(body: string, extra = ''): CorrelationRule {
  const r = parseRuleText(`title: c\nid: c1\nname: cn\n${extra}correlation:\n${body}`, 'c.yml');
  if (r.errors.length) throw new Error(JSON.stringify(r.errors));
  return r.rules[0] as CorrelationRule;
}
const MIN = 60_000;

describe('Correlator', () => {
  it('event_count fires once per burst, per group', () => {
    const c = new Correlator([
      corr(
        '  type: event_count\n  rules: [fail]\n  group-by: [User]\n  timespan: 10m\n  condition: {gte: 3}\n',
      ),
    ]);
    const fired = [0, 1, 2, 3, 4, 5].flatMap((i) =>
      c.process('fail', { User: i % 2 ? 'bob' : 'eve' }, i * MIN),
    );
    expect(fired.map((a) => a.group.User)).toEqual(['eve', 'bob']);
    expect(fired[0]).toMatchObject({ correlationId: 'c1', value: 3, firstTime: 0, lastTime: 4 * MIN });
    // outside the window, old matches no longer count
    const c2 = new Correlator([
      corr(
        '  type: event_count\n  rules: [fail]\n  group-by: [User]\n  timespan: 10m\n  condition: {gte: 3}\n',
      ),
    ]);
    expect([0, 11, 22].flatMap((m) => c2.process('fail', { User: 'x' }, m * MIN))).toEqual([]);
  });

  it('value_count counts distinct values of a field', () => {
    const c = new Correlator([
      corr(
        '  type: value_count\n  rules: [fail]\n  group-by: [Host]\n  timespan: 1h\n  condition: {field: User, gt: 2}\n',
      ),
    ]);
    const out = ['a', 'a', 'b', 'b', 'c'].flatMap((u, i) =>
      c.process('fail', { Host: 'h', User: u }, i * MIN),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.value).toBe(3);
  });

  it('temporal needs every rule within the span; temporal_ordered needs their order', () => {
    const t = new Correlator([corr('  type: temporal\n  rules: [a, b]\n  group-by: [H]\n  timespan: 5m\n')]);
    expect(t.process('b', { H: 1 }, 0)).toEqual([]);
    expect(t.process('a', { H: 1 }, MIN)).toHaveLength(1);
    const o = new Correlator([
      corr('  type: temporal_ordered\n  rules: [a, b]\n  group-by: [H]\n  timespan: 5m\n'),
    ]);
    expect(o.process('b', { H: 1 }, 0)).toEqual([]);
    expect(o.process('a', { H: 1 }, MIN)).toEqual([]);
    expect(o.process('b', { H: 2 }, 2 * MIN)).toEqual([]); // other group
    expect(o.process('b', { H: 1 }, 7 * MIN)).toEqual([]); // too late
    expect(o.process('a', { H: 1 }, 8 * MIN)).toEqual([]);
    expect(o.process('b', { H: 1 }, 9 * MIN)).toHaveLength(1);
  });

  it('value_sum, value_avg and value_percentile', () => {
    const s = new Correlator([
      corr(
        '  type: value_sum\n  rules: [w]\n  group-by: [Ip]\n  timespan: 1h\n  condition: {field: Bytes, gt: 1000}\n',
      ),
    ]);
    expect(
      [400, 400, 400].flatMap((b, i) => s.process('w', { Ip: 'x', Bytes: b }, i)).map((a) => a.value),
    ).toEqual([1200]);
    const a = new Correlator([
      corr(
        '  type: value_avg\n  rules: [w]\n  group-by: [Ip]\n  timespan: 1h\n  condition: {field: Bytes, gte: 500}\n',
      ),
    ]);
    expect(a.process('w', { Ip: 'x', Bytes: '100' }, 0)).toEqual([]);
    expect(a.process('w', { Ip: 'x', Bytes: '900' }, 1)[0]?.value).toBe(500);
    const p = new Correlator([
      corr(
        '  type: value_percentile\n  rules: [p]\n  group-by: [H]\n  timespan: 1d\n  condition: {field: Image, lte: 10}\n',
      ),
    ]);
    const out = Array.from({ length: 20 }, (_, i) =>
      p.process('p', { H: 'h', Image: i === 19 ? 'rare.exe' : 'common.exe' }, i),
    );
    expect(out.flat().map((x) => x.value)).toEqual([5]); // rare.exe is 1 of 20 values
  });

  it('upper-bounded conditions are judged when the window closes', () => {
    const c = new Correlator([
      corr('  type: event_count\n  rules: [hb]\n  group-by: [Dev]\n  timespan: 10m\n  condition: {lt: 3}\n'),
    ]);
    expect(c.process('hb', { Dev: 'pump' }, 0)).toEqual([]);
    expect(c.process('hb', { Dev: 'monitor' }, 0)).toEqual([]);
    for (const m of [1, 2, 3]) c.process('hb', { Dev: 'monitor' }, m * MIN);
    const out = c.flush(20 * MIN);
    expect(out.map((a) => a.group.Dev)).toEqual(['pump']);
  });

  it('resolves aliases per rule name and chains correlations', () => {
    const rules = [
      'title: e\nid: id-err\nname: internal_error\nlogsource: {product: p}\ndetection:\n  s: {Status: 500}\n  condition: s\n',
      'title: n\nid: id-net\nname: new_conn\nlogsource: {product: p}\ndetection:\n  s: {Kind: conn}\n  condition: s\n',
      'title: t\nid: id-t\nname: t\ncorrelation:\n  type: temporal\n  rules: [internal_error, new_conn]\n  group-by: [ip]\n  timespan: 10s\n  aliases:\n    ip:\n      internal_error: dst\n      new_conn: src\n',
      'title: chained\nid: id-c\ncorrelation:\n  type: event_count\n  rules: [t]\n  group-by: [ip]\n  timespan: 1h\n  condition: {gte: 2}\n',
    ];
    const loaded = loadRules(rules.map((text, i) => ({ file: `${i}.yml`, text })));
    expect(loaded.report.correlations).toBe(2);
    const names = new Map(loaded.rules.map((r) => [r.id, r.name]));
    const c = new Correlator(loaded.correlations, names);
    const ls = { product: 'p', categories: [] };
    const run = (e: Record<string, unknown>, t: number) =>
      loaded.ruleSet.match(e, ls).flatMap((m) => c.process(m.ruleId, e, t));
    expect(run({ Status: 500, dst: '10.0.0.1' }, 0)).toEqual([]);
    expect(run({ Kind: 'conn', src: '10.0.0.2' }, 1000)).toEqual([]); // other address
    const first = run({ Kind: 'conn', src: '10.0.0.1' }, 2000);
    expect(first.map((a) => a.correlationId)).toEqual(['id-t']);
    run({ Status: 500, dst: '10.0.0.1' }, 60_000);
    const second = run({ Kind: 'conn', src: '10.0.0.1' }, 61_000);
    expect(second.map((a) => a.correlationId)).toEqual(['id-t', 'id-c']);
    expect(second[1]!.group).toEqual({ ip: '10.0.0.1' });
  });

  it('keeps state bounded', () => {
    const c = new Correlator(
      [
        corr(
          '  type: event_count\n  rules: [x]\n  group-by: [K]\n  timespan: 1d\n  condition: {gte: 1000000}\n',
        ),
      ],
      new Map(),
      { maxGroups: 100, maxEntriesPerGroup: 10 },
    );
    for (let i = 0; i < 10_000; i++) c.process('x', { K: i }, i);
    expect(c.size).toBe(100);
  });

  it('correlates a layered event as its merged object', () => {
    const types = [
      '  type: event_count\n  rules: [x]\n  group-by: [net.srcIp]\n  timespan: 5m\n  condition: {gte: 3}\n',
      '  type: event_count\n  rules: [x, y]\n  group-by: [net.srcIp, user.name]\n  timespan: 5m\n  condition: {lt: 2}\n',
      '  type: value_count\n  rules: [x]\n  group-by: [user.name]\n  timespan: 10m\n  condition: {field: net.dstIp, gte: 3}\n',
      '  type: value_sum\n  rules: [y]\n  group-by: [net.srcIp]\n  timespan: 10m\n  condition: {field: bytes, gt: 100}\n',
      '  type: temporal\n  rules: [x, y]\n  group-by: [user.name]\n  timespan: 5m\n',
      '  type: temporal_ordered\n  rules: [x, y]\n  group-by: [user.name]\n  timespan: 5m\n',
    ];
    const rules = types.map((body, i) => ({ ...corr(body), id: `c${i}`, name: `n${i}` }));
    const plain = new Correlator(rules);
    const layered = new Correlator(rules);
    const r = seededRng(3).next;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const ips = ['10.0.0.1', '10.0.0.2', null, 'null'];
    const fired = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const net = r() < 0.9 ? { srcIp: pick(ips), dstIp: pick(['a', 'b', 'c', 'd', 1]) } : undefined;
      const event: Record<string, unknown> = {
        v: 1,
        kind: 'k',
        net,
        user: { name: pick(['ann', 'bob', null]) },
      };
      const data =
        r() < 0.7 ? { bytes: pick([10, 60, '70', 'x', null]), net: { srcIp: '10.9.9.9' } } : undefined;
      const extra = r() < 0.3 ? { 'net.srcIp': pick(ips) } : undefined;
      const layers: Layers = { extra, event, data };
      const rule = pick(['x', 'y']);
      const want = plain.process(rule, merged(layers), i * 20_000);
      expect(layered.processLayers(rule, layers, i * 20_000), `match ${i}`).toEqual(want);
      for (const a of want) fired.add(a.correlationId);
    }
    expect(layered.size).toBe(plain.size);
    expect([...fired].sort()).toEqual(rules.map((c) => c.id)); // every type fired
  });
});
