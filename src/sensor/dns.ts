/**
 * @module sensor/dns
 * DNS messages (RFC 1035) as UDP carries them for DNS, multicast DNS (RFC 6762) and LLMNR
 * (RFC 4795): the questions, and the answers with the address or name they give. Names are
 * decompressed with pointers that must go strictly backwards, so a hostile message cannot loop;
 * every count and length is checked against the datagram. Authority and additional sections are
 * not read.
 */
import { formatIpv4, formatIpv6 } from './ip.js';

/** Record types the sensor names; others are kept as numbers. */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  HTTPS: 65,
  ANY: 255,
} as const;

/** One question. */
export interface DnsQuestion {
  name: string;
  type: number;
}

/** One answer record; `data` is set for A, AAAA (address), CNAME, NS, PTR, MX and SRV (name). */
export interface DnsAnswer {
  name: string;
  type: number;
  ttl: number;
  data?: string;
}

/** What the sensor keeps of a DNS message. */
export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  rcode: number;
  authoritative: boolean;
  /** The TC bit: the server cut the answer. */
  truncated: boolean;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
  /** The answer section could not be read to its end (cut datagram, bad record). */
  incomplete: boolean;
}

/** Questions and answers kept per message; the rest are counted in the header only. */
export const MAX_DNS_RECORDS = 32;
const MAX_NAME = 255;
const MAX_JUMPS = 64;

/** A name read at `off`: its text and the offset after it (in the original position). */
interface NameRead {
  name: string;
  next: number;
}

/**
 * Reads a possibly compressed domain name at `off`. Each pointer must point before the lowest
 * offset read so far, which bounds the walk by the message length; the text is limited to 255.
 */
export function readDnsName(b: Buffer, off: number): NameRead | string {
  let p = off;
  let low = off;
  let next = -1;
  let jumps = 0;
  let len = 0;
  let name = '';
  for (;;) {
    if (p >= b.length) return 'dns-truncated';
    const c = b[p]!;
    if (c === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    const kind = c & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= b.length) return 'dns-truncated';
      const target = ((c & 0x3f) << 8) | b[p + 1]!;
      if (next < 0) next = p + 2;
      if (target >= low || ++jumps > MAX_JUMPS) return 'dns-pointer-loop';
      low = target;
      p = target;
      continue;
    }
    if (kind !== 0) return 'dns-bad-label';
    if (p + 1 + c > b.length) return 'dns-truncated';
    len += c + 1;
    if (len > MAX_NAME) return 'dns-name-too-long';
    if (name) name += '.';
    name += labelText(b, p + 1, p + 1 + c);
    p += 1 + c;
  }
  return { name, next };
}

/** A label as text: printable ASCII as is, other bytes (and dots, backslashes) escaped `\DDD`. */
function labelText(b: Buffer, from: number, to: number): string {
  let plain = true;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return b.toString('latin1', from, to);
  let s = '';
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    s +=
      c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c
        ? `\\${c.toString().padStart(3, '0')}`
        : String.fromCharCode(c);
  }
  return s;
}

/** Parses a DNS message, or returns why it is not one. */
export function parseDns(b: Buffer): DnsMessage | string {
  if (b.length < 12) return 'dns-truncated';
  const flags = b.readUInt16BE(2);
  const qd = b.readUInt16BE(4);
  const an = b.readUInt16BE(6);
  const msg: DnsMessage = {
    id: b.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    rcode: flags & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    questions: [],
    answers: [],
    incomplete: false,
  };
  // Opcodes 0 (query), 1 (inverse), 2 (status), 4 (notify), 5 (update); others are not DNS.
  if (msg.opcode === 3 || msg.opcode > 5) return 'dns-bad-opcode';
  if (qd === 0 && an === 0) return 'dns-empty';
  let p = 12;
  for (let i = 0; i < qd; i++) {
    const n = readDnsName(b, p);
    if (typeof n === 'string') return n;
    if (n.next + 4 > b.length) return 'dns-truncated';
    if (msg.questions.length < MAX_DNS_RECORDS)
      msg.questions.push({ name: n.name, type: b.readUInt16BE(n.next) });
    p = n.next + 4;
  }
  for (let i = 0; i < an; i++) {
    const n = readDnsName(b, p);
    if (typeof n === 'string' || n.next + 10 > b.length) {
      msg.incomplete = true;
      break;
    }
    const type = b.readUInt16BE(n.next);
    const ttl = b.readUInt32BE(n.next + 4);
    const rdlen = b.readUInt16BE(n.next + 8);
    const rd = n.next + 10;
    if (rd + rdlen > b.length) {
      msg.incomplete = true;
      break;
    }
    if (msg.answers.length < MAX_DNS_RECORDS) {
      const a: DnsAnswer = { name: n.name, type, ttl };
      const data = rdata(b, type, rd, rdlen);
      if (data !== undefined) a.data = data;
      msg.answers.push(a);
    }
    p = rd + rdlen;
  }
  return msg;
}

function rdata(b: Buffer, type: number, off: number, len: number): string | undefined {
  switch (type) {
    case DnsType.A:
      return len === 4 ? formatIpv4(b, off) : undefined;
    case DnsType.AAAA:
      return len === 16 ? formatIpv6(b, off) : undefined;
    case DnsType.CNAME:
    case DnsType.NS:
    case DnsType.PTR: {
      const n = readDnsName(b.subarray(0, off + len), off);
      return typeof n === 'string' ? undefined : n.name;
    }
    case DnsType.MX: {
      if (len < 3) return undefined;
      const n = readDnsName(b.subarray(0, off + len), off + 2);
      return typeof n === 'string' ? undefined : n.name;
    }
    case DnsType.SRV: {
      if (len < 7) return undefined;
      const n = readDnsName(b.subarray(0, off + len), off + 6);
      return typeof n === 'string' ? undefined : `${n.name}:${b.readUInt16BE(off + 4)}`;
    }
    default:
      return undefined;
  }
}

/** The usual mnemonic of a record type (`A`, `AAAA`, `PTR`, …), or `TYPE<n>`. */
export function dnsTypeName(type: number): string {
  for (const [k, v] of Object.entries(DnsType)) if (v === type) return k;
  return `TYPE${type}`;
}
