/**
 * @module sensor/decode
 * One frame to one small plain object: link, IP and TCP/UDP headers and a view of the payload.
 * Frames that are not IP, or are corrupt, come back as a reason string instead.
 */

import { decodeIpv4, decodeIpv6, type IpInfo } from './ip.js';
import { decodeLink, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './link.js';

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** TCP flag bits. */
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** A decoded packet: addresses, ports, TCP header fields and a view of the payload. */
export interface DecodedPacket {
  srcMac?: string;
  dstMac?: string;
  vlans?: number[];
  ip: IpInfo;
  srcPort: number;
  dstPort: number;
  /** TCP only: sequence and acknowledgement numbers and flags. */
  seq: number;
  ack: number;
  flags: number;
  /** Transport payload (a view into the frame). Empty for later fragments. */
  payload: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Decodes a frame of the given link type, or returns why it cannot. */
export function decodePacket(linkType: number, d: Buffer): DecodedPacket | string {
  const link = decodeLink(linkType, d);
  if (typeof link === 'string') return link;
  let ip: IpInfo | string;
  if (link.etherType === ETHERTYPE_IPV4) ip = decodeIpv4(d, link.offset);
  else if (link.etherType === ETHERTYPE_IPV6) ip = decodeIpv6(d, link.offset);
  else return 'not-ip';
  if (typeof ip === 'string') return ip;
  const pkt: DecodedPacket = { ip, srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, payload: EMPTY };
  if (link.srcMac) pkt.srcMac = link.srcMac;
  if (link.dstMac) pkt.dstMac = link.dstMac;
  if (link.vlans) pkt.vlans = link.vlans;
  if (ip.fragment === 'later') return pkt;
  const o = ip.offset;
  if (ip.proto === PROTO_TCP) {
    if (ip.end < o + 20) return ip.truncated ? 'snaplen-cut' : 'short-tcp';
    const hl = (d[o + 12]! >> 4) * 4;
    if (hl < 20) return 'bad-tcp-header-length';
    if (ip.end < o + hl) return ip.truncated ? 'snaplen-cut' : 'short-tcp';
    pkt.srcPort = d.readUInt16BE(o);
    pkt.dstPort = d.readUInt16BE(o + 2);
    pkt.seq = d.readUInt32BE(o + 4);
    pkt.ack = d.readUInt32BE(o + 8);
    pkt.flags = d[o + 13]!;
    pkt.payload = d.subarray(o + hl, ip.end);
  } else if (ip.proto === PROTO_UDP) {
    if (ip.end < o + 8) return ip.truncated ? 'snaplen-cut' : 'short-udp';
    pkt.srcPort = d.readUInt16BE(o);
    pkt.dstPort = d.readUInt16BE(o + 2);
    const ulen = d.readUInt16BE(o + 4);
    pkt.payload = d.subarray(o + 8, ulen >= 8 ? Math.min(o + ulen, ip.end) : ip.end);
  } else {
    pkt.payload = d.subarray(o, ip.end);
  }
  return pkt;
}
