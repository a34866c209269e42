/**
 * @module vault/date-range
 * FHIR dates as ranges (`1970` is the whole year, `1970-03-15T10:00:00+01:00` an instant) and the
 * comparators of date search (`eq`, `ne`, `lt`, `le`, `gt`, `ge`). Blind indexes answer only
 * equality of year, month or day tokens, so ranges are evaluated here on decrypted candidates
 * (and on `vault_current.last_updated` in SQL for `_lastUpdated`). Pure.
 *
 * Semantics (FHIR R4 3.1.1.4.2, simplified): target range [ts, te), search range [ss, se):
 * eq: the target lies within the search range; ne: it does not; gt: te > se; lt: ts < ss;
 * ge: te > ss; le: ts < se. Dates without a time are read as UTC days.
 */
import { VigilError } from '../core/index.js';

/** A half-open range of epoch milliseconds. */
export interface DateRange {
  start: number;
  end: number;
}

/** A search comparator. */
export type DateComparator = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The range a FHIR date, dateTime or instant covers; null when it is not one. */
export function dateRange(value: string): DateRange | null {
  const m = DATE_RE.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  if (mo === undefined) return { start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1) };
  const month = Number(mo) - 1;
  if (month > 11) return null;
  if (d === undefined) return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
  const day = Number(d);
  if (h === undefined) return { start: Date.UTC(year, month, day), end: Date.UTC(year, month, day + 1) };
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${frac ?? ''}${zone ?? 'Z'}`;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return null;
  // Precision: to the second (or the minute when seconds are absent).
  const step = s === undefined ? 60_000 : frac ? 1 : 1000;
  return { start: t, end: t + step };
}

/** Splits a search value into its comparator and range; BAD_REQUEST naming the parameter otherwise. */
export function parseDateSearch(param: string, value: string): { op: DateComparator; range: DateRange } {
  const m = /^(eq|ne|lt|le|gt|ge|sa|eb|ap)?(.*)$/.exec(value)!;
  const op = (m[1] ?? 'eq') as DateComparator | 'sa' | 'eb' | 'ap';
  if (op === 'sa' || op === 'eb' || op === 'ap')
    throw new VigilError('BAD_REQUEST', `${param}: the comparator ${op} is not supported`, {
      details: { fhirCode: 'not-supported', parameter: param },
    });
  const range = dateRange(m[2]!);
  if (!range)
    throw new VigilError('BAD_REQUEST', `${param}: ${value.slice(0, 40)} is not a FHIR date`, {
      details: { parameter: param },
    });
  return { op, range };
}

/** Whether a target range satisfies a comparator against a search range. */
export function dateMatches(target: DateRange, op: DateComparator, search: DateRange): boolean {
  switch (op) {
    case 'eq':
      return target.start >= search.start && target.end <= search.end;
    case 'ne':
      return !(target.start >= search.start && target.end <= search.end);
    case 'gt':
      return target.end > search.end;
    case 'lt':
      return target.start < search.start;
    case 'ge':
      return target.end > search.start;
    case 'le':
      return target.start < search.end;
  }
}

/** The smallest range covering all the dates (a period's start and end), or null when none parses. */
export function coverOf(values: readonly string[]): DateRange | null {
  let out: DateRange | null = null;
  for (const v of values) {
    const r = dateRange(v);
    if (!r) continue;
    out = out ? { start: Math.min(out.start, r.start), end: Math.max(out.end, r.end) } : r;
  }
  return out;
}
