/**
 * @module awareness/duration
 * ISO 8601 durations in whole years, months, weeks and days (`P1Y`, `P6M`, `P90D`), which is what
 * recurring training needs: "yearly" must land on the same calendar day, so months and years are
 * added on the calendar (UTC), not as a fixed number of milliseconds.
 */
import { VigilError } from '../core/index.js';

const DURATION = /^P(?=\d)(?:(\d{1,3})Y)?(?:(\d{1,3})M)?(?:(\d{1,3})W)?(?:(\d{1,4})D)?$/;

/** Parsed parts of a duration. */
export interface DurationParts {
  years: number;
  months: number;
  weeks: number;
  days: number;
}

/** Parses a duration, or returns null when it is not of the accepted form. */
export function parseDuration(text: string): DurationParts | null {
  const m = DURATION.exec(text);
  if (!m) return null;
  return {
    years: Number(m[1] ?? 0),
    months: Number(m[2] ?? 0),
    weeks: Number(m[3] ?? 0),
    days: Number(m[4] ?? 0),
  };
}

/** Parses a duration or throws a BAD_REQUEST naming `field`. */
export function mustParseDuration(text: string, field: string): DurationParts {
  const d = parseDuration(text);
  if (!d)
    throw new VigilError('BAD_REQUEST', `${field}: expected an ISO 8601 duration such as P1Y, P6M or P90D`, {
      details: { field },
    });
  return d;
}

/** Adds a duration on the UTC calendar; the 31st plus one month clamps to the month's last day. */
export function addDuration(from: Date, d: DurationParts): Date {
  const y = from.getUTCFullYear() + d.years;
  const month = from.getUTCMonth() + d.months;
  const lastDay = new Date(Date.UTC(y, month + 1, 0)).getUTCDate();
  const out = new Date(from.getTime());
  out.setUTCFullYear(y, month, Math.min(from.getUTCDate(), lastDay));
  out.setUTCDate(out.getUTCDate() + d.weeks * 7 + d.days);
  return out;
}
