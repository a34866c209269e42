/**
 * @module sensor/dicom
 * The DICOM Upper Layer protocol (PS3.8), hand-written: A-ASSOCIATE-RQ/AC/RJ, P-DATA-TF with
 * PDVs reassembled across PDUs, release and abort. Command sets name the DIMSE operation;
 * datasets yield only equipment identity (see `dicom-dataset.ts`). Bogus lengths end the parse of
 * that direction with a reason, never an exception.
 */
import { type DicomDatasetInfo, looksExplicit, parseDataset, trimDicom } from './dicom-dataset.js';
import type { PatientIdHasher } from './keyed-hash.js';

/** A presentation context as proposed (RQ) or answered (AC). */
export interface PresentationContext {
  id: number;
  abstractSyntax?: string;
  transferSyntaxes: string[];
  /** AC only: 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax, 4 transfer syntax. */
  result?: number;
}

/** An A-ASSOCIATE-RQ or -AC: who talks to whom, with which implementation. */
export interface DicomAssociate {
  type: 'associate-rq' | 'associate-ac';
  calledAe: string;
  callingAe: string;
  applicationContext?: string;
  presentationContexts: PresentationContext[];
  maxPduLength?: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
}

/** An A-ASSOCIATE-RJ. */
export interface DicomReject {
  type: 'associate-rj';
  result: number;
  source: number;
  reason: number;
}

/** A DIMSE command set, with what the sensor keeps of its dataset when one followed. */
export interface DicomCommand {
  type: 'command';
  contextId: number;
  commandField: number;
  /** `C-STORE-RQ`, `C-ECHO-RSP`, … (`UNKNOWN-0x…` otherwise). */
  command: string;
  affectedSopClassUid?: string;
  messageId?: number;
  status?: number;
  dataset?: DicomDatasetInfo;
}

/** Release and abort PDUs. */
export interface DicomControl {
  type: 'release-rq' | 'release-rp' | 'abort';
}

export type DicomMessage = DicomAssociate | DicomReject | DicomCommand | DicomControl;

const COMMANDS: Record<number, string> = {
  1: 'C-STORE-RQ',
  32769: 'C-STORE-RSP',
  16: 'C-GET-RQ',
  32784: 'C-GET-RSP',
  32: 'C-FIND-RQ',
  32800: 'C-FIND-RSP',
  33: 'C-MOVE-RQ',
  32801: 'C-MOVE-RSP',
  48: 'C-ECHO-RQ',
  32816: 'C-ECHO-RSP',
  256: 'N-EVENT-REPORT-RQ',
  33024: 'N-EVENT-REPORT-RSP',
  272: 'N-GET-RQ',
  33040: 'N-GET-RSP',
  288: 'N-SET-RQ',
  33056: 'N-SET-RSP',
  304: 'N-ACTION-RQ',
  33072: 'N-ACTION-RSP',
  320: 'N-CREATE-RQ',
  33088: 'N-CREATE-RSP',
  336: 'N-DELETE-RQ',
  33104: 'N-DELETE-RSP',
  4095: 'C-CANCEL-RQ',
};

/** The name of a DIMSE Command Field value. */
export function commandName(field: number): string {
  return COMMANDS[field] ?? `UNKNOWN-0x${field.toString(16).padStart(4, '0')}`;
}

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';
/** PDUs larger than this are taken as corrupt (associate PDUs are small; P-DATA is bounded by max PDU). */
const MAX_PDU = 64 * 1024 * 1024;
const MAX_ASSOC_PDU = 1024 * 1024;

/** True when `buf` starts like an A-ASSOCIATE-RQ or -AC: the sniff the sensor uses on any port. */
export function looksLikeDicom(buf: Buffer): boolean {
  if (buf.length < 10) return false;
  const len = buf.readUInt32BE(2);
  return (
    (buf[0] === 0x01 || buf[0] === 0x02) &&
    buf[1] === 0 &&
    buf.readUInt16BE(6) === 1 &&
    len >= 68 &&
    len <= MAX_ASSOC_PDU
  );
}

function ascii(buf: Buffer, start: number, end: number): string {
  return trimDicom(buf.toString('latin1', start, end));
}

