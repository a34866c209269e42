/**
 * @module sensor/zeek/values
 * Turns Zeek values into one normal form, so the TSV and JSON logs of the same traffic give equal
 * records: times as ISO-8601 with microseconds, fractional numbers rounded to microseconds (TSV
 * prints six decimals), counts and ports as numbers, booleans, containers as arrays, unset fields
 * absent, `_path` and `_write_ts` dropped.
 */
export type ZeekValue = string | number | boolean | ZeekValue[];
export type ZeekRecord = Record<string, ZeekValue>;

/** Epoch seconds with a fraction ("1521911720.865716") → "2018-03-24T17:15:20.865716Z". */
/** The last whole second converted: consecutive records mostly share it. */
let lastSeconds = '';
let lastPrefix = '';

export function epochToIso(text: string): string | undefined {
  const dot = text.indexOf('.');
  if (dot > 0 && dot < text.length - 1 && text.length - dot <= 10 && lastSeconds !== '') {
    // Fast path: same second as the previous record, digits only after the dot.
    if (text.startsWith(lastSeconds) && dot === lastSeconds.length) {
      const frac = text.slice(dot + 1);
      if (/^\d+$/.test(frac)) return `${lastPrefix}.${frac.padEnd(6, '0').slice(0, 6)}Z`;
    }
  }
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) {
    // Zeek prints far-off times in exponent form (2.385616957e+09).
    const n = /^-?\d+(\.\d+)?e[+-]?\d+$/i.test(text) ? Number(text) : Number.NaN;
    return Number.isFinite(n) ? epochToIso(n.toFixed(6)) : undefined;
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
