/**
 * @module access/hours
 * Time of day: the application's allowed hours (a window that may wrap past midnight, on given
 * ISO weekdays) and a user's learned usual hours, a 24-bucket histogram of their sign-ins.
 */

/** Minutes since midnight of `HH:MM` (24:00 allowed as an end). */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a local date. */
export function isoWeekday(d: Date): number {
  const day = d.getDay();
  return day === 0 ? 7 : day;
}

/**
 * Whether a local time lies in `[start, end)` on an allowed day. A window that wraps midnight
 * (22:00-06:00) belongs to the day it starts on.
 */
export function withinHours(
  now: Date,
  window: { start: string; end: string; days: readonly number[] },
): boolean {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const t = now.getHours() * 60 + now.getMinutes();
  const day = isoWeekday(now);
  if (start === end) return window.days.includes(day);
  if (start < end) return t >= start && t < end && window.days.includes(day);
  if (t >= start) return window.days.includes(day);
  if (t < end) return window.days.includes(day === 1 ? 7 : day - 1);
  return false;
}

/** A user's sign-in hours: 24 counts, local time. */
export type HourHistogram = number[];

export function emptyHistogram(): HourHistogram {
  return Array.from({ length: 24 }, () => 0);
}

/** Adds one sign-in at `hour`; old habits fade (counts halve past 200) so a new shift is learned. */
export function recordHour(h: HourHistogram, hour: number): HourHistogram {
  const next = h.length === 24 ? [...h] : emptyHistogram();
  next[hour] = (next[hour] ?? 0) + 1;
  if (next.reduce((a, b) => a + b, 0) > 200) return next.map((n) => Math.floor(n / 2));
  return next;
}

/** Parses a stored histogram; anything malformed is an empty one (never a crash). */
export function parseHistogram(text: string | null | undefined): HourHistogram {
  if (!text) return emptyHistogram();
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.length === 24 && v.every((n) => Number.isInteger(n) && n >= 0))
      return v as number[];
  } catch {
    // fall through
  }
  return emptyHistogram();
}
