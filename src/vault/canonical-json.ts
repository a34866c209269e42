/**
 * @module vault/canonical-json
 * Canonical JSON for hashing: object keys sorted by code unit, no whitespace, `undefined`
 * members dropped, numbers as JSON.stringify writes them (the audit entry holds only safe
 * integers). The same entry always gives the same bytes, on any engine and in any process, which
 * is what a hash chain needs. Pure.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/** The canonical text of a JSON value. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('Non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as Json)}`).join(',')}}`;
}
