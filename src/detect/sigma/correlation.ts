/**
 * Correlation rules (Sigma correlation specification v2.1) evaluated over a time-ordered stream
 * of rule matches. State is kept per correlation and group-by key, bounded in groups and in
 * entries per group, so a flood of distinct keys or events cannot exhaust memory.
 *
 * Semantics chosen where the specification leaves them to the tool:
 * - Windows slide: only matches within `timespan` of the newest one count.
 * - Conditions with only lower bounds (gt, gte) fire as soon as they hold; the group then starts
 *   afresh, so one burst gives one alert.
 * - Conditions with an upper bound or equality (lt, lte, eq, neq) can only be judged when a
 *   window is over: they are evaluated when the group's window closes (seen on a later match of
 *   the group, or at `flush(time)`), over the matches of that window.
 * - temporal: all referenced rules (or the condition's count of distinct rules) within the span;
 *   temporal_ordered: the rules in the listed order within the span.
 * - value_percentile: the share (0-100) of the window's values equal to the newest value, judged
 *   on every match (`lte: 1` = a value seen in at most 1% of the group's events: a rare one).
 * - A correlation's own alerts feed correlations that reference it (chaining).
 */
import { resolveField } from './event.js';
import type { CorrelationRule, CountCondition, SigmaEvent } from './types.js';

/** A correlation that fired. */
export interface CorrelationAlert {
  correlationId: string;
  title: string;
  level?: string;
  type: CorrelationRule['type'];
  /** group-by field (or alias) → value. */
  group: Record<string, string | null>;
  /** The aggregated value the condition was checked against. */
  value: number;
  /** Time of the first and last contributing match (ms since epoch). */
  firstTime: number;
  lastTime: number;
}

/** Limits on correlation state. */
export interface CorrelatorOptions {
  /** Groups kept per correlation (oldest evicted first). Default 100,000. */
  maxGroups?: number;
  /** Matches kept per group (oldest dropped first). Default 10,000. */
  maxEntriesPerGroup?: number;
}

interface Entry {
  t: number;
  rule: string;
  v: string | number | null;
}

interface Group {
  values: Record<string, string | null>;
  entries: Entry[];
  /** value_count: how many entries hold each (non-null) value, kept as entries come and go. */
  counts: Map<string | number, number> | undefined;
  /** temporal_ordered: start time of the latest chain that reached each position. */
  chain: (number | undefined)[];
  windowStart: number;
}

interface Corr {
  rule: CorrelationRule;
  /** Referenced rule ids and names → position in `rules`. */
  refs: Map<string, number>;
  /** Names a referenced rule is known by (for aliases). */
  refNames: string[][];
  upperBound: boolean;
  groups: Map<string, Group>;
}

/** Does a count condition hold for `n`? */
export function holds(c: CountCondition, n: number): boolean {
  if (c.gt !== undefined && !(n > c.gt)) return false;
  if (c.gte !== undefined && !(n >= c.gte)) return false;
  if (c.lt !== undefined && !(n < c.lt)) return false;
  if (c.lte !== undefined && !(n <= c.lte)) return false;
  if (c.eq !== undefined && n !== c.eq) return false;
  if (c.neq !== undefined && n === c.neq) return false;
  return true;
}

/** One rule match as a correlation sees it: its group and the value of the correlation's field. */
export interface CorrelationInput {
  correlation: CorrelationRule;
  /** Position of the matched rule in the correlation's `rules`. */
  pos: number;
  /** group-by field (or alias) → value. */
  group: Record<string, string | null>;
  /** The group as one string (JSON of the values in group-by order). */
  key: string;
  /** The `field` value: a string (value_count, value_percentile), a number (sums, averages) or null. */
  value: string | number | null;
}

