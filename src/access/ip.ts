/**
 * @module access/ip
 * IPv4 and IPv6 addresses as bigints and CIDR sets, so zones, trusted proxies and blocklists are
 * matched exactly (no string prefixes, which get IPv6 and `10.1` vs `10.10` wrong). IPv4-mapped
 * IPv6 addresses (`::ffff:10.0.0.1`) are treated as the IPv4 address they carry.
 */
import { isIP } from 'node:net';

/** A parsed address: family and value (32 or 128 bits). */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | null {
  let text = s.split('%')[0]!;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 && missing < 1) return null;
  const groups = halves.length === 2 ? [...head, ...Array<string>(missing).fill('0'), ...rest] : head;
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return v;
}

const MAPPED_PREFIX = 0xffffn << 32n;

/** Recently parsed addresses (a proxy, the clients of the moment): most checks parse none anew. */
const PARSED = new Map<string, Readonly<IpAddress> | null>();
const PARSED_MAX = 10_000;

/** Parses an address; null when it is not a valid IPv4 or IPv6 address. The result is shared: read only. */
export function parseIp(raw: string): Readonly<IpAddress> | null {
  if (raw.length > 64) return parseIpUncached(raw); // not remembered: no cache growth from junk
  const hit = PARSED.get(raw);
  if (hit !== undefined) return hit;
  const ip = parseIpUncached(raw);
  if (PARSED.size >= PARSED_MAX) PARSED.delete(PARSED.keys().next().value as string);
  PARSED.set(raw, ip ? Object.freeze(ip) : null);
  return ip;
}

function parseIpUncached(raw: string): IpAddress | null {
  const s = raw.trim();
  if (s.length === 0 || s.length > 64) return null;
  const fam = isIP(s.split('%')[0]!);
  if (fam === 4) {
    const v = parseV4(s);
    return v === null ? null : { family: 4, value: v };
  }
  if (fam === 6) {
    const v = parseV6(s);
    if (v === null) return null;
    if (v >> 32n === MAPPED_PREFIX >> 32n) return { family: 4, value: v & 0xffffffffn };
    return { family: 6, value: v };
  }
  return null;
}

interface Range {
  family: 4 | 6;
  network: bigint;
  mask: bigint;
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (a /32 or /128); null when malformed. */
export function parseCidr(raw: string): Range | null {
  const [addr, bitsText, extra] = raw.trim().split('/');
  if (extra !== undefined || !addr) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const width = ip.family === 4 ? 32 : 128;
  // A mapped IPv6 range written as ::ffff:a.b.c.d/n counts its bits over 128.
  let bits = width;
  if (bitsText !== undefined) {
    if (!/^\d{1,3}$/.test(bitsText)) return null;
    bits = Number(bitsText);
    if (ip.family === 4 && addr.includes(':')) bits -= 96;
    if (bits < 0 || bits > width) return null;
  }
  const all = (1n << BigInt(width)) - 1n;
  const mask = bits === 0 ? 0n : (all << BigInt(width - bits)) & all;
  return { family: ip.family, network: ip.value & mask, mask };
}

/** A set of CIDR ranges to test addresses against. */
export class CidrSet {
  private readonly ranges: Range[] = [];
  /** Entries that could not be parsed (reported by whoever loaded them). */
  readonly rejected: string[] = [];

  constructor(entries: Iterable<string> = []) {
    for (const e of entries) this.add(e);
  }

  /** Adds a range; returns false (and remembers it in `rejected`) when it is malformed. */
  add(entry: string): boolean {
    const r = parseCidr(entry);
    if (!r) {
      this.rejected.push(entry);
      return false;
    }
    this.ranges.push(r);
    return true;
  }

  get size(): number {
    return this.ranges.length;
  }

  has(ip: IpAddress | null): boolean {
    if (!ip) return false;
    for (const r of this.ranges) if (r.family === ip.family && (ip.value & r.mask) === r.network) return true;
    return false;
  }
}

/** Whether `raw` is a valid address or CIDR range (input validation for the console). */
export function isCidr(raw: string): boolean {
  return parseCidr(raw) !== null;
}
