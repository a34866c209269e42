/**
 * The `cidr` modifier: IPv4 and IPv6 network ranges, parsed once per rule and tested against
 * address strings without allocation-heavy libraries. An IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`) matches an IPv4 range, as the same host seen by a dual-stack socket.
 */

/** Parse an IPv4 address into an unsigned 32-bit number (four parts of 1 to 3 digits, each ≤ 255). */
export function parseIPv4(s: string): number | undefined {
  const len = s.length;
  if (len < 7 || len > 15) return undefined;
  let n = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? s.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++parts > 4) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else return undefined;
  }
  return parts === 4 ? n : undefined;
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

/**
 * Compile a list of ranges into one test that holds when the address is in any of them (the
 * address is parsed once, not once per range); undefined when a range is not valid.
 */
export function compileCidrList(specs: readonly string[]): CidrTest | undefined {
  const v4: [number, number][] = [];
  const v6: CidrTest[] = [];
  for (const spec of specs) {
    if (!compileCidr(spec)) return undefined;
    const slash = spec.indexOf('/');
    const addr = slash >= 0 ? spec.slice(0, slash) : spec;
    const n = parseIPv4(addr);
    if (n !== undefined) {
      const bits = slash >= 0 ? Number(spec.slice(slash + 1)) : 32;
      const size = 2 ** (32 - bits);
      const base = Math.floor(n / size) * size;
      v4.push([base, base + size]);
    } else v6.push(compileCidr(spec)!);
  }
  const in4 = (n: number) => {
    for (let i = 0; i < v4.length; i++) {
      const r = v4[i]!;
      if (n >= r[0] && n < r[1]) return true;
    }
    return false;
  };
  return (a) => {
    const n = lastIPv4(a);
    if (n !== undefined) return in4(n);
    if (!a.includes(':')) return false; // neither an IPv4 nor an IPv6 address
    if (v4.length) {
      const g = parseIPv6(a);
      // IPv4-mapped (::ffff:a.b.c.d)
      if (g && g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
        if (in4(g[6]! * 65536 + g[7]!)) return true;
    }
    for (let i = 0; i < v6.length; i++) if (v6[i]!(a)) return true;
    return false;
  };
}

/** The last address parsed by {@link lastIPv4}, and its value. */
let lastText: string | undefined;
let lastValue: number | undefined;

/**
 * {@link parseIPv4}, remembering the last address: the rules of one event test the same address
 * against several range lists (a private destination, an internal scan target).
 */
function lastIPv4(s: string): number | undefined {
  if (s !== lastText) {
    lastValue = parseIPv4(s);
    lastText = s;
  }
  return lastValue;
}
