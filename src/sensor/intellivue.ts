/**
 * @module sensor/intellivue
 * Philips IntelliVue Data Export (the monitors' LAN protocol, UDP): the Connect Indication a
 * monitor broadcasts to port 24005, the association control messages and the data export
 * messages on port 24105. The sensor identifies the protocol and, from Connect Indication and
 * MDS Create event reports, the monitor's identity attributes: manufacturer and model, serial
 * number and software revision, its own network address and the protocols it offers. Patient
 * demographics are never read. Every length is checked against the datagram.
 */
import { formatIpv4 } from './ip.js';
import { formatMac } from './link.js';

export const INTELLIVUE_CONNECT_PORT = 24005;
export const INTELLIVUE_PROTOCOL_PORT = 24105;

/** What the sensor keeps of an IntelliVue message. */
export interface IntellivueMessage {
  /**
   * `connect-indication`, `mds-create`, `data-export` (other remote operations), or an
   * association control message: `association-request`, `association-response`,
   * `association-refuse`, `release-request`, `release-response`, `abort`.
   */
  message: string;
  /** Remote operation type (`invoke`, `result`, `error`, `linked-result`) of data export messages. */
  operation?: string;
  manufacturer?: string;
  model?: string;
  serialNumber?: string;
  softwareRevision?: string;
  /** NOM_ATTR_SYS_TYPE code (partition:code). */
  systemType?: string;
  /** NOM_ATTR_NET_ADDR_INFO: the monitor's own addresses. */
  macAddress?: string;
  ipAddress?: string;
  /** NOM_ATTR_PCOL_SUPPORT: application protocol, transport and port per entry. */
  protocols?: Array<{ application: number; transport: number; port: number }>;
}

const SESSION: Record<number, string> = {
  13: 'association-request',
  14: 'association-response',
  12: 'association-refuse',
  9: 'release-request',
  10: 'release-response',
  25: 'abort',
};

const RO_TYPES: Record<number, string> = { 1: 'invoke', 2: 'result', 3: 'error', 5: 'linked-result' };

const NOM_NOTI_MDS_CREAT = 0x0d06;
const NOM_NOTI_CONN_INDIC = 0x0d17;
const NOM_ATTR_ID_MODEL = 0x0928;
const NOM_ATTR_ID_PROD_SPECN = 0x092d;
const NOM_ATTR_SYS_TYPE = 0x0986;
const NOM_ATTR_NET_ADDR_INFO = 0xf100;
const NOM_ATTR_PCOL_SUPPORT = 0xf101;
const MAX_ATTRIBUTES = 64;

/** Parses an IntelliVue datagram, or returns why it is not one. */
export function parseIntellivue(b: Buffer): IntellivueMessage | string {
  if (b.length < 4) return 'intellivue-truncated';
  const session = SESSION[b[0]!];
  if (session) {
    // Session header: type, then a length indicator of one byte, or 0xff and two bytes.
    const li = b[1]!;
    const total = li === 0xff ? (b.length >= 4 ? 4 + b.readUInt16BE(2) : -1) : 2 + li;
    if (total < 0 || total > b.length) return 'intellivue-bad-length';
    return { message: session };
  }
  // A remote operation, after the 4-byte Nomenclature (connect indication) or SPpdu (0xE100).
  if (b.length < 8) return 'intellivue-truncated';
  const connect = b.readUInt32BE(0) === 0x00000100;
  if (!connect && b.readUInt16BE(0) !== 0xe100) return 'intellivue-unknown';
  const roType = b.readUInt16BE(4);
  const operation = RO_TYPES[roType];
  if (!operation || 8 + b.readUInt16BE(6) > b.length) return 'intellivue-bad-length';
  const msg: IntellivueMessage = { message: connect ? 'connect-indication' : 'data-export', operation };
  // An event report (ROIV, command 0 or 1): managed object, time, type, length, then the info.
  if (roType !== 1 || b.length < 28) return msg;
  const command = b.readUInt16BE(10);
  if (command !== 0 && command !== 1) return msg;
  const event = b.readUInt16BE(24);
  const argEnd = Math.min(b.length, 28 + b.readUInt16BE(26));
  if (event === NOM_NOTI_CONN_INDIC) attributes(msg, b, 28, argEnd);
  else if (event === NOM_NOTI_MDS_CREAT && !connect) {
    msg.message = 'mds-create';
    attributes(msg, b, 34, argEnd); // after the MDS's managed object id
  }
  return msg;
}