/** Parses the body of an A-ASSOCIATE-RQ/AC PDU (`pdu` is the whole PDU, header included). */
export function parseAssociate(pdu: Buffer): DicomAssociate | string {
  if (pdu.length < 74) return 'short-associate';
  const type = pdu[0] === 1 ? 'associate-rq' : 'associate-ac';
  const out: DicomAssociate = {
    type,
    calledAe: ascii(pdu, 10, 26),
    callingAe: ascii(pdu, 26, 42),
    presentationContexts: [],
  };
  let p = 74;
  while (p + 4 <= pdu.length) {
    const itype = pdu[p]!;
    const ilen = pdu.readUInt16BE(p + 2);
    const start = p + 4;
    const end = start + ilen;
    if (end > pdu.length) return 'bogus-item-length';
    if (itype === 0x10) out.applicationContext = ascii(pdu, start, end);
    else if ((itype === 0x20 || itype === 0x21) && ilen >= 4) {
      const pc: PresentationContext = { id: pdu[start]!, transferSyntaxes: [] };
      if (itype === 0x21) pc.result = pdu[start + 2]!;
      let q = start + 4;
      while (q + 4 <= end) {
        const stype = pdu[q]!;
        const slen = pdu.readUInt16BE(q + 2);
        if (q + 4 + slen > end) return 'bogus-item-length';
        const v = ascii(pdu, q + 4, q + 4 + slen);
        if (stype === 0x30) pc.abstractSyntax = v;
        else if (stype === 0x40) pc.transferSyntaxes.push(v);
        q += 4 + slen;
      }
      out.presentationContexts.push(pc);
    } else if (itype === 0x50) {
      let q = start;
      while (q + 4 <= end) {
        const stype = pdu[q]!;
        const slen = pdu.readUInt16BE(q + 2);
        if (q + 4 + slen > end) return 'bogus-item-length';
        if (stype === 0x51 && slen === 4) out.maxPduLength = pdu.readUInt32BE(q + 4);
        else if (stype === 0x52) out.implementationClassUid = ascii(pdu, q + 4, q + 4 + slen);
        else if (stype === 0x55) out.implementationVersionName = ascii(pdu, q + 4, q + 4 + slen);
        q += 4 + slen;
      }
    }
    p = end;
  }
  return out;
}

/** Parses a command set (always implicit VR little endian). */
export function parseCommand(contextId: number, buf: Buffer): DicomCommand | string {
  const cmd: DicomCommand = { type: 'command', contextId, commandField: -1, command: '' };
  let p = 0;
  while (p + 8 <= buf.length) {
    const group = buf.readUInt16LE(p);
    const elem = buf.readUInt16LE(p + 2);
    const len = buf.readUInt32LE(p + 4);
    const v = p + 8;
    if (group !== 0x0000) return 'not-a-command-set';
    if (v + len > buf.length) return 'bogus-element-length';
    if (elem === 0x0002) cmd.affectedSopClassUid = ascii(buf, v, v + len);
    else if (elem === 0x0100 && len >= 2) cmd.commandField = buf.readUInt16LE(v);
    else if (elem === 0x0110 && len >= 2) cmd.messageId = buf.readUInt16LE(v);
    else if (elem === 0x0900 && len >= 2) cmd.status = buf.readUInt16LE(v);
    p = v + len;
  }
  if (cmd.commandField < 0) return 'no-command-field';
  cmd.command = commandName(cmd.commandField);
  return cmd;
}

interface DirState {
  buf: Buffer;
  /** Parsing of this direction stopped (bogus data). */
  dead: boolean;
  /** PDV fragments waiting for their last fragment, per context and kind. */
  command: Buffer[];
  commandCtx: number;
  dataset: Buffer[];
  datasetCtx: number;
}

