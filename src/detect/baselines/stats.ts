/**
 * Robust statistics for device baselines: median and median absolute deviation (MAD), bounds
 * that a few outliers in the history cannot move, and the hour-of-week slot of a time. Pure.
 */

/** Hours in a week: the slots of the volume history. */
export const HOURS_PER_WEEK = 168;
const HOUR_MS = 3_600_000;

/** MAD × this estimates the standard deviation of normally distributed data. */
export const MAD_SCALE = 1.4826;

/** The median of the values (NaN when there are none). Does not modify its argument. */
export function median(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = n >> 1;
  return n % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The median absolute deviation from the median (NaN when there are no values). */
export function mad(values: readonly number[], center = median(values)): number {
  if (values.length === 0) return Number.NaN;
  return median(values.map((v) => Math.abs(v - center)));
}

/** How wide the bounds are. */
export interface BoundsOptions {
  /** Samples needed before any bound is given (fewer: no judgement). */
  minSamples: number;
  /** Width of the band in scaled MADs on each side of the median. */
  tolerance: number;
  /**
   * Smallest half-width, as a share of the median (so a perfectly regular history, MAD 0, does
   * not turn every small change into an anomaly).
   */
  minRelative: number;
  /** Smallest half-width in absolute units (bytes for volume). */
  minAbsolute: number;
}

/** Robust bounds of a history. */
export interface Bounds {
  median: number;
  mad: number;
  lower: number;
  upper: number;
  samples: number;
}

/**
 * Bounds `median ± tolerance × max(1.4826·MAD, minRelative·median, minAbsolute)`, or undefined
 * when the history has fewer than `minSamples` values.
 */
export function robustBounds(values: readonly number[], o: BoundsOptions): Bounds | undefined {
  if (values.length < Math.max(1, o.minSamples)) return undefined;
  const m = median(values);
  const d = mad(values, m);
  const half = o.tolerance * Math.max(MAD_SCALE * d, o.minRelative * Math.abs(m), o.minAbsolute);
  return { median: m, mad: d, lower: m - half, upper: m + half, samples: values.length };
}

/** The start (ms) of the UTC hour holding `ms`. */
export function hourStart(ms: number): number {
  return ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);
}

/** Hour of the week, 0 = Monday 00:00–01:00 UTC … 167 = Sunday 23:00–24:00 UTC. */
export function hourOfWeek(ms: number): number {
  const d = new Date(ms);
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
}
