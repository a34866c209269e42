/**
 * @module sensor/sensor
 * Ties the sensor together: capture records → decoders → TCP first-bytes reassembly → DICOM and
 * HL7 parsers → normalised `VigilEvent`s (`net.dicom.association`, `net.dicom.command`,
 * `net.hl7.message`, `net.flow`) handed to a callback; the bus wiring lives elsewhere. Pure apart
 * from reading the stream it is given, so it runs in a test without a server.
 */
import type { Readable } from 'node:stream';
import { type EventInput, makeEvent, type VigilEvent } from '../core/events.js';
import { CaptureReader } from './capture-reader.js';
import { type CaptureRecord, countSkip, type SkipCounts } from './capture-types.js';
import { type DecodedPacket, decodePacket, PROTO_TCP, PROTO_UDP } from './decode.js';
import { type DicomAssociate, type DicomMessage, DicomSession, looksLikeDicom } from './dicom.js';
import { type Hl7Message, Hl7Stream } from './hl7.js';
import { makePatientIdHasher, type PatientIdHasher } from './keyed-hash.js';
import { type CloseReason, type StreamHandler, type TcpConnection, TcpReassembler } from './reassembly.js';

/** Options of a `Sensor`. */
export interface SensorOptions {
  /** Key of the patient-identifier hash (HMAC-SHA256); at least 16 bytes. */
  patientIdKey: Uint8Array;
  /** Receives every event, in capture order. */
  onEvent?: (event: VigilEvent) => void;
  /** `source` of the events (default `sensor`). */
  source?: string;
  /** Emit `net.flow` events when connections end (default true). */
  flows?: boolean;
  /** Bytes kept per TCP direction (default 16 KiB). */
  maxBytesPerDirection?: number;
  /** TCP connections and UDP flows tracked at once (default 65,536 each). */
  maxConnections?: number;
  /** Bytes buffered for reassembly in total (default 64 MiB). */
  maxTotalBytes?: number;
  /** Idle timeout in capture time (default 5 minutes). */
  idleTimeoutMs?: number;
}

/** What a read did: counts for the `vigil sensor read` summary. */
export interface SensorSummary {
  /** Records read from the capture. */
  packets: number;
  /** Bytes of those packets on the wire. */
  bytes: number;
  /** Bytes of capture file read. */
  fileBytes: number;
  /** TCP connections and UDP flows seen. */
  connections: number;
  /** Skipped input by reason (corrupt records, cut packets, bogus protocol lengths). */
  skipped: SkipCounts;
  /** Why reading stopped before the end, if it did. */
  stopped: string | null;
  /** Frames that were not IP (ARP, LLDP, …): not errors, just not decoded. */
  nonIp: number;
  /** IP fragments seen (noted, not reassembled). */
  fragments: number;
  dicomAssociations: number;
  dicomCommands: number;
  hl7Messages: number;
  /** Connections evicted to keep memory bounded. */
  evictions: number;
  retransmissions: number;
}

interface UdpFlow {
  key: string;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  firstTs: number;
  lastTs: number;
  packets: number;
  bytes: number;
}

/** The sensor: feed it capture records (or a whole stream), read its events and summary. */
export class Sensor {
  private readonly hash: PatientIdHasher;
  private readonly tcp: TcpReassembler;
  private readonly udp = new Map<string, UdpFlow>();
  private readonly reader = new CaptureReader();
  private readonly skips: SkipCounts = {};
  private readonly source: string;
  private readonly flows: boolean;
  private readonly maxUdp: number;
  private readonly idleMs: number;
  private lastUdpSweep = 0;
  private counts = {
    packets: 0,
    bytes: 0,
    nonIp: 0,
    fragments: 0,
    udpFlows: 0,
    dicomAssociations: 0,
    dicomCommands: 0,
    hl7Messages: 0,
  };
  private finished = false;

