/**
 * @module sensor/reassembly
 * TCP first-bytes reassembly. Application identity (DICOM association, HL7 header) sits in the
 * first kilobytes of a connection, so each direction keeps only its first `maxBytesPerDirection`
 * bytes, delivered in sequence order to a stream handler: out-of-order segments wait (copied,
 * bounded), retransmitted and overlapping bytes are trimmed. Memory is bounded per connection and
 * in total; when the table is full the oldest connections are evicted and counted.
 */
import { TcpFlag } from './decode.js';

/** One end of a connection. */
export interface Endpoint {
  ip: string;
  port: number;
  mac?: string;
}

/** Receives the in-order bytes of a connection. Direction 0 is client to server. */
export interface StreamHandler {
  data(dir: 0 | 1, bytes: Buffer, ts: number): void;
  /** No more bytes will come in `dir` (its cap was reached). */
  capped?(dir: 0 | 1): void;
  /** The connection ended; parse whatever is left. */
  close(reason: CloseReason): void;
}

export type CloseReason = 'fin' | 'rst' | 'idle' | 'evicted' | 'end-of-capture';

interface Segment {
  rel: number;
  data: Buffer;
}

interface Direction {
  started: boolean;
  base: number;
  /** Next relative offset to deliver. */
  next: number;
  pending: Segment[];
  pendingBytes: number;
  fin: boolean;
  done: boolean;
}

/** A tracked TCP connection with its counters; `handler` parses its application protocol. */
export interface TcpConnection {
  key: string;
  client: Endpoint;
  server: Endpoint;
  firstTs: number;
  lastTs: number;
  packets: [number, number];
  bytes: [number, number];
  /** Saw the SYN: `client` is known to be the initiator, not a guess. */
  sawSyn: boolean;
  /** VLAN ids of the connection's first frame, outermost first, when it was tagged. */
  vlans?: number[];
  handler: StreamHandler | null;
  /** The application protocol the handler parses (`dicom`, `hl7`, `tls`, `http`), null when none. */
  app: string | null;
  /** False once the handler said it wants no (more) bytes: payload is then ignored. */
  wantsData: boolean;
  dirs: [Direction, Direction];
}

/** Limits and hooks of the reassembler. */
export interface ReassemblyOptions {
  /** Bytes kept per direction (default 16 KiB). */
  maxBytesPerDirection?: number;
  /** Connections tracked at once (default 65,536). */
  maxConnections?: number;
  /** Bytes buffered in total across connections (default 64 MiB). */
  maxTotalBytes?: number;
  /** A connection with no packet for this long (capture time) is closed (default 5 minutes). */
  idleTimeoutMs?: number;
  /** Called for a new connection's first payload: returns its handler, or null for none. */
  open(conn: TcpConnection, firstPayload: Buffer, dir: 0 | 1): StreamHandler | null;
  /** Called once when a connection ends, after its handler's `close`. */
  closed?(conn: TcpConnection, reason: CloseReason): void;
  /** Called once when a connection starts being tracked. */
  opened?(conn: TcpConnection): void;
}

/** The packet fields the reassembler needs. */
export interface TcpSegmentInput {
  ts: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  srcMac?: string | undefined;
  dstMac?: string | undefined;
  /** 802.1Q VLAN ids of the frame, outermost first. */
  vlans?: number[] | undefined;
  seq: number;
  flags: number;
  payload: Buffer;
  /** Bytes of the frame on the wire, for counters. */
  wireLen: number;
}

const MAX_PENDING_SEGMENTS = 256;

function newDirection(): Direction {
  return { started: false, base: 0, next: 0, pending: [], pendingBytes: 0, fin: false, done: false };
}

/** The connection table and per-direction ordering; bounded as its options say. */
export class TcpReassembler {
  private readonly conns = new Map<string, TcpConnection>();
  private readonly maxDir: number;
  private readonly maxConns: number;
  private readonly maxTotal: number;
  private readonly idleMs: number;
  private totalBytes = 0;
  private lastSweep = 0;
  /** Connections evicted to respect the bounds. */
  evictions = 0;
  /** Segments whose bytes had all been delivered already. */
  retransmissions = 0;
  /** Out-of-order segments dropped because a direction's buffer was full. */
  overflowDrops = 0;
  /** Connections seen in total. */
  connections = 0;

  constructor(private readonly options: ReassemblyOptions) {
    this.maxDir = options.maxBytesPerDirection ?? 16 * 1024;
    this.maxConns = options.maxConnections ?? 65_536;
    this.maxTotal = options.maxTotalBytes ?? 64 * 1024 * 1024;
    this.idleMs = options.idleTimeoutMs ?? 300_000;
  }

  /** Connections tracked now. */
  get size(): number {
    return this.conns.size;
  }

  /** Bytes buffered now (delivered prefixes and waiting segments). */
  get bufferedBytes(): number {
    return this.totalBytes;
  }