/** Options of a `DicomSession`. */
export interface DicomSessionOptions {
  hashPatientId: PatientIdHasher;
  onMessage(msg: DicomMessage, dir: 0 | 1): void;
  /** Called with a reason when something is skipped. */
  onSkip?(reason: string): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * One DICOM association over one TCP connection: fed the in-order bytes of each direction,
 * emits associate, command (with its dataset's equipment) and control messages.
 */
export class DicomSession {
  private readonly dirs: [DirState, DirState];
  private readonly transfer = new Map<number, string>();
  /** Command sets waiting for their dataset, per direction. */
  private readonly waiting: [DicomCommand | null, DicomCommand | null] = [null, null];

  constructor(private readonly options: DicomSessionOptions) {
    const dir = (): DirState => ({
      buf: EMPTY,
      dead: false,
      command: [],
      commandCtx: -1,
      dataset: [],
      datasetCtx: -1,
    });
    this.dirs = [dir(), dir()];
  }

  /** Feeds in-order bytes of one direction. */
  data(dir: 0 | 1, bytes: Buffer): void {
    const d = this.dirs[dir];
    if (d.dead) return;
    d.buf = d.buf.length ? Buffer.concat([d.buf, bytes]) : bytes;
    let p = 0;
    while (p + 6 <= d.buf.length && !d.dead) {
      const len = d.buf.readUInt32BE(p + 2);
      if (!this.headerOk(d, d.buf[p]!, len)) break;
      if (p + 6 + len > d.buf.length) break;
      this.pdu(dir, d.buf.subarray(p, p + 6 + len), false);
      p += 6 + len;
    }
    d.buf = p >= d.buf.length ? EMPTY : Buffer.from(d.buf.subarray(p));
  }

  /** The connection ended (or its prefix did): parse what is left leniently and flush. */
  close(): void {
    for (const dir of [0, 1] as const) {
      const d = this.dirs[dir];
      if (!d.dead && d.buf.length >= 6 && this.headerOk(d, d.buf[0]!, d.buf.readUInt32BE(2))) {
        this.pdu(dir, d.buf, true);
      }
      d.buf = EMPTY;
      if (d.command.length) this.finishCommand(dir, d);
      if (d.dataset.length) this.finishDataset(dir, d);
      const w = this.waiting[dir];
      if (w) {
        this.waiting[dir] = null;
        this.options.onMessage(w, dir);
      }
    }
  }

  private headerOk(d: DirState, type: number, len: number): boolean {
    const bad =
      type < 1 || type > 7
        ? 'bad-pdu-type'
        : len > (type === 4 ? MAX_PDU : MAX_ASSOC_PDU)
          ? 'bogus-pdu-length'
          : '';
    if (!bad) return true;
    d.dead = true;
    this.options.onSkip?.(`dicom-${bad}`);
    return false;
  }

  private pdu(dir: 0 | 1, pdu: Buffer, partial: boolean): void {
    const type = pdu[0]!;
    switch (type) {
      case 1:
      case 2: {
        if (partial) {
          this.options.onSkip?.('dicom-truncated-associate');
          return;
        }
        const a = parseAssociate(pdu);
        if (typeof a === 'string') {
          this.options.onSkip?.(`dicom-${a}`);
          return;
        }
        for (const pc of a.presentationContexts) {
          if (type === 2 && pc.result === 0 && pc.transferSyntaxes[0])
            this.transfer.set(pc.id, pc.transferSyntaxes[0]);
        }
        this.options.onMessage(a, dir);
        return;
      }
      case 3:
        if (pdu.length >= 10)
          this.options.onMessage(
            { type: 'associate-rj', result: pdu[7]!, source: pdu[8]!, reason: pdu[9]! },
            dir,
          );
        return;
      case 4:
        this.pdata(dir, pdu, partial);
        return;
      case 5:
        this.options.onMessage({ type: 'release-rq' }, dir);
        return;
      case 6:
        this.options.onMessage({ type: 'release-rp' }, dir);
        return;
      case 7:
        this.options.onMessage({ type: 'abort' }, dir);
        return;
    }
  }

  private pdata(dir: 0 | 1, pdu: Buffer, partial: boolean): void {
    const d = this.dirs[dir];
    let p = 6;
    while (p + 6 <= pdu.length) {
      const ilen = pdu.readUInt32BE(p);
      if (ilen < 2) {
        this.options.onSkip?.('dicom-bogus-pdv-length');
        return;
      }
      const ctx = pdu[p + 4]!;
      const mch = pdu[p + 5]!;
      const start = p + 6;
      let end = p + 4 + ilen;
      if (end > pdu.length) {
        if (!partial) {
          this.options.onSkip?.('dicom-bogus-pdv-length');
          return;
        }
        end = pdu.length;
      }
      const frag = pdu.subarray(start, end);
      const last = (mch & 0x02) !== 0 && end === p + 4 + ilen;
      if (mch & 0x01) {
        d.command.push(Buffer.from(frag));
        d.commandCtx = ctx;
        if (last) this.finishCommand(dir, d);
      } else {
        d.dataset.push(Buffer.from(frag));
        d.datasetCtx = ctx;
        if (last) this.finishDataset(dir, d);
      }
      p = end;
    }
  }

  private finishCommand(dir: 0 | 1, d: DirState): void {
    const buf = Buffer.concat(d.command);
    d.command = [];
    const c = parseCommand(d.commandCtx, buf);
    if (typeof c === 'string') {
      this.options.onSkip?.(`dicom-${c}`);
      return;
    }
    const prev = this.waiting[dir];
    if (prev) this.options.onMessage(prev, dir);
    this.waiting[dir] = null;
    // Command Data Set Type 0x0101 means no dataset follows; the others wait for theirs.
    if (this.hasDataset(buf)) this.waiting[dir] = c;
    else this.options.onMessage(c, dir);
  }

  private hasDataset(cmd: Buffer): boolean {
    let p = 0;
    while (p + 8 <= cmd.length) {
      const elem = cmd.readUInt16LE(p + 2);
      const len = cmd.readUInt32LE(p + 4);
      if (elem === 0x0800 && len >= 2 && p + 10 <= cmd.length) return cmd.readUInt16LE(p + 8) !== 0x0101;
      p += 8 + len;
    }
    return false;
  }

  private finishDataset(dir: 0 | 1, d: DirState): void {
    const buf = Buffer.concat(d.dataset);
    d.dataset = [];
    const ts = this.transfer.get(d.datasetCtx);
    let info: DicomDatasetInfo;
    if (ts === DEFLATED || ts === EXPLICIT_BE) {
      this.options.onSkip?.('dicom-unsupported-transfer-syntax');
      info = { equipment: {}, carriesPatientData: false, error: 'unsupported-transfer-syntax' };
    } else {
      const explicit = ts ? ts !== IMPLICIT_LE : looksExplicit(buf, 0);
      info = parseDataset(buf, explicit, this.options.hashPatientId);
      if (info.error) this.options.onSkip?.(`dicom-${info.error}`);
    }
    const c = this.waiting[dir];
    this.waiting[dir] = null;
    if (c) {
      c.dataset = info;
      this.options.onMessage(c, dir);
    } else {
      this.options.onMessage(
        { type: 'command', contextId: d.datasetCtx, commandField: -1, command: 'DATASET', dataset: info },
        dir,
      );
    }
  }
}
