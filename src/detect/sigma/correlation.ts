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
import { type FieldRef, fieldRef, type Layers, layersValue, resolveField } from './event.js';
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

interface Group {
  values: Record<string, string | null>;
  /**
   * The window's matches, oldest first, from `head` on: their times, rules and values (parallel
   * lists; the matches before `head` have left the window and are removed now and then in bulk).
   */
  times: number[];
  /** Kept for `temporal` only (the distinct rules). */
  rules: string[] | undefined;
  /** Kept when the correlation has a `field`. */
  vals: (string | number | null)[] | undefined;
  head: number;
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
  /** Per referenced rule (position): the fields its group-by values are read from (aliases applied). */
  groupFields: string[][];
  groupRefs: FieldRef[][];
  /** The `field` of the condition, when it has one. */
  valueRef: FieldRef | undefined;
  /** The condition has no count (temporal types: every rule, or the order, is the condition). */
  noCount: boolean;
  /**
   * Groups by key: with one group-by field, its value itself (null included); otherwise the
   * JSON of the values in group-by order.
   */
  groups: Map<string | null, Group>;
}

/** What {@link Correlator.processLayers} returns when nothing fires (read-only). */
const NO_ALERTS: readonly CorrelationAlert[] = Object.freeze([]);

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

/** A match's value of the condition's `field`, as the correlation's type aggregates it. */
function matchValue(rule: CorrelationRule, raw: unknown): string | number | null {
  if (rule.type === 'value_count' || rule.type === 'value_percentile') return scalar(raw);
  if (raw === null || raw === undefined) return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

/** The field a group-by field (or alias) is read from in the matches of the rule at `pos`. */
function fieldFor(rule: CorrelationRule, refNames: readonly string[][], pos: number, field: string): string {
  const alias = rule.aliases[field];
  if (alias) for (const n of refNames[pos]!) if (alias[n] !== undefined) return alias[n]!;
  return field;
}

/** A field of a match's event (plain or layered); undefined when it has none. */
function read(event: SigmaEvent | undefined, layers: Layers | undefined, ref: FieldRef): unknown {
  return layers ? layersValue(layers, ref) : resolveField(event, ref.name).value;
}

/** `out` with `a` appended (a new list when there is none yet). */
function appended(out: CorrelationAlert[] | undefined, a: CorrelationAlert): CorrelationAlert[] {
  if (!out) return [a];
  out.push(a);
  return out;
}

/** Matches in a group's window. */
function sizeOf(g: Group): number {
  return g.times.length - g.head;
}

/** Drops a group's oldest `n` matches (and their value counts). */
function dropEntries(g: Group, n: number): void {
  const end = g.head + n;
  const counts = g.counts;
  const vals = g.vals;
  if (counts && vals) {
    for (let i = g.head; i < end; i++) {
      const v = vals[i]!;
      if (v === null) continue;
      const k = (counts.get(v) ?? 0) - 1;
      if (k > 0) counts.set(v, k);
      else counts.delete(v);
    }
  }
  g.head = end;
  if (end >= COMPACT_AT && end * 2 >= g.times.length) {
    g.times.splice(0, end);
    g.rules?.splice(0, end);
    g.vals?.splice(0, end);
    g.head = 0;
  }
}
/** Dropped matches are removed from a group's lists once there are this many and half of them. */
const COMPACT_AT = 32;

/** The values of a group's window, nulls left out. */
function windowValues(g: Group): (string | number)[] {
  const out: (string | number)[] = [];
  const vals = g.vals ?? [];
  for (let i = g.head; i < vals.length; i++) {
    const v = vals[i]!;
    if (v !== null) out.push(v);
  }
  return out;
}

/** The numeric values of a group's window. */
function numbers(g: Group): number[] {
  const out: number[] = [];
  const vals = g.vals ?? [];
  for (let i = g.head; i < vals.length; i++) {
    const v = vals[i];
    if (typeof v === 'number') out.push(v);
  }
  return out;
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
      const groupFields = refNames.map((_, pos) => rule.groupBy.map((g) => fieldFor(rule, refNames, pos, g)));
      const corr: Corr = {
        rule,
        refs,
        refNames,
        upperBound,
        groupFields,
        groupRefs: groupFields.map((fs) => fs.map(fieldRef)),
        valueRef: rule.field === undefined ? undefined : fieldRef(rule.field),
        noCount: Object.keys(c).length === 0,
        groups: new Map(),
      };
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
    const cs = this.byRef.get(ruleId);
    if (!cs) return [];
    return this.run(cs, ruleId, event, undefined, time) ?? [];
  }

  /**
   * {@link process} on a layered event (a Vigil event read without a copy: see event.ts), the
   * same as on its merged object. The result is read-only and the layers are not kept.
   */
  processLayers(ruleId: string, layers: Layers, time: number): readonly CorrelationAlert[] {
    const cs = this.byRef.get(ruleId);
    if (!cs) return NO_ALERTS;
    return this.run(cs, ruleId, undefined, layers, time) ?? NO_ALERTS;
  }

  /** Does a match of this rule (id or name) feed any correlation? */
  feeds(ruleId: string): boolean {
    return this.byRef.has(ruleId);
  }

  /**
   * Feeds a match to the correlations that reference its rule, then each alert to the ones that
   * reference its correlation (breadth first, at most 8 deep). Undefined: nothing fired.
   */
  private run(
    cs: readonly Corr[],
    ruleId: string,
    event: SigmaEvent | undefined,
    layers: Layers | undefined,
    time: number,
  ): CorrelationAlert[] | undefined {
    let out: CorrelationAlert[] | undefined;
    for (const c of cs) out = this.feed(c, c.refs.get(ruleId)!, event, layers, time, out);
    if (!out) return undefined;
    // `out` is also the queue of chained matches: alert i is fed on (as a match of its
    // correlation, its group as the event) when it was raised at most 8 levels deep.
    const depth: number[] = out.map(() => 1);
    for (let i = 0; i < out.length; i++) {
      const d = depth[i]!;
      if (d > 8) continue;
      const a = out[i]!;
      const next = this.byRef.get(a.correlationId);
      if (!next) continue;
      const before = out.length;
      for (const c of next) this.feed(c, c.refs.get(a.correlationId)!, a.group, undefined, a.lastTime, out);
      for (let j = before; j < out.length; j++) depth.push(d + 1);
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

  private extract(
    c: Corr,
    pos: number,
    event: SigmaEvent,
  ): { group: Record<string, string | null>; key: string; value: string | number | null } {
    const group: Record<string, string | null> = {};
    const groupBy = c.rule.groupBy;
    const fields = c.groupFields[pos]!;
    for (let i = 0; i < groupBy.length; i++)
      group[groupBy[i]!] = scalar(resolveField(event, fields[i]!).value);
    const key = JSON.stringify(groupBy.map((g) => group[g]));
    const v =
      c.valueRef === undefined ? null : matchValue(c.rule, resolveField(event, c.valueRef.name).value);
    return { group, key, value: v };
  }

  /** Feeds one match to one correlation; what fires is appended to `out` (allocated when needed). */
  private feed(
    c: Corr,
    pos: number,
    event: SigmaEvent | undefined,
    layers: Layers | undefined,
    t: number,
    out: CorrelationAlert[] | undefined,
  ): CorrelationAlert[] | undefined {
    const rule = c.rule;
    const groupBy = rule.groupBy;
    const refs = c.groupRefs[pos]!;
    let key: string | null;
    let values: Record<string, string | null> | undefined;
    if (groupBy.length === 1) key = scalar(read(event, layers, refs[0]!));
    else {
      const group: Record<string, string | null> = {};
      for (let i = 0; i < groupBy.length; i++) group[groupBy[i]!] = scalar(read(event, layers, refs[i]!));
      key = JSON.stringify(groupBy.map((g) => group[g]));
      values = group;
    }
    const v = c.valueRef === undefined ? null : matchValue(rule, read(event, layers, c.valueRef));
    let g = c.groups.get(key);
    const span = rule.timespanMs;
    if (g && c.upperBound && t - g.windowStart > span) {
      const a = this.judge(c, g, true);
      if (a) out = appended(out, a);
      c.groups.delete(key);
      g = undefined;
    }
    if (!g) {
      if (!values) {
        values = {};
        values[groupBy[0]!] = key;
      }
      g = {
        values,
        times: [],
        rules: rule.type === 'temporal' ? [] : undefined,
        vals: c.valueRef === undefined ? undefined : [],
        head: 0,
        counts: rule.type === 'value_count' ? new Map() : undefined,
        chain: [],
        windowStart: t,
      };
      if (c.groups.size >= this.maxGroups) c.groups.delete(c.groups.keys().next().value!);
      c.groups.set(key, g);
    }
    g.times.push(t);
    g.rules?.push(rule.rules[pos]!);
    g.vals?.push(v);
    if (g.counts && v !== null) g.counts.set(v, (g.counts.get(v) ?? 0) + 1);
    if (!c.upperBound) {
      // Sliding window: drop what fell out of the span.
      const times = g.times;
      let i = g.head;
      while (i < times.length && t - times[i]! > span) i++;
      if (i > g.head) dropEntries(g, i - g.head);
    }
    if (sizeOf(g) > this.maxEntries) dropEntries(g, sizeOf(g) - this.maxEntries);
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
        out = appended(out, a);
        // A percentile keeps its window (the baseline); other types start afresh after firing.
        if (c.rule.type !== 'value_percentile') c.groups.delete(key);
      }
    }
    return out;
  }

  /** The aggregated value of a group and whether the correlation fires. */
  private judge(c: Corr, g: Group, windowClosed: boolean): CorrelationAlert | undefined {
    const r = c.rule;
    const n = sizeOf(g);
    if (!n) return undefined;
    const last = g.times.length - 1;
    let value: number;
    let fires: boolean;
    switch (r.type) {
      case 'event_count':
        value = n;
        fires = holds(r.condition, value);
        break;
      case 'value_count':
        value = g.counts ? g.counts.size : new Set(windowValues(g)).size;
        fires = holds(r.condition, value);
        break;
      case 'value_sum':
        value = numbers(g).reduce((a, b) => a + b, 0);
        fires = holds(r.condition, value);
        break;
      case 'value_avg': {
        const ns = numbers(g);
        if (!ns.length) return undefined;
        value = ns.reduce((a, b) => a + b, 0) / ns.length;
        fires = holds(r.condition, value);
        break;
      }
      case 'value_percentile': {
        const newest = g.vals?.[last] ?? null;
        const all = windowValues(g);
        if (newest === null || !all.length) return undefined;
        // Percentage of the window's values equal to the newest one: how common it is.
        value = (all.filter((x) => String(x) === String(newest)).length / all.length) * 100;
        fires = holds(r.condition, value);
        break;
      }
      case 'temporal': {
        value = new Set(g.rules?.slice(g.head)).size;
        fires = c.noCount ? value === r.rules.length : holds(r.condition, value);
        break;
      }
      case 'temporal_ordered': {
        const done = g.chain[r.rules.length - 1];
        value = 0;
        for (const x of g.chain) if (x !== undefined) value++;
        fires = done !== undefined && (c.noCount || holds(r.condition, value));
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
      firstTime: g.times[g.head]!,
      lastTime: g.times[last]!,
    };
    if (r.level !== undefined) a.level = r.level;
    return a;
  }
}