  /** Feeds one TCP segment. */
  segment(s: TcpSegmentInput): void {
    if (s.ts - this.lastSweep >= 1000) this.sweep(s.ts);
    const a = `${s.srcIp}|${s.srcPort}`;
    const b = `${s.dstIp}|${s.dstPort}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let conn = this.conns.get(key);
    const syn = (s.flags & TcpFlag.SYN) !== 0;
    if (!conn) {
      if (!syn && s.payload.length === 0) return;
      // The SYN (without ACK) sender is the client; otherwise the first sender is assumed to be.
      const synAck = syn && (s.flags & TcpFlag.ACK) !== 0;
      const src: Endpoint = { ip: s.srcIp, port: s.srcPort };
      const dst: Endpoint = { ip: s.dstIp, port: s.dstPort };
      if (s.srcMac) src.mac = s.srcMac;
      if (s.dstMac) dst.mac = s.dstMac;
      conn = {
        key,
        client: synAck ? dst : src,
        server: synAck ? src : dst,
        firstTs: s.ts,
        lastTs: s.ts,
        packets: [0, 0],
        bytes: [0, 0],
        sawSyn: syn,
        handler: null,
        app: null,
        wantsData: true,
        dirs: [newDirection(), newDirection()],
      };
      if (s.vlans) conn.vlans = s.vlans;
      this.conns.set(key, conn);
      this.connections++;
      this.options.opened?.(conn);
      while (this.conns.size > this.maxConns) this.evictOldest();
    }
    const dir: 0 | 1 = conn.client.ip === s.srcIp && conn.client.port === s.srcPort ? 0 : 1;
    conn.lastTs = s.ts;
    conn.packets[dir]++;
    conn.bytes[dir] += s.wireLen;
    const d = conn.dirs[dir];
    if (!d.started) {
      d.started = true;
      d.base = syn ? (s.seq + 1) >>> 0 : s.seq;
    }
    if (s.payload.length > 0 && conn.wantsData && !d.done) this.data(conn, dir, d, s);
    if (s.flags & TcpFlag.RST) {
      this.close(conn, 'rst');
      return;
    }
    if (s.flags & TcpFlag.FIN) {
      d.fin = true;
      if (conn.dirs[0].fin && conn.dirs[1].fin) this.close(conn, 'fin');
    }
    while (this.totalBytes > this.maxTotal && this.conns.size > 0) this.evictOldest();
  }

  /** Closes every connection whose last packet is older than the idle timeout. */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const conn of this.conns.values()) {
      if (now - conn.lastTs > this.idleMs) this.close(conn, 'idle');
    }
  }

  /** Closes all connections (end of capture). */
  flush(): void {
    for (const conn of [...this.conns.values()]) this.close(conn, 'end-of-capture');
  }

  private data(conn: TcpConnection, dir: 0 | 1, d: Direction, s: TcpSegmentInput): void {
    let payload = s.payload;
    let rel = ((s.seq - d.base) | 0) + 0;
    if (rel + payload.length <= d.next) {
      this.retransmissions++;
      return;
    }
    if (rel < d.next) {
      payload = payload.subarray(d.next - rel);
      rel = d.next;
    }
    if (rel >= this.maxDir) return;
    if (rel + payload.length > this.maxDir) payload = payload.subarray(0, this.maxDir - rel);
    if (rel === d.next) {
      this.deliver(conn, dir, d, payload, s.ts);
      while (d.pending.length > 0 && conn.wantsData && !d.done) {
        const seg = d.pending[0]!;
        if (seg.rel > d.next) break;
        d.pending.shift();
        d.pendingBytes -= seg.data.length;
        this.totalBytes -= seg.data.length;
        if (seg.rel + seg.data.length > d.next)
          this.deliver(conn, dir, d, seg.data.subarray(d.next - seg.rel), s.ts);
      }
      return;
    }
    // Out of order: keep a copy (the capture buffer must not be pinned) until the gap fills.
    if (d.pending.length >= MAX_PENDING_SEGMENTS || d.pendingBytes + payload.length > this.maxDir) {
      this.overflowDrops++;
      return;
    }
    let i = d.pending.length;
    while (i > 0 && d.pending[i - 1]!.rel > rel) i--;
    const prev = d.pending[i - 1];
    if (prev && prev.rel === rel && prev.data.length >= payload.length) {
      this.retransmissions++;
      return;
    }
    d.pending.splice(i, 0, { rel, data: Buffer.from(payload) });
    d.pendingBytes += payload.length;
    this.totalBytes += payload.length;
  }

  private deliver(conn: TcpConnection, dir: 0 | 1, d: Direction, bytes: Buffer, ts: number): void {
    if (bytes.length === 0) return;
    d.next += bytes.length;
    this.totalBytes += bytes.length;
    if (!conn.handler) {
      conn.handler = this.options.open(conn, bytes, dir);
      if (!conn.handler) {
        this.stopData(conn);
        return;
      }
    }
    conn.handler.data(dir, bytes, ts);
    if (d.next >= this.maxDir && !d.done) {
      d.done = true;
      conn.handler?.capped?.(dir);
    }
  }

  /** The handler wants no more bytes: drop what waits and ignore further payload. */
  stopData(conn: TcpConnection): void {
    conn.wantsData = false;
    for (const d of conn.dirs) {
      this.totalBytes -= d.pendingBytes;
      d.pending = [];
      d.pendingBytes = 0;
    }
  }

  private evictOldest(): void {
    const first = this.conns.values().next();
    if (first.done) return;
    this.evictions++;
    this.close(first.value, 'evicted');
  }

  private close(conn: TcpConnection, reason: CloseReason): void {
    if (!this.conns.delete(conn.key)) return;
    for (const d of conn.dirs) this.totalBytes -= d.pendingBytes + d.next;
    conn.handler?.close(reason);
    this.options.closed?.(conn, reason);
  }
}
