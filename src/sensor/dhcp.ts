/**
 * @module sensor/dhcp
 * DHCPv4 (RFC 2131/2132) for device identity: the client's hardware address, the address it asks
 * for or is given, and the options that name and fingerprint it: host name (12), vendor class
 * (60), parameter request list (55, the order is the classic DHCP fingerprint), client identifier
 * (61) and client FQDN (81). Options are read within the datagram; bad lengths end the read.
 */
import { formatIpv4 } from './ip.js';
import { formatMac } from './link.js';

/** DHCP message types (option 53). */
export const DHCP_MESSAGE_TYPES: Record<number, string> = {
  1: 'discover',
  2: 'offer',
  3: 'request',
  4: 'decline',
  5: 'ack',
  6: 'nak',
  7: 'release',
  8: 'inform',
};

/** What the sensor keeps of a DHCP message. */
export interface DhcpMessage {
  /** 1 BOOTREQUEST (client), 2 BOOTREPLY (server). */
  op: number;
  /** Option 53 as a word (`request`, `ack`, …); `bootp` when absent. */
  messageType: string;
  xid: number;
  /** chaddr when the hardware type is Ethernet. */
  clientMac?: string;
  /** ciaddr, yiaddr, giaddr when not 0.0.0.0. */
  clientIp?: string;
  yourIp?: string;
  relayIp?: string;
  /** Option 50. */
  requestedIp?: string;
  /** Option 54. */
  serverId?: string;
  /** Option 51, seconds. */
  leaseTime?: number;
  /** Option 12. */
  hostname?: string;
  /** Option 60. */
  vendorClass?: string;
  /** Option 55, in the client's order. */
  parameterRequestList?: number[];
  /** Option 55 as a comma-separated string (the fingerprint databases' form). */
  fingerprint?: string;
  /** Option 61 as lower-case hex. */
  clientId?: string;
  /** Option 81's domain name. */
  fqdn?: string;
}

const COOKIE = 0x63825363;
const MAX_TEXT = 255;

/** Parses a DHCP message, or returns why it is not one. */
export function parseDhcp(b: Buffer): DhcpMessage | string {
  if (b.length < 240) return 'dhcp-truncated';
  const op = b[0]!;
  if (op !== 1 && op !== 2) return 'dhcp-bad-op';
  if (b.readUInt32BE(236) !== COOKIE) return 'dhcp-bad-cookie';
  const m: DhcpMessage = { op, messageType: 'bootp', xid: b.readUInt32BE(4) };
  if (b[1] === 1 && b[2] === 6) m.clientMac = formatMac(b, 28);
  const ci = addr(b, 12);
  const yi = addr(b, 16);
  const gi = addr(b, 24);
  if (ci) m.clientIp = ci;
  if (yi) m.yourIp = yi;
  if (gi) m.relayIp = gi;
  let p = 240;
  while (p < b.length) {
    const code = b[p]!;
    if (code === 0) {
      p++;
      continue;
    }
    if (code === 255) break;
    if (p + 2 > b.length) return 'dhcp-truncated';
    const len = b[p + 1]!;
    const v = p + 2;
    if (v + len > b.length) return 'dhcp-truncated';
    option(m, b, code, v, len);
    p = v + len;
  }
  return m;
}

function addr(b: Buffer, off: number): string | undefined {
  return b.readUInt32BE(off) === 0 ? undefined : formatIpv4(b, off);
}

function text(b: Buffer, from: number, len: number): string {
  let end = from + Math.min(len, MAX_TEXT);
  while (end > from && b[end - 1] === 0) end--;
  return b.toString('utf8', from, end);
}

function option(m: DhcpMessage, b: Buffer, code: number, v: number, len: number): void {
  switch (code) {
    case 53:
      if (len >= 1) m.messageType = DHCP_MESSAGE_TYPES[b[v]!] ?? `type-${b[v]}`;
      return;
    case 12:
      if (len) m.hostname = text(b, v, len);
      return;
    case 60:
      if (len) m.vendorClass = text(b, v, len);
      return;
    case 50:
      if (len === 4) m.requestedIp = formatIpv4(b, v);
      return;
    case 54:
      if (len === 4) m.serverId = formatIpv4(b, v);
      return;
    case 51:
      if (len === 4) m.leaseTime = b.readUInt32BE(v);
      return;
    case 55: {
      const list: number[] = [];
      for (let i = 0; i < len; i++) list.push(b[v + i]!);
      m.parameterRequestList = list;
      m.fingerprint = list.join(',');
      return;
    }
    case 61:
      if (len) m.clientId = b.toString('hex', v, v + Math.min(len, 64));
      return;
    case 81: {
      if (len < 3) return;
      const name = (b[v]! & 0x04) !== 0 ? wireName(b, v + 3, v + len) : text(b, v + 3, len - 3);
      if (name) m.fqdn = name;
      return;
    }
    default:
      return;
  }
}

/** An uncompressed DNS wire-format name between `from` and `to` (option 81 with the E bit). */
function wireName(b: Buffer, from: number, to: number): string {
  const labels: string[] = [];
  let p = from;
  while (p < to) {
    const n = b[p]!;
    if (n === 0 || n > 63 || p + 1 + n > to) break;
    labels.push(b.toString('latin1', p + 1, p + 1 + n));
    p += 1 + n;
  }
  return labels.join('.');
}