  constructor(private readonly options: SensorOptions) {
    this.hash = makePatientIdHasher(options.patientIdKey);
    this.source = options.source ?? 'sensor';
    this.flows = options.flows ?? true;
    this.maxUdp = options.maxConnections ?? 65_536;
    this.idleMs = options.idleTimeoutMs ?? 300_000;
    this.tcp = new TcpReassembler({
      maxBytesPerDirection: options.maxBytesPerDirection,
      maxConnections: options.maxConnections,
      maxTotalBytes: options.maxTotalBytes,
      idleTimeoutMs: options.idleTimeoutMs,
      open: (conn, first) => this.openApp(conn, first),
      closed: (conn, reason) => this.tcpClosed(conn, reason),
    });
  }

  /** Reads a whole pcap/pcapng stream, then finishes and returns the summary. */
  async read(stream: Readable | AsyncIterable<Buffer>): Promise<SensorSummary> {
    const onRecord = (r: CaptureRecord) => this.push(r);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      this.reader.push(chunk, onRecord);
      if (this.reader.stopped) break;
    }
    this.reader.end();
    this.finish();
    return this.summary();
  }

  /** Feeds one capture record. */
  push(r: CaptureRecord): void {
    this.counts.packets++;
    this.counts.bytes += r.origLen;
    const pkt = decodePacket(r.linkType, r.data);
    if (typeof pkt === 'string') {
      if (pkt === 'not-ip') this.counts.nonIp++;
      else countSkip(this.skips, pkt);
      return;
    }
    const ip = pkt.ip;
    if (ip.fragment) this.counts.fragments++;
    if (ip.proto === PROTO_TCP && ip.fragment !== 'later') {
      let payload = pkt.payload;
      if (ip.fragment === 'first' || ip.truncated) {
        countSkip(this.skips, ip.fragment ? 'ip-fragment' : 'snaplen-cut');
        payload = payload.subarray(0, 0);
      }
      this.tcp.segment({
        ts: r.ts,
        srcIp: ip.src,
        dstIp: ip.dst,
        srcPort: pkt.srcPort,
        dstPort: pkt.dstPort,
        srcMac: pkt.srcMac,
        dstMac: pkt.dstMac,
        seq: pkt.seq,
        flags: pkt.flags,
        payload,
        wireLen: r.origLen,
      });
    } else if (ip.proto === PROTO_UDP && ip.fragment !== 'later') {
      this.udpPacket(r, pkt);
    }
  }

  /** Ends the input: closes every connection and flushes its parsers. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.tcp.flush();
    for (const f of [...this.udp.values()]) this.udpClosed(f, 'end-of-capture');
  }

  /** What the sensor holds right now: the figures its memory bound is made of. */
  state(): { tcpConnections: number; udpFlows: number; bufferedBytes: number } {
    return { tcpConnections: this.tcp.size, udpFlows: this.udp.size, bufferedBytes: this.tcp.bufferedBytes };
  }

  /** Counts so far. */
  summary(): SensorSummary {
    const skipped: SkipCounts = { ...this.reader.skipped };
    for (const [k, v] of Object.entries(this.skips)) countSkip(skipped, k, v);
    return {
      packets: this.counts.packets,
      bytes: this.counts.bytes,
      fileBytes: this.reader.bytesRead,
      connections: this.tcp.connections + this.counts.udpFlows,
      skipped,
      stopped: this.reader.stopped,
      nonIp: this.counts.nonIp,
      fragments: this.counts.fragments,
      dicomAssociations: this.counts.dicomAssociations,
      dicomCommands: this.counts.dicomCommands,
      hl7Messages: this.counts.hl7Messages,
      evictions: this.tcp.evictions,
      retransmissions: this.tcp.retransmissions,
    };
  }

  private emit(input: EventInput): void {
    this.options.onEvent?.(makeEvent(input));
  }

  private netOf(conn: TcpConnection, dir: 0 | 1): NonNullable<EventInput['net']> {
    const [s, d] = dir === 0 ? [conn.client, conn.server] : [conn.server, conn.client];
    return { srcIp: s.ip, srcPort: s.port, dstIp: d.ip, dstPort: d.port, proto: 'tcp' };
  }

  private deviceOf(conn: TcpConnection, dir: 0 | 1): NonNullable<EventInput['device']> {
    const s = dir === 0 ? conn.client : conn.server;
    return s.mac ? { ip: s.ip, mac: s.mac } : { ip: s.ip };
  }

  private openApp(conn: TcpConnection, first: Buffer): StreamHandler | null {
    // Identity by content, not port: DICOM and HL7 run on any port in hospitals.
    if (looksLikeDicom(first)) return this.dicomHandler(conn);
    const i = first[0] === 0x0b ? 1 : 0;
    if (first.length >= i + 3 && first.toString('latin1', i, i + 3) === 'MSH') return this.hl7Handler(conn);
    return null;
  }

  private dicomHandler(conn: TcpConnection): StreamHandler {
    conn.app = 'dicom';
    let rq: DicomAssociate | null = null;
    let ac: DicomAssociate | null = null;
    const assoc = (
      result: 'accepted' | 'rejected' | 'unanswered',
      ts: number,
      extra?: Record<string, unknown>,
    ) => {
      if (!rq && !ac) return;
      this.counts.dicomAssociations++;
      const a = (rq ?? ac)!;
      const accepted = (ac?.presentationContexts ?? [])
        .filter((pc) => pc.result === 0)
        .map((pc) => ({
          abstractSyntax: rq?.presentationContexts.find((p) => p.id === pc.id)?.abstractSyntax ?? null,
          transferSyntax: pc.transferSyntaxes[0] ?? null,
        }));
      this.emit({
        kind: 'net.dicom.association',
        source: this.source,
        time: new Date(ts),
        device: this.deviceOf(conn, 0),
        net: this.netOf(conn, 0),
        data: {
          result,
          callingAe: a.callingAe,
          calledAe: a.calledAe,
          applicationContext: a.applicationContext ?? null,
          client: rq ? implOf(rq) : null,
          server: ac ? implOf(ac) : null,
          proposedAbstractSyntaxes: [
            ...new Set(rq?.presentationContexts.map((p) => p.abstractSyntax ?? '') ?? []),
          ],
          accepted,
          ...extra,
        },
      });
    };
    let lastTs = conn.firstTs;
    const session = new DicomSession({
      hashPatientId: this.hash,
      onSkip: (reason) => countSkip(this.skips, reason),
      onMessage: (msg: DicomMessage, dir) => {
        if (msg.type === 'associate-rq') rq = msg;
        else if (msg.type === 'associate-ac') {
          ac = msg;
          assoc('accepted', lastTs);
        } else if (msg.type === 'associate-rj') {
          assoc('rejected', lastTs, {
            reject: { result: msg.result, source: msg.source, reason: msg.reason },
          });
          rq = null;
        } else if (msg.type === 'command') {
          this.counts.dicomCommands++;
          const a = rq ?? ac;
          const ds = msg.dataset;
          const input: EventInput = {
            kind: 'net.dicom.command',
            source: this.source,
            time: new Date(lastTs),
            device: this.deviceOf(conn, dir),
            net: this.netOf(conn, dir),
            data: {
              command: msg.command,
              commandField: msg.commandField,
              affectedSopClassUid: msg.affectedSopClassUid ?? null,
              status: msg.status ?? null,
              callingAe: a?.callingAe ?? null,
              calledAe: a?.calledAe ?? null,
              equipment: ds?.equipment ?? {},
              carriesPatientData: ds?.carriesPatientData ?? false,
            },
          };
          if (ds?.patientRef) input.patientRef = ds.patientRef;
          this.emit(input);
        }
      },
    });
    return {
      data: (dir, bytes, ts) => {
        lastTs = ts;
        session.data(dir, bytes);
      },
      close: () => {
        session.close();
        if (rq && !ac) assoc('unanswered', lastTs);
      },
    };
  }

  private hl7Handler(conn: TcpConnection): StreamHandler {
    conn.app = 'hl7';
    let lastTs = conn.firstTs;
    let curDir: 0 | 1 = 0;
    const onMessage = (m: Hl7Message) => {
      this.counts.hl7Messages++;
      const input: EventInput = {
        kind: 'net.hl7.message',
        source: this.source,
        time: new Date(lastTs),
        device: this.deviceOf(conn, curDir),
        net: this.netOf(conn, curDir),
        data: { ...m },
      };
      if (m.patientRefs[0]) input.patientRef = m.patientRefs[0];
      this.emit(input);
    };
    const opts = { hashPatientId: this.hash, onMessage, onSkip: (r: string) => countSkip(this.skips, r) };
    const streams = [new Hl7Stream(opts), new Hl7Stream(opts)] as const;
    return {
      data: (dir, bytes, ts) => {
        lastTs = ts;
        curDir = dir;
        streams[dir].data(bytes);
      },
      close: () => {
        curDir = 0;
        streams[0].close();
        curDir = 1;
        streams[1].close();
      },
    };
  }

  private tcpClosed(conn: TcpConnection, reason: CloseReason): void {
    if (!this.flows) return;
    this.emit({
      kind: 'net.flow',
      source: this.source,
      time: new Date(conn.firstTs),
      device: this.deviceOf(conn, 0),
      net: this.netOf(conn, 0),
      data: {
        transport: 'tcp',
        app: conn.app,
        packetsToServer: conn.packets[0],
        packetsToClient: conn.packets[1],
        bytesToServer: conn.bytes[0],
        bytesToClient: conn.bytes[1],
        durationMs: Math.round((conn.lastTs - conn.firstTs) * 1000) / 1000,
        sawSyn: conn.sawSyn,
        end: reason,
      },
    });
  }

  private udpPacket(r: CaptureRecord, pkt: DecodedPacket): void {
    if (r.ts - this.lastUdpSweep >= 1000) {
      this.lastUdpSweep = r.ts;
      for (const f of [...this.udp.values()]) if (r.ts - f.lastTs > this.idleMs) this.udpClosed(f, 'idle');
    }
    const a = `${pkt.ip.src}|${pkt.srcPort}`;
    const b = `${pkt.ip.dst}|${pkt.dstPort}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let f = this.udp.get(key);
    if (!f) {
      f = {
        key,
        src: pkt.ip.src,
        srcPort: pkt.srcPort,
        dst: pkt.ip.dst,
        dstPort: pkt.dstPort,
        firstTs: r.ts,
        lastTs: r.ts,
        packets: 0,
        bytes: 0,
      };
      this.udp.set(key, f);
      this.counts.udpFlows++;
      if (this.udp.size > this.maxUdp) {
        const oldest = this.udp.values().next();
        if (!oldest.done) this.udpClosed(oldest.value, 'evicted');
      }
    }
    f.lastTs = r.ts;
    f.packets++;
    f.bytes += r.origLen;
  }

  private udpClosed(f: UdpFlow, reason: CloseReason): void {
    this.udp.delete(f.key);
    if (!this.flows) return;
    this.emit({
      kind: 'net.flow',
      source: this.source,
      time: new Date(f.firstTs),
      device: { ip: f.src },
      net: { srcIp: f.src, srcPort: f.srcPort, dstIp: f.dst, dstPort: f.dstPort, proto: 'udp' },
      data: {
        transport: 'udp',
        app: null,
        packets: f.packets,
        bytes: f.bytes,
        durationMs: Math.round((f.lastTs - f.firstTs) * 1000) / 1000,
        end: reason,
      },
    });
  }
}

function implOf(a: DicomAssociate): Record<string, unknown> {
  return {
    implementationClassUid: a.implementationClassUid ?? null,
    implementationVersionName: a.implementationVersionName ?? null,
    maxPduLength: a.maxPduLength ?? null,
  };
}
