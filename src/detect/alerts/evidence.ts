/**
 * Bounded evidence: an alert keeps copies of its first events, each cut down so that a hostile
 * event (huge strings, deep nesting, wide objects) can never make an alert row large. Strings are
 * truncated, nesting and widths are capped, and a copy still too large after that is replaced by
 * its id, kind and time with `truncated: true`.
 */

/** How much of each event an alert keeps. */
export interface EvidenceLimits {
  /** Events kept per alert (the first ones). */
  events: number;
  /** Largest JSON size of one kept event, in bytes. */
  eventBytes: number;
}

export const DEFAULT_EVIDENCE: EvidenceLimits = { events: 10, eventBytes: 4096 };

const MAX_DEPTH = 6;
const MAX_KEYS = 64;
const MAX_ITEMS = 32;

function cut(value: unknown, depth: number, maxString: number): unknown {
  if (typeof value === 'string')
    return value.length > maxString ? `${value.slice(0, maxString)}…[${value.length} chars]` : value;
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' || typeof value === 'boolean'
      ? value
      : value === null
        ? null
        : undefined;
  }
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const out = value.slice(0, MAX_ITEMS).map((v) => cut(v, depth + 1, maxString));
    if (value.length > MAX_ITEMS) out.push(`…[${value.length - MAX_ITEMS} more]`);
    return out;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in value as Record<string, unknown>) {
    if (!Object.hasOwn(value, key)) continue;
    if (n++ >= MAX_KEYS) {
      out['…'] = 'more keys left out';
      break;
    }
    out[key.length > 128 ? `${key.slice(0, 128)}…` : key] = cut(
      (value as Record<string, unknown>)[key],
      depth + 1,
      maxString,
    );
  }
  return out;
}

/** A copy of an event within the limits (see the module comment). */
export function boundEvent(event: unknown, limits: EvidenceLimits = DEFAULT_EVIDENCE): unknown {
  for (const maxString of [1024, 256, 64]) {
    const copy = cut(event, 0, maxString);
    if (Buffer.byteLength(JSON.stringify(copy) ?? '') <= limits.eventBytes) return copy;
  }
  const e = (event ?? {}) as Record<string, unknown>;
  const pick = (k: string) => (typeof e[k] === 'string' ? (e[k] as string).slice(0, 128) : undefined);
  return { id: pick('id'), kind: pick('kind'), time: pick('time'), truncated: true };
}
