/**
 * @module sensor/sensor
 * Ties the sensor together: capture records → decoders → TCP first-bytes reassembly → DICOM,
 * HL7, TLS and HTTP parsers, and UDP datagrams → DHCP, DNS, WS-Discovery and IntelliVue parsers
 * → normalised `VigilEvent`s (`net.dicom.association`, `net.dicom.command`, `net.hl7.message`,
 * `net.tls.handshake`, `net.http.request`, `net.http.response`, `net.dhcp`, `net.dns`,
 * `net.ws-discovery`, `net.intellivue`, `net.flow`) handed to a callback; the bus wiring lives
 * elsewhere. Events of tagged frames carry `data.vlan` (and `data.innerVlan` for 802.1ad). Pure
 * apart from reading the stream it is given, so it runs in a test without a server.
 */
import type { Readable } from 'node:stream';
import { type EventInput, makeEvent, type VigilEvent } from '../core/events.js';
import { CaptureReader } from './capture-reader.js';
import { type CaptureRecord, countSkip, type SkipCounts } from './capture-types.js';
import { type DecodedPacket, decodePacket, PROTO_TCP, PROTO_UDP } from './decode.js';
import { parseDhcp } from './dhcp.js';
import { type DicomAssociate, type DicomMessage, DicomSession, looksLikeDicom } from './dicom.js';
import { dnsTypeName, parseDns } from './dns.js';
import { type Hl7Message, Hl7Stream } from './hl7.js';
import { type HttpHead, headEnd, looksLikeHttp, MAX_HTTP_HEAD, parseHttpHead } from './http.js';
import { INTELLIVUE_CONNECT_PORT, INTELLIVUE_PROTOCOL_PORT, parseIntellivue } from './intellivue.js';
import { makePatientIdHasher, type PatientIdHasher } from './keyed-hash.js';
import { type CloseReason, type StreamHandler, type TcpConnection, TcpReassembler } from './reassembly.js';
import {
  type CertificateNames,
  type ClientHello,
  HandshakeType,
  looksLikeTls,
  parseCertificateMessage,
  parseClientHello,
  parseServerHello,
  type ServerHello,
  TlsHandshakeReader,
} from './tls.js';
import { ja3, ja3s, ja4 } from './tls-fingerprint.js';
import { parseWsDiscovery } from './ws-discovery.js';

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
  /**
   * Hosts taking part in those connections: distinct unicast addresses (a multicast or broadcast
   * destination is not a host). Counting stops at 262,144 to keep memory bounded.
   */
  devices: number;
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
  tlsHandshakes: number;
  httpMessages: number;
  dhcpMessages: number;
  dnsMessages: number;
  wsDiscoveryMessages: number;
  intellivueMessages: number;
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
  vlans?: number[];
}

type EventData = Record<string, unknown>;

/** The VLAN part of an event's data: the outer tag, and the inner one of a double-tagged frame. */
function vlanData(vlans: number[] | undefined): EventData {
  if (!vlans) return {};
  return vlans.length > 1 ? { vlan: vlans[0], innerVlan: vlans[1] } : { vlan: vlans[0] };
}

const DNS_PORTS: Record<number, string> = { 53: 'dns', 5353: 'mdns', 5355: 'llmnr' };

const MAX_HOSTS = 262_144;