function scalar(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Drops a group's oldest `n` entries (and their value counts). */
function dropEntries(g: Group, n: number): void {
  const gone = g.entries.splice(0, n);
  const counts = g.counts;
  if (!counts) return;
  for (const e of gone) {
    if (e.v === null) continue;
    const k = (counts.get(e.v) ?? 0) - 1;
    if (k > 0) counts.set(e.v, k);
    else counts.delete(e.v);
  }
}

/** Evaluates correlation rules over rule matches in time order. */
export class Correlator {
  private readonly corrs: Corr[] = [];
  /** Correlations by the rule ids and names they reference (in `corrs` order). */
  private readonly byRef = new Map<string, Corr[]>();
  private readonly maxGroups: number;
  private readonly maxEntries: number;

  /**
   * @param correlations the correlation rules to evaluate
   * @param ruleNames id → name of the detection rules (for references and aliases by name)
   */
  constructor(
    correlations: readonly CorrelationRule[],
    ruleNames: ReadonlyMap<string, string | undefined> = new Map(),
    opts: CorrelatorOptions = {},
  ) {
    this.maxGroups = opts.maxGroups ?? 100_000;
    this.maxEntries = opts.maxEntriesPerGroup ?? 10_000;
    const names = new Map(ruleNames);
    for (const c of correlations) names.set(c.id, c.name);
    for (const rule of correlations) {
      const refs = new Map<string, number>();
      const refNames: string[][] = [];
      rule.rules.forEach((r, i) => {
        refs.set(r, i);
        const known = [r];
        // A reference by id also covers the rule's name and the other way round.
        for (const [id, name] of names) {
          if (id === r && name) {
            refs.set(name, i);
            known.push(name);
          } else if (name === r) {
            refs.set(id, i);
            known.push(id);
          }
        }
        refNames.push(known);
      });
      const c = rule.condition;
      // value_percentile judges each new value against its window, so it never waits for the end.
      const upperBound =
        rule.type !== 'value_percentile' &&
        (c.lt !== undefined || c.lte !== undefined || c.eq !== undefined || c.neq !== undefined);
      const corr: Corr = { rule, refs, refNames, upperBound, groups: new Map() };
      this.corrs.push(corr);
      for (const ref of refs.keys()) {
        const list = this.byRef.get(ref);
        if (list) list.push(corr);
        else this.byRef.set(ref, [corr]);
      }
    }
  }

  /**
   * Feed one rule match (by rule id) with its event and time (ms). Returns the correlations
   * that fired, including chained ones. Matches must arrive in time order.
   */
  process(ruleId: string, event: SigmaEvent, time: number): CorrelationAlert[] {
    if (!this.byRef.has(ruleId)) return [];
    const out: CorrelationAlert[] = [];
    const queue: { id: string; event: SigmaEvent; time: number; depth: number }[] = [
      { id: ruleId, event, time, depth: 0 },
    ];
    while (queue.length) {
      const m = queue.shift()!;
      for (const c of this.byRef.get(m.id) ?? []) {
        const pos = c.refs.get(m.id)!;
        for (const a of this.feed(c, pos, m.event, m.time)) {
          out.push(a);
          if (m.depth < 8)
            queue.push({ id: c.rule.id, event: a.group, time: a.lastTime, depth: m.depth + 1 });
        }
      }
    }
    return out;
  }

  /**
   * What a match of `ruleId` feeds, without changing any state: one input per correlation that
   * references the rule (distributed mode keeps these in a shared store; see pipeline/).
   */
  inputsOf(ruleId: string, event: SigmaEvent): CorrelationInput[] {
    const out: CorrelationInput[] = [];
    for (const c of this.corrs) {
      const pos = c.refs.get(ruleId);
      if (pos === undefined) continue;
      out.push({ correlation: c.rule, pos, ...this.extract(c, pos, event) });
    }
    return out;
  }

  /** Close every window that ended before `time` (call periodically and at end of stream). */
  flush(time: number = Number.POSITIVE_INFINITY): CorrelationAlert[] {
    const out: CorrelationAlert[] = [];
    for (const c of this.corrs) {
      if (!c.upperBound) continue;
      for (const [key, g] of c.groups) {
        if (g.windowStart + c.rule.timespanMs < time) {
          const a = this.judge(c, g, true);
          if (a) out.push(a);
          c.groups.delete(key);
        }
      }
    }
    return out;
  }

  /** A correlation rule by id. */
  rule(id: string): CorrelationRule | undefined {
    return this.corrs.find((c) => c.rule.id === id)?.rule;
  }

  /** Number of groups held (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const c of this.corrs) n += c.groups.size;
    return n;
  }

  private fieldFor(c: Corr, pos: number, field: string): string {
    const alias = c.rule.aliases[field];
    if (alias) for (const n of c.refNames[pos]!) if (alias[n] !== undefined) return alias[n]!;
    return field;
  }

  private extract(
    c: Corr,
    pos: number,
    event: SigmaEvent,
  ): { group: Record<string, string | null>; key: string; value: string | number | null } {
    const group: Record<string, string | null> = {};
    for (const g of c.rule.groupBy) group[g] = scalar(resolveField(event, this.fieldFor(c, pos, g)).value);
    const key = JSON.stringify(c.rule.groupBy.map((g) => group[g]));
    let v: string | number | null = null;
    if (c.rule.field !== undefined) {
      const raw = resolveField(event, c.rule.field).value;
      v =
        c.rule.type === 'value_count' || c.rule.type === 'value_percentile'
          ? scalar(raw)
          : raw === null || raw === undefined
            ? null
            : Number(raw);
      if (typeof v === 'number' && !Number.isFinite(v)) v = null;
    }
    return { group, key, value: v };
  }

  private feed(c: Corr, pos: number, event: SigmaEvent, t: number): CorrelationAlert[] {
    const { group: values, key, value: v } = this.extract(c, pos, event);
    const out: CorrelationAlert[] = [];
    let g = c.groups.get(key);
    const span = c.rule.timespanMs;
    if (g && c.upperBound && t - g.windowStart > span) {
      const a = this.judge(c, g, true);
      if (a) out.push(a);
      c.groups.delete(key);
      g = undefined;
    }
    if (!g) {
      g = {
        values,
        entries: [],
        counts: c.rule.type === 'value_count' ? new Map() : undefined,
        chain: [],
        windowStart: t,
      };
      if (c.groups.size >= this.maxGroups) c.groups.delete(c.groups.keys().next().value!);
      c.groups.set(key, g);
    }
    g.entries.push({ t, rule: c.rule.rules[pos]!, v });
    if (g.counts && v !== null) g.counts.set(v, (g.counts.get(v) ?? 0) + 1);
    if (!c.upperBound) {
      // Sliding window: drop what fell out of the span.
      let drop = 0;
      while (drop < g.entries.length && t - g.entries[drop]!.t > span) drop++;
      if (drop) dropEntries(g, drop);
    }
    if (g.entries.length > this.maxEntries) dropEntries(g, g.entries.length - this.maxEntries);
    if (c.rule.type === 'temporal_ordered') {
      if (pos === 0) g.chain[0] = t;
      else {
        const start = g.chain[pos - 1];
        if (start !== undefined && t - start <= span) g.chain[pos] = start;
      }
    }
    if (!c.upperBound) {
      const a = this.judge(c, g, false);
      if (a) {
        out.push(a);
        // A percentile keeps its window (the baseline); other types start afresh after firing.
        if (c.rule.type !== 'value_percentile') c.groups.delete(key);
      }
    }
    return out;
  }

  /** The aggregated value of a group and whether the correlation fires. */
  private judge(c: Corr, g: Group, windowClosed: boolean): CorrelationAlert | undefined {
    const r = c.rule;
    const es = g.entries;
    if (!es.length) return undefined;
    let value: number;
    let fires: boolean;
    const nums = () => es.map((e) => e.v).filter((x): x is number => typeof x === 'number');
    switch (r.type) {
      case 'event_count':
        value = es.length;
        fires = holds(r.condition, value);
        break;
      case 'value_count':
        value = g.counts ? g.counts.size : new Set(es.map((e) => e.v).filter((x) => x !== null)).size;
        fires = holds(r.condition, value);
        break;
      case 'value_sum':
        value = nums().reduce((a, b) => a + b, 0);
        fires = holds(r.condition, value);
        break;
      case 'value_avg': {
        const ns = nums();
        if (!ns.length) return undefined;
        value = ns.reduce((a, b) => a + b, 0) / ns.length;
        fires = holds(r.condition, value);
        break;
      }
      case 'value_percentile': {
        const last = es[es.length - 1]!.v;
        const all = es.map((e) => e.v).filter((x) => x !== null);
        if (last === null || !all.length) return undefined;
        // Percentage of the window's values equal to the newest one: how common it is.
        value = (all.filter((x) => String(x) === String(last)).length / all.length) * 100;
        fires = holds(r.condition, value);
        break;
      }
      case 'temporal': {
        value = new Set(es.map((e) => e.rule)).size;
        fires = Object.keys(r.condition).length ? holds(r.condition, value) : value === r.rules.length;
        break;
      }
      case 'temporal_ordered': {
        const done = g.chain[r.rules.length - 1];
        value = g.chain.filter((x) => x !== undefined).length;
        fires = done !== undefined && (!Object.keys(r.condition).length || holds(r.condition, value));
        break;
      }
    }
    if (!fires || (c.upperBound && !windowClosed)) return undefined;
    const a: CorrelationAlert = {
      correlationId: r.id,
      title: r.title,
      type: r.type,
      group: g.values,
      value,
      firstTime: es[0]!.t,
      lastTime: es[es.length - 1]!.t,
    };
    if (r.level !== undefined) a.level = r.level;
    return a;
  }
}
