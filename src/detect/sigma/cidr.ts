/**
 * The `cidr` modifier: IPv4 and IPv6 network ranges, parsed once per rule and tested against
 * address strings without allocation-heavy libraries. An IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`) matches an IPv4 range, as the same host seen by a dual-stack socket.
 */

/** Parse an IPv4 address into an unsigned 32-bit number. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** Parse an IPv6 address (with `::`, an embedded IPv4 tail and a zone id) into 8 groups. */
export function parseIPv6(input: string): number[] | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!s.includes(':')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const items = h.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIPv4(it);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        out.push(Number.parseInt(it, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  if (!head) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const tail = groups(halves[1]!);
  if (!tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** A compiled CIDR test over address strings. */
export type CidrTest = (addr: string) => boolean;

/** Compile `a.b.c.d/n` or `x:y::/n`; undefined when the range is not valid. */
export function compileCidr(spec: string): CidrTest | undefined {
  const slash = spec.indexOf('/');
  const addr = slash >= 0 ? spec.slice(0, slash) : spec;
  const bitsText = slash >= 0 ? spec.slice(slash + 1) : undefined;
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return undefined;
  const v4 = parseIPv4(addr);
  if (v4 !== undefined) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    const base = Math.floor(v4 / size) * size;
    const inRange = (n: number) => n >= base && n < base + size;
    return (a) => {
      const n = parseIPv4(a);
      if (n !== undefined) return inRange(n);
      const g = parseIPv6(a);
      // IPv4-mapped (::ffff:a.b.c.d)
      if (g && g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
        return inRange(g[6]! * 65536 + g[7]!);
      return false;
    };
  }
  const v6 = parseIPv6(addr);
  if (!v6) return undefined;
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  if (bits > 128) return undefined;
  return (a) => {
    const g = parseIPv6(a);
    if (!g) return false;
    let left = bits;
    for (let i = 0; i < 8 && left > 0; i++, left -= 16) {
      const take = Math.min(16, left);
      const mask = (0xffff << (16 - take)) & 0xffff;
      if ((g[i]! & mask) !== (v6[i]! & mask)) return false;
    }
    return true;
  };
}
