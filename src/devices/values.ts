/**
 * @module devices/values
 * Pure helpers for what the wire and logs hand us: hostile text made safe to store and show,
 * MAC and IP normal forms, public-address tests, and the hour bucket of the communication map.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/** Longest attribute value kept: identity strings are short; anything longer is truncated. */
export const MAX_VALUE_LENGTH = 256;

/**
 * Text from a packet or a log as a storable string: control characters (NUL breaks PostgreSQL
 * text) and surrounding spaces removed, truncated to `max`. Empty results become undefined.
 */
export function cleanText(v: unknown, max = MAX_VALUE_LENGTH): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = stripControl(String(v)).trim();
  if (!s || s === '-') return undefined;
  return s.length > max ? s.slice(0, max) : s;
}

/** Replaces C0/C1 control characters and line/paragraph separators with spaces. */
export function stripControl(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 ? ' ' : s[i];
  }
  return out;
}

/** A MAC as lower-case colon hex, or undefined for bad, zero, broadcast or multicast ones. */
export function canonicalMac(mac: unknown): string | undefined {
  if (typeof mac !== 'string') return undefined;
  const hex = mac.replace(/[\s:.-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex) || hex === '000000000000') return undefined;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x01) return undefined;
  return hex.match(/../g)!.join(':');
}

/** An IP address in its usual text form, or undefined when it is not one. */
export function canonicalIp(ip: unknown): string | undefined {
  if (typeof ip !== 'string' || ip.length > 64) return undefined;
  const v = isIP(ip);
  if (v === 4) return ip;
  if (v === 6) return ip.toLowerCase();
  return undefined;
}

function v4(ip: string): number[] {
  return ip.split('.').map((x) => Number.parseInt(x, 10));
}

/**
 * Is this a public (globally routed) address? Private (RFC 1918, ULA), loopback, link-local,
 * CGNAT, multicast, documentation and unspecified ranges are not.
 */
export function isPublicIp(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) {
    const [a = 0, b = 0, c = 0] = v4(ip);
    if (a === 10 || a === 127 || a === 0 || a >= 224) return false;
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 169 && b === 254) return false;
    if (a === 100 && b >= 64 && b <= 127) return false;
    if (a === 192 && b === 0 && (c === 0 || c === 2)) return false;
    if (a === 198 && (b === 18 || b === 19)) return false;
    if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return false;
    return true;
  }
  if (v === 6) {
    const s = ip.toLowerCase();
    if (s === '::' || s === '::1') return false;
    if (s.startsWith('::ffff:')) return isPublicIp(s.slice(7));
    if (/^f[cd]/.test(s) || /^fe[89ab]/.test(s) || s.startsWith('ff') || s.startsWith('2001:db8'))
      return false;
    return true;
  }
  return false;
}

/** The start of the UTC hour holding `time`, ISO, or undefined for a bad time. */
export function hourOf(time: string): string | undefined {
  const ms = Date.parse(time);
  if (!Number.isFinite(ms)) return undefined;
  return new Date(ms - (ms % 3_600_000)).toISOString();
}

/** A short stable hash, for ids that several workers must agree on. */
export function stableId(prefix: string, ...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return `${prefix}${h.digest('hex').slice(0, 24)}`;
}

/** The id of the device with this key: deterministic, so concurrent workers create one row. */
export function deviceIdOf(key: string): string {
  return stableId('dev_', key);
}

/** Earlier / later of two ISO times (text comparison is time order for ISO UTC). */
export const minTime = (a: string, b: string): string => (a <= b ? a : b);
export const maxTime = (a: string, b: string): string => (a >= b ? a : b);
