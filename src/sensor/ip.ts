/**
 * @module sensor/ip
 * IPv4 (options, fragments noted but not reassembled) and IPv6 (with its extension header chain).
 * The result says where the transport header starts and ends, trimming Ethernet padding and
 * noting when the capture cut the packet short.
 */

/** The network layer of one packet. */
export interface IpInfo {
  version: 4 | 6;
  src: string;
  dst: string;
  /** Transport protocol number (6 TCP, 17 UDP, …) after any extension headers. */
  proto: number;
  ttl: number;
  /** Transport header offset in the frame. */
  offset: number;
  /** End of the IP payload in the frame (trimmed to what was captured). */
  end: number;
  /** A fragment: `first` carries the transport header, `later` does not. */
  fragment?: 'first' | 'later';
  /** The capture holds less than the IP header says (snaplen cut). */
  truncated: boolean;
}

/** Dotted-quad form of four bytes at `off`. */
export function formatIpv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text form of sixteen bytes at `off` (longest zero run compressed, lower case). */
export function formatIpv6(b: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Decodes an IPv4 header at `off`, or returns a reason it cannot. */
export function decodeIpv4(d: Buffer, off: number): IpInfo | string {
  if (d.length < off + 20) return 'short-ipv4';
  const vihl = d[off]!;
  if (vihl >> 4 !== 4) return 'bad-ip-version';
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return 'bad-ipv4-header-length';
  const total = d.readUInt16BE(off + 2);
  if (total < ihl) return 'bad-ipv4-total-length';
  if (d.length < off + ihl) return 'short-ipv4';
  const frag = d.readUInt16BE(off + 6);
  const fragOffset = frag & 0x1fff;
  const more = (frag & 0x2000) !== 0;
  const declaredEnd = off + total;
  const info: IpInfo = {
    version: 4,
    src: formatIpv4(d, off + 12),
    dst: formatIpv4(d, off + 16),
    proto: d[off + 9]!,
    ttl: d[off + 8]!,
    offset: off + ihl,
    end: Math.min(declaredEnd, d.length),
    truncated: declaredEnd > d.length,
  };
  if (fragOffset !== 0) info.fragment = 'later';
  else if (more) info.fragment = 'first';
  return info;
}

const MAX_EXT_HEADERS = 8;

/** Decodes an IPv6 header and its extension header chain at `off`, or returns a reason. */
export function decodeIpv6(d: Buffer, off: number): IpInfo | string {
  if (d.length < off + 40) return 'short-ipv6';
  if (d[off]! >> 4 !== 6) return 'bad-ip-version';
  const declaredEnd = off + 40 + d.readUInt16BE(off + 4);
  const end = Math.min(declaredEnd, d.length);
  let next = d[off + 6]!;
  let p = off + 40;
  let fragment: IpInfo['fragment'];
  for (let i = 0; ; i++) {
    if (i > MAX_EXT_HEADERS) return 'too-many-ipv6-extension-headers';
    if (next === 0 || next === 43 || next === 60) {
      if (p + 8 > end) return 'short-ipv6-extension-header';
      const len = (d[p + 1]! + 1) * 8;
      next = d[p]!;
      p += len;
    } else if (next === 44) {
      if (p + 8 > end) return 'short-ipv6-extension-header';
      const fo = d.readUInt16BE(p + 2);
      if (fo >> 3 !== 0) fragment = 'later';
      else if (fo & 1) fragment = 'first';
      next = d[p]!;
      p += 8;
    } else if (next === 51) {
      if (p + 8 > end) return 'short-ipv6-extension-header';
      const len = (d[p + 1]! + 2) * 4;
      next = d[p]!;
      p += len;
    } else break;
    if (p > end) return 'short-ipv6-extension-header';
  }
  const info: IpInfo = {
    version: 6,
    src: formatIpv6(d, off + 8),
    dst: formatIpv6(d, off + 24),
    proto: next,
    ttl: d[off + 7]!,
    offset: p,
    end,
    truncated: declaredEnd > d.length,
  };
  if (fragment) info.fragment = fragment;
  return info;
}