/** A VariableLabel (u16 length, bytes) at `p` within `end`, as trimmed text. */
function label(b: Buffer, p: number, end: number): { text: string; next: number } | null {
  if (p + 2 > end) return null;
  const n = b.readUInt16BE(p);
  if (p + 2 + n > end) return null;
  // Text ends at the first NUL (labels are padded, sometimes with stray bytes after it).
  let z = b.indexOf(0, p + 2);
  if (z < 0 || z > p + 2 + n) z = p + 2 + n;
  while (z > p + 2 && b[z - 1]! <= 0x20) z--;
  let a = p + 2;
  while (a < z && b[a] === 0x20) a++;
  return { text: b.toString('latin1', a, z), next: p + 2 + n };
}

/** An AttributeList (count, length, then id/length/value) at `p`. */
function attributes(msg: IntellivueMessage, b: Buffer, p: number, end: number): void {
  if (p + 4 > end) return;
  const count = b.readUInt16BE(p);
  const stop = Math.min(end, p + 4 + b.readUInt16BE(p + 2));
  p += 4;
  for (let i = 0; i < count && i < MAX_ATTRIBUTES && p + 4 <= stop; i++) {
    const id = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const v = p + 4;
    if (v + len > stop) return;
    attribute(msg, b, id, v, v + len);
    p = v + len;
  }
}

function attribute(msg: IntellivueMessage, b: Buffer, id: number, v: number, end: number): void {
  switch (id) {
    case NOM_ATTR_ID_MODEL: {
      const mfr = label(b, v, end);
      const model = mfr && label(b, mfr.next, end);
      if (mfr?.text) msg.manufacturer = mfr.text;
      if (model?.text) msg.model = model.text;
      return;
    }
    case NOM_ATTR_ID_PROD_SPECN: {
      if (v + 4 > end) return;
      const count = b.readUInt16BE(v);
      let p = v + 4;
      for (let i = 0; i < count && i < 32 && p + 4 <= end; i++) {
        const specType = b.readUInt16BE(p);
        const text = label(b, p + 4, end);
        if (!text) return;
        // ProdSpecEntry spec types: 1 serial number, 4 software revision.
        if (specType === 1 && msg.serialNumber === undefined && text.text) msg.serialNumber = text.text;
        if (specType === 4 && msg.softwareRevision === undefined && text.text)
          msg.softwareRevision = text.text;
        p = text.next;
      }
      return;
    }
    case NOM_ATTR_SYS_TYPE:
      if (end - v >= 4) msg.systemType = `${b.readUInt16BE(v)}:${b.readUInt16BE(v + 2)}`;
      return;
    case NOM_ATTR_NET_ADDR_INFO:
      if (end - v >= 10 && msg.ipAddress === undefined) {
        msg.macAddress = formatMac(b, v);
        msg.ipAddress = formatIpv4(b, v + 6);
      }
      return;
    case NOM_ATTR_PCOL_SUPPORT: {
      if (v + 4 > end || msg.protocols) return;
      const count = b.readUInt16BE(v);
      const protocols: NonNullable<IntellivueMessage['protocols']> = [];
      for (let i = 0, p = v + 4; i < count && i < 16 && p + 8 <= end; i++, p += 8)
        protocols.push({
          application: b.readUInt16BE(p),
          transport: b.readUInt16BE(p + 2),
          port: b.readUInt16BE(p + 4),
        });
      msg.protocols = protocols;
      return;
    }
    default:
      return;
  }
}
