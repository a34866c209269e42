/**
 * Correlation judged as a pure function of a set of matches, whatever order they arrived in (the
 * distributed mode's semantics; the in-memory Correlator judges an arriving stream instead).
 *
 * The matches of one correlation and group are sorted by (time, id). A match *fires* when the
 * correlation's condition holds over the window that ends with it: the matches at or before it
 * (in that order) no more than `timespan` older. Each firing match is one occurrence of the
 * correlation's alert. For conditions with lower bounds only (gt, gte: every pack rule and nearly
 * every community one) adding matches can only make more of them fire, so once every match has
 * arrived the set of firing matches is the same whichever order and whichever workers saw them.
 * Conditions with an upper bound (lt, lte, eq, neq) and value_percentile are judged the same way,
 * on the window ending at each match, over what has arrived when it is judged.
 *
 * One pass with two pointers: O(n) per call.
 */
import { holds } from './correlation.js';
import type { CorrelationRule } from './types.js';

/** One stored match of a correlation's group. */
export interface WindowEntry {
  /** Time in ms since the epoch. */
  t: number;
  /** A unique id of the match (its event id): the tie-break among equal times. */
  id: string;
  /** Position of the matched rule in the correlation's `rules`. */
  pos: number;
  value: string | number | null;
}

/** A match whose window satisfies the correlation. */
export interface WindowFiring {
  entry: WindowEntry;
  /** The aggregated value the condition held for. */
  value: number;
  /** Time of the window's first match. */
  firstTime: number;
}

/** Sorts entries in place into the order windows are judged in: time, then id, then position. */
export function sortEntries(entries: WindowEntry[]): WindowEntry[] {
  return entries.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : a.pos - b.pos));
}

function bump<K>(m: Map<K, number>, k: K, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

/**
 * The entries (sorted by {@link sortEntries}) that fire, among those with a time in
 * [from, to]. The entries must include every match from `from - timespan` on.
 */
export function firingEntries(
  rule: CorrelationRule,
  entries: readonly WindowEntry[],
  from: number = Number.NEGATIVE_INFINITY,
  to: number = Number.POSITIVE_INFINITY,
): WindowFiring[] {
  const span = rule.timespanMs;
  const last = rule.rules.length - 1;
  const noCondition = Object.keys(rule.condition).length === 0;
  const out: WindowFiring[] = [];
  const counts = new Map<string | number, number>(); // value (or rule position) → matches in window
  let nonNull = 0;
  let sum = 0;
  let nums = 0;
  // temporal_ordered: start time of the latest chain that reached each position.
  const chain: (number | undefined)[] = [];
  let lo = 0;
  const add = (e: WindowEntry, sign: 1 | -1) => {
    switch (rule.type) {
      case 'value_count':
      case 'value_percentile':
        if (e.value !== null) {
          bump(counts, String(e.value), sign);
          nonNull += sign;
        }
        break;
      case 'value_sum':
      case 'value_avg':
        if (typeof e.value === 'number') {
          sum += sign * e.value;
          nums += sign;
        }
        break;
      case 'temporal':
        bump(counts, e.pos, sign);
        break;
      default:
        break;
    }
  };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    add(e, 1);
    while (e.t - entries[lo]!.t > span) add(entries[lo++]!, -1);
    if (rule.type === 'temporal_ordered') {
      if (e.pos === 0) chain[0] = e.t;
      else {
        const start = chain[e.pos - 1];
        chain[e.pos] = start !== undefined && e.t - start <= span ? start : chain[e.pos];
      }
    }
    if (e.t < from || e.t > to) continue;
    let value: number | undefined;
    let fires = false;
    switch (rule.type) {
      case 'event_count':
        value = i - lo + 1;
        fires = holds(rule.condition, value);
        break;
      case 'value_count':
        value = counts.size;
        fires = holds(rule.condition, value);
        break;
      case 'value_sum':
        value = sum;
        fires = holds(rule.condition, value);
        break;
      case 'value_avg':
        if (nums === 0) break;
        value = sum / nums;
        fires = holds(rule.condition, value);
        break;
      case 'value_percentile':
        if (e.value === null || nonNull === 0) break;
        value = ((counts.get(String(e.value)) ?? 0) / nonNull) * 100;
        fires = holds(rule.condition, value);
        break;
      case 'temporal':
        value = counts.size;
        fires = noCondition ? value === rule.rules.length : holds(rule.condition, value);
        break;
      case 'temporal_ordered': {
        // Fires on a match of the last rule that completed a chain begun within the span.
        const start = chain[last];
        value = chain.filter((x) => x !== undefined).length;
        fires =
          e.pos === last &&
          start !== undefined &&
          e.t - start <= span &&
          (noCondition || holds(rule.condition, value));
        break;
      }
    }
    if (fires && value !== undefined)
      out.push({
        entry: e,
        value,
        firstTime: rule.type === 'temporal_ordered' ? chain[last]! : entries[lo]!.t,
      });
  }
  return out;
}
