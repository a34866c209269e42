/**
 * @module sensor/zeek/values
 * Turns Zeek values into one normal form, so the TSV and JSON logs of the same traffic give equal
 * records: times as ISO-8601 with microseconds, fractional numbers rounded to microseconds (TSV
 * prints six decimals), counts and ports as numbers, booleans, containers as arrays, unset fields
 * absent, `_path` and `_write_ts` dropped.
 */
export type ZeekValue = string | number | boolean | ZeekValue[];
export type ZeekRecord = Record<string, ZeekValue>;

/**
 * A new empty record: a plain object (its prototype is `Object.prototype`), made by a constructor
 * so that V8 gives it room for more properties in the object itself. Built from `{}`, a record of
 * more than about 17 fields (dns, conn, ssl) falls back to a slow dictionary, which costs on every
 * later read and on `JSON.stringify`; these stay fast to about 24.
 */
function recordObject(): void {}
recordObject.prototype = Object.prototype;
export const newRecord = (): ZeekRecord => new (recordObject as unknown as new () => ZeekRecord)();

/** Field names skipped by both readers: assigning them would reach the record's prototype. */
export const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The last whole second converted (`1521911720`) and its ISO form (`2018-03-24T17:15:20`): consecutive records mostly share it. */
let lastSeconds = '';
let lastPrefix = '';

/** True when `text` holds only ASCII digits from `from` to its end. */
function digitsFrom(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The farthest time a Date holds (100,000,000 days either side of 1970), in seconds. */
const MAX_EPOCH_SECONDS = 8.64e12;

/** Epoch seconds with a fraction ("1521911720.865716") → "2018-03-24T17:15:20.865716Z". */
export function epochToIso(text: string): string | undefined {
  const n = lastSeconds.length;
  // Fast path: Zeek's six decimals, in the same second as the previous record.
  if (n !== 0 && text.length === n + 7 && text.charCodeAt(n) === 46 && text.startsWith(lastSeconds))
    if (digitsFrom(text, n + 1)) return `${lastPrefix}${text.slice(n)}Z`;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) {
    // Zeek prints far-off times in exponent form (2.385616957e+09).
    // Beyond what a Date can hold, toFixed keeps the exponent form: no time, and no recursion.
    const v = /^-?\d+(\.\d+)?e[+-]?\d+$/i.test(text) ? Number(text) : Number.NaN;
    return Number.isFinite(v) && Math.abs(v) <= MAX_EPOCH_SECONDS ? epochToIso(v.toFixed(6)) : undefined;
  }
  const seconds = Number(m[1]);
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return undefined;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  const prefix = d.toISOString().slice(0, 19);
  lastSeconds = m[1]!;
  lastPrefix = prefix;
  return `${prefix}.${frac}Z`;
}

/** Rounds a fractional number to microseconds; integers stay as they are. */
export function normNumber(n: number): number {
  return Number.isInteger(n) ? n : Math.round(n * 1e6) / 1e6;
}

/** Zeek's TSV escapes: `\\` and `\xHH`. */
export function unescapeTsv(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(\\|x([0-9a-fA-F]{2}))/g, (_all, _what: string, hex?: string) =>
    hex ? String.fromCharCode(Number.parseInt(hex, 16)) : '\\',
  );
}

/** A JSON time is an ISO string with microseconds (or epoch seconds with the `epoch` timestamp format). */
export function normJsonTime(value: unknown): string | undefined {
  if (typeof value === 'number') return epochToIso(value.toFixed(6));
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(value);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}Z` : undefined;
}
