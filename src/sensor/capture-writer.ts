/**
 * @module sensor/capture-writer
 * Writes pcap files and builds Ethernet/IPv4/TCP/UDP frames with correct lengths, checksums and
 * sequence numbers. The sensor never sends packets; this exists so tests, benchmarks and demo
 * data can synthesise realistic captures (HL7 over MLLP, DICOM associations) that real tools
 * such as tshark also read.
 */
import { LinkType } from './capture-types.js';
import { TcpFlag } from './decode.js';

/** A pcap global header (microsecond, little endian unless asked). */
export function pcapFileHeader(
  opts: { linkType?: number; snaplen?: number; nano?: boolean; bigEndian?: boolean } = {},
): Buffer {
  const b = Buffer.alloc(24);
  const w32 = (v: number, o: number) => (opts.bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const w16 = (v: number, o: number) => (opts.bigEndian ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  w32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(2, 4);
  w16(4, 6);
  w32(opts.snaplen ?? 262_144, 16);
  w32(opts.linkType ?? LinkType.Ethernet, 20);
  return b;
}

/** One pcap record: header and frame (cut to `snaplen` when given). */
export function pcapRecord(
  tsMs: number,
  frame: Buffer,
  opts: { snaplen?: number; nano?: boolean; bigEndian?: boolean } = {},
): Buffer {
  const incl = Math.min(frame.length, opts.snaplen ?? frame.length);
  const b = Buffer.alloc(16 + incl);
  const w32 = (v: number, o: number) => (opts.bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const sec = Math.floor(tsMs / 1000);
  const frac = opts.nano ? Math.round((tsMs - sec * 1000) * 1e6) : Math.round((tsMs - sec * 1000) * 1e3);
  w32(sec, 0);
  w32(frac, 4);
  w32(incl, 8);
  w32(frame.length, 12);
  frame.copy(b, 16, 0, incl);
  return b;
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

function ipv4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

function checksum(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += buf.readUInt16BE(i);
  if ((end - start) % 2 === 1) sum += buf[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Addresses of a frame. */
export interface FrameAddresses {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** 802.1Q VLAN id, when the frame should be tagged. */
  vlan?: number;
}

function ethernetIpv4(a: FrameAddresses, proto: number, l4: Buffer, ipId: number): Buffer {
  const tag = a.vlan === undefined ? 0 : 4;
  const frame = Buffer.alloc(14 + tag + 20 + l4.length);
  macBytes(a.dstMac).copy(frame, 0);
  macBytes(a.srcMac).copy(frame, 6);
  if (a.vlan !== undefined) {
    frame.writeUInt16BE(0x8100, 12);
    frame.writeUInt16BE(a.vlan & 0x0fff, 14);
  }
  frame.writeUInt16BE(0x0800, 12 + tag);
  const ip = 14 + tag;
  frame[ip] = 0x45;
  frame.writeUInt16BE(20 + l4.length, ip + 2);
  frame.writeUInt16BE(ipId & 0xffff, ip + 4);
  frame.writeUInt16BE(0x4000, ip + 6);
  frame[ip + 8] = 64;
  frame[ip + 9] = proto;
  Buffer.from(ipv4Bytes(a.src)).copy(frame, ip + 12);
  Buffer.from(ipv4Bytes(a.dst)).copy(frame, ip + 16);
  frame.writeUInt16BE(checksum(frame, ip, ip + 20), ip + 10);
  l4.copy(frame, ip + 20);
  // Transport checksum over the pseudo-header.
  const pseudo = Buffer.alloc(12);
  Buffer.from(ipv4Bytes(a.src)).copy(pseudo, 0);
  Buffer.from(ipv4Bytes(a.dst)).copy(pseudo, 4);
  pseudo[9] = proto;
  pseudo.writeUInt16BE(l4.length, 10);
  const partial = ~checksum(pseudo, 0, 12) & 0xffff;
  const ck = checksum(frame, ip + 20, frame.length, partial);
  frame.writeUInt16BE(proto === 17 && ck === 0 ? 0xffff : ck, ip + 20 + (proto === 6 ? 16 : 6));
  return frame;
}

/** An Ethernet/IPv4/TCP frame. */
export function tcpFrame(
  a: FrameAddresses,
  seg: { seq: number; ack: number; flags: number; payload?: Buffer; window?: number; ipId?: number },
): Buffer {
  const payload = seg.payload ?? Buffer.alloc(0);
  const tcp = Buffer.alloc(20 + payload.length);
  tcp.writeUInt16BE(a.srcPort, 0);
  tcp.writeUInt16BE(a.dstPort, 2);
  tcp.writeUInt32BE(seg.seq >>> 0, 4);
  tcp.writeUInt32BE(seg.ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = seg.flags;
  tcp.writeUInt16BE(seg.window ?? 65_535, 14);
  payload.copy(tcp, 20);
  return ethernetIpv4(a, 6, tcp, seg.ipId ?? 0);
}

/** An Ethernet/IPv4/UDP frame. */
export function udpFrame(a: FrameAddresses, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(a.srcPort, 0);
  udp.writeUInt16BE(a.dstPort, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  payload.copy(udp, 8);
  return ethernetIpv4(a, 17, udp, 0);
}

/** A frame of a synthetic TCP conversation, with its direction (0 client to server). */
export interface ConversationFrame {
  dir: 0 | 1;
  frame: Buffer;
}

/**
 * A TCP conversation that keeps sequence numbers right: handshake, data in MSS-sized segments
 * from either side, and a FIN exchange. Tests reorder or repeat the frames it returns.
 */
export class TcpConversation {
  private seq: [number, number];
  private ipId = 1;

  constructor(
    private readonly client: FrameAddresses,
    isn: [number, number] = [1000, 5000],
  ) {
    this.seq = [isn[0] >>> 0, isn[1] >>> 0];
  }

  private addr(dir: 0 | 1): FrameAddresses {
    const c = this.client;
    if (dir === 0) return c;
    const back: FrameAddresses = {
      srcMac: c.dstMac,
      dstMac: c.srcMac,
      src: c.dst,
      dst: c.src,
      srcPort: c.dstPort,
      dstPort: c.srcPort,
    };
    if (c.vlan !== undefined) back.vlan = c.vlan;
    return back;
  }

  private frame(dir: 0 | 1, flags: number, payload?: Buffer): ConversationFrame {
    const seg: Parameters<typeof tcpFrame>[1] = {
      seq: this.seq[dir],
      ack: flags & TcpFlag.ACK ? this.seq[dir === 0 ? 1 : 0] : 0,
      flags,
      ipId: this.ipId++,
    };
    if (payload) seg.payload = payload;
    return { dir, frame: tcpFrame(this.addr(dir), seg) };
  }

  /** SYN, SYN-ACK, ACK. */
  open(): ConversationFrame[] {
    const out = [this.frame(0, TcpFlag.SYN)];
    this.seq[0] = (this.seq[0] + 1) >>> 0;
    out.push(this.frame(1, TcpFlag.SYN | TcpFlag.ACK));
    this.seq[1] = (this.seq[1] + 1) >>> 0;
    out.push(this.frame(0, TcpFlag.ACK));
    return out;
  }

  /** Data from one side in segments of at most `mss` bytes. */
  send(dir: 0 | 1, data: Buffer, mss = 1460): ConversationFrame[] {
    const out: ConversationFrame[] = [];
    for (let i = 0; i < data.length; i += mss) {
      const part = data.subarray(i, Math.min(i + mss, data.length));
      out.push(this.frame(dir, TcpFlag.ACK | TcpFlag.PSH, part));
      this.seq[dir] = (this.seq[dir] + part.length) >>> 0;
    }
    return out;
  }

  /** FIN from each side and the last ACK. */
  close(): ConversationFrame[] {
    const out = [this.frame(0, TcpFlag.FIN | TcpFlag.ACK)];
    this.seq[0] = (this.seq[0] + 1) >>> 0;
    out.push(this.frame(1, TcpFlag.FIN | TcpFlag.ACK));
    this.seq[1] = (this.seq[1] + 1) >>> 0;
    out.push(this.frame(0, TcpFlag.ACK));
    return out;
  }
}

/** MLLP framing of one HL7 message: VT, message, FS, CR. */
export function mllpFrame(message: string | Buffer): Buffer {
  const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return Buffer.concat([Buffer.from([0x0b]), body, Buffer.from([0x1c, 0x0d])]);
}