/** IPv4 multicast (224/4), limited broadcast, the unspecified address and IPv6 multicast (ff00::/8). */
function isGroupAddress(ip: string): boolean {
  if (ip.includes(':')) return ip.startsWith('ff') || ip === '::';
  const first = Number.parseInt(ip, 10);
  return (first >= 224 && first <= 239) || ip === '255.255.255.255' || ip === '0.0.0.0';
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
    tlsHandshakes: 0,
    httpMessages: 0,
    dhcpMessages: 0,
    dnsMessages: 0,
    wsDiscoveryMessages: 0,
    intellivueMessages: 0,
  };
  private finished = false;
  private readonly hosts = new Set<string>();

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
      opened: (conn) => {
        this.noteHost(conn.client.ip);
        this.noteHost(conn.server.ip);
      },
    });
  }

  /** Counts a host of a connection once (bounded; group addresses are not hosts). */
  private noteHost(ip: string): void {
    if (this.hosts.size >= MAX_HOSTS || this.hosts.has(ip) || isGroupAddress(ip)) return;
    this.hosts.add(ip);
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
        vlans: pkt.vlans,
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
      devices: this.hosts.size,
      skipped,
      stopped: this.reader.stopped,
      nonIp: this.counts.nonIp,
      fragments: this.counts.fragments,
      dicomAssociations: this.counts.dicomAssociations,
      dicomCommands: this.counts.dicomCommands,
      hl7Messages: this.counts.hl7Messages,
      tlsHandshakes: this.counts.tlsHandshakes,
      httpMessages: this.counts.httpMessages,
      dhcpMessages: this.counts.dhcpMessages,
      dnsMessages: this.counts.dnsMessages,
      wsDiscoveryMessages: this.counts.wsDiscoveryMessages,
      intellivueMessages: this.counts.intellivueMessages,
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
    if (looksLikeTls(first)) return this.tlsHandler(conn);
    if (looksLikeHttp(first)) return this.httpHandler(conn);
    return null;
  }

  private tlsHandler(conn: TcpConnection): StreamHandler {
    conn.app = 'tls';
    let ch: ClientHello | null = null;
    let sh: ServerHello | null = null;
    let cert: CertificateNames | null = null;
    let lastTs = conn.firstTs;
    let emitted = false;
    const skip = (r: string) => countSkip(this.skips, r);
    const emit = () => {
      if (emitted || (!ch && !sh)) return;
      emitted = true;
      this.counts.tlsHandshakes++;
      const data: EventData = { ...vlanData(conn.vlans) };
      if (ch) {
        data.clientVersion = ch.version;
        data.serverName = ch.serverName ?? null;
        data.alpn = ch.alpn;
        data.ja3 = ja3(ch);
        data.ja4 = ja4(ch);
      }
      if (sh) {
        data.version = sh.selectedVersion ?? sh.version;
        data.cipher = sh.cipher;
        data.serverAlpn = sh.alpn ?? null;
        data.ja3s = ja3s(sh);
      }
      if (cert) data.certificate = cert;
      this.emit({
        kind: 'net.tls.handshake',
        source: this.source,
        time: new Date(lastTs),
        device: this.deviceOf(conn, 0),
        net: this.netOf(conn, 0),
        data,
      });
    };
    // The client's first message is its ClientHello; the server's ServerHello is followed, before
    // TLS 1.3, by its certificate in clear.
    const client = new TlsHandshakeReader((type, body) => {
      if (type !== HandshakeType.ClientHello) return true;
      const r = parseClientHello(body);
      if (typeof r === 'string') skip(r);
      else ch = r;
      return true;
    });
    const server = new TlsHandshakeReader((type, body) => {
      if (type === HandshakeType.ServerHello) {
        const r = parseServerHello(body);
        if (typeof r === 'string') {
          skip(r);
          return true;
        }
        sh = r;
        return (r.selectedVersion ?? r.version) >= 0x0304;
      }
      if (type === HandshakeType.Certificate) {
        const r = parseCertificateMessage(body);
        if (typeof r === 'string') skip(r);
        else cert = r;
      }
      return true;
    });
    return {
      data: (dir, bytes, ts) => {
        lastTs = ts;
        const reader = dir === 0 ? client : server;
        if (reader.done) return;
        reader.push(bytes);
        if (reader.failed) skip(reader.failed);
        if (client.done && server.done) {
          emit();
          this.tcp.stopData(conn);
        }
      },
      close: () => emit(),
    };
  }

  private httpHandler(conn: TcpConnection): StreamHandler {
    conn.app = 'http';
    const held: [Buffer | null, Buffer | null] = [null, null];
    const done = [false, false];
    const finish = (dir: 0 | 1) => {
      done[dir] = true;
      held[dir] = null;
      if (done[0] && done[1]) this.tcp.stopData(conn);
    };
    const head = (dir: 0 | 1, b: Buffer, ts: number) => {
      const h = parseHttpHead(b);
      if (typeof h === 'string') countSkip(this.skips, h);
      else this.httpEvent(conn, dir, h, ts);
      finish(dir);
    };
    let lastTs = conn.firstTs;
    return {
      data: (dir, bytes, ts) => {
        lastTs = ts;
        if (done[dir]) return;
        const prev = held[dir];
        if (!prev && !looksLikeHttp(bytes)) {
          // Not HTTP/1.x in this direction (TLS after CONNECT, a binary protocol): stop looking.
          countSkip(this.skips, 'http-not-http');
          finish(dir);
          return;
        }
        const b = prev ? Buffer.concat([prev, bytes]) : bytes;
        const end = headEnd(b);
        if (end >= 0) head(dir, b.subarray(0, end), ts);
        else if (b.length >= MAX_HTTP_HEAD) head(dir, b.subarray(0, MAX_HTTP_HEAD), ts);
        // Keep a copy: the capture's buffer must not be pinned by a partial head.
        else held[dir] = prev ? b : Buffer.from(b);
      },
      close: () => {
        for (const dir of [0, 1] as const) {
          const b = held[dir];
          if (b && !done[dir]) head(dir, b, lastTs);
        }
      },
    };
  }

  private httpEvent(conn: TcpConnection, dir: 0 | 1, h: HttpHead, ts: number): void {
    this.counts.httpMessages++;
    const { type, ...fields } = h;
    this.emit({
      kind: type === 'request' ? 'net.http.request' : 'net.http.response',
      source: this.source,
      time: new Date(ts),
      device: this.deviceOf(conn, dir),
      net: this.netOf(conn, dir),
      data: { ...vlanData(conn.vlans), ...fields },
    });
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
          ...vlanData(conn.vlans),
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
              ...vlanData(conn.vlans),
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
        data: { ...vlanData(conn.vlans), ...m },
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
        ...vlanData(conn.vlans),
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
      if (pkt.vlans) f.vlans = pkt.vlans;
      this.udp.set(key, f);
      this.counts.udpFlows++;
      this.noteHost(f.src);
      this.noteHost(f.dst);
      if (this.udp.size > this.maxUdp) {
        const oldest = this.udp.values().next();
        if (!oldest.done) this.udpClosed(oldest.value, 'evicted');
      }
    }
    f.lastTs = r.ts;
    f.packets++;
    f.bytes += r.origLen;
    if (pkt.payload.length > 0 && pkt.ip.fragment === undefined) this.udpApp(r, pkt);
  }

  /** Application protocols of a UDP datagram, by port (the payload is then checked). */
  private udpApp(r: CaptureRecord, pkt: DecodedPacket): void {
    const sp = pkt.srcPort;
    const dp = pkt.dstPort;
    if (sp === 67 || sp === 68 || dp === 67 || dp === 68) this.dhcp(r, pkt);
    else if (DNS_PORTS[dp] || DNS_PORTS[sp]) this.dns(r, pkt, DNS_PORTS[dp] ?? DNS_PORTS[sp]!);
    else if (dp === 3702 || sp === 3702) this.wsDiscovery(r, pkt);
    else if (
      dp === INTELLIVUE_PROTOCOL_PORT ||
      sp === INTELLIVUE_PROTOCOL_PORT ||
      dp === INTELLIVUE_CONNECT_PORT
    )
      this.intellivue(r, pkt);
  }

  private udpNet(pkt: DecodedPacket): NonNullable<EventInput['net']> {
    return { srcIp: pkt.ip.src, srcPort: pkt.srcPort, dstIp: pkt.ip.dst, dstPort: pkt.dstPort, proto: 'udp' };
  }

  private udpDevice(pkt: DecodedPacket): NonNullable<EventInput['device']> {
    return pkt.srcMac ? { ip: pkt.ip.src, mac: pkt.srcMac } : { ip: pkt.ip.src };
  }

  private dhcp(r: CaptureRecord, pkt: DecodedPacket): void {
    const m = parseDhcp(pkt.payload);
    if (typeof m === 'string') {
      countSkip(this.skips, m);
      return;
    }
    this.counts.dhcpMessages++;
    // The event is about the client: its hardware address, and its address when one is known.
    const device: NonNullable<EventInput['device']> = {};
    const mac = m.clientMac ?? (m.op === 1 ? pkt.srcMac : undefined);
    if (mac) device.mac = mac;
    const ip = m.op === 1 ? (m.clientIp ?? m.requestedIp) : m.messageType === 'ack' ? m.yourIp : undefined;
    if (ip) device.ip = ip;
    this.emit({
      kind: 'net.dhcp',
      source: this.source,
      time: new Date(r.ts),
      device,
      net: this.udpNet(pkt),
      data: { ...vlanData(pkt.vlans), ...m },
    });
  }

  private dns(r: CaptureRecord, pkt: DecodedPacket, protocol: string): void {
    const m = parseDns(pkt.payload);
    if (typeof m === 'string') {
      countSkip(this.skips, m);
      return;
    }
    this.counts.dnsMessages++;
    this.emit({
      kind: 'net.dns',
      source: this.source,
      time: new Date(r.ts),
      device: this.udpDevice(pkt),
      net: this.udpNet(pkt),
      data: {
        ...vlanData(pkt.vlans),
        protocol,
        id: m.id,
        response: m.response,
        opcode: m.opcode,
        rcode: m.rcode,
        authoritative: m.authoritative,
        truncated: m.truncated,
        incomplete: m.incomplete,
        questions: m.questions.map((q) => ({ name: q.name, type: dnsTypeName(q.type) })),
        answers: m.answers.map((a) => ({ ...a, type: dnsTypeName(a.type) })),
      },
    });
  }

  private wsDiscovery(r: CaptureRecord, pkt: DecodedPacket): void {
    const m = parseWsDiscovery(pkt.payload, this.hash);
    if (typeof m === 'string') {
      countSkip(this.skips, m);
      return;
    }
    this.counts.wsDiscoveryMessages++;
    const { patientRefs, ...data } = m;
    const input: EventInput = {
      kind: 'net.ws-discovery',
      source: this.source,
      time: new Date(r.ts),
      device: this.udpDevice(pkt),
      net: this.udpNet(pkt),
      data: { ...vlanData(pkt.vlans), ...data, carriesPatientData: patientRefs.length > 0 },
    };
    if (patientRefs[0]) input.patientRef = patientRefs[0];
    this.emit(input);
  }

  private intellivue(r: CaptureRecord, pkt: DecodedPacket): void {
    const m = parseIntellivue(pkt.payload);
    if (typeof m === 'string') {
      countSkip(this.skips, m);
      return;
    }
    this.counts.intellivueMessages++;
    this.emit({
      kind: 'net.intellivue',
      source: this.source,
      time: new Date(r.ts),
      device: this.udpDevice(pkt),
      net: this.udpNet(pkt),
      data: { ...vlanData(pkt.vlans), ...m },
    });
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
        ...vlanData(f.vlans),
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
