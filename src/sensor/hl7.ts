/**
 * @module sensor/hl7
 * HL7 v2, hand-written and lenient: segments end with CR, LF or CRLF; delimiters come from
 * MSH-1 and MSH-2. Only the header (who sends what to whom) and OBX-18 equipment identifiers are
 * kept; PID-3 becomes keyed hashes and every other patient field is never copied out.
 */
import type { PatientIdHasher } from './keyed-hash.js';

/** What the sensor keeps of one HL7 v2 message. */
export interface Hl7Message {
  /** MSH-3 Sending Application. */
  sendingApplication: string;
  /** MSH-4 Sending Facility. */
  sendingFacility: string;
  /** MSH-5 Receiving Application. */
  receivingApplication: string;
  /** MSH-6 Receiving Facility. */
  receivingFacility: string;
  /** MSH-9 Message Type as `code^trigger^structure` components. */
  messageType: { code: string; trigger: string; structure: string };
  /** MSH-10 Message Control ID. */
  controlId: string;
  /** MSH-12 Version ID (first component). */
  version: string;
  /** OBX-18 Equipment Instance Identifiers (entity identifier, first component of each repetition). */
  equipment: string[];
  /** Keyed hashes of the PID-3 identifiers (ID number component). */
  patientRefs: string[];
  /** A PID segment was present. */
  carriesPatientData: boolean;
  segmentCount: number;
}

/** The delimiters a message declares in MSH-1 and MSH-2. */
interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

const SEGMENT_SPLIT = /\r\n|\r|\n/;

/** Resolves the standard escape sequences (\F\ \S\ \T\ \R\ \E\); others are left as they are. */
function unescapeHl7(v: string, d: Delimiters): string {
  if (!d.escape || !v.includes(d.escape)) return v;
  const e = d.escape;
  let out = '';
  let i = 0;
  while (i < v.length) {
    const c = v[i]!;
    if (c === e) {
      const close = v.indexOf(e, i + 1);
      if (close > i) {
        const code = v.slice(i + 1, close);
        const map: Record<string, string> = {
          F: d.field,
          S: d.component,
          T: d.subcomponent,
          R: d.repetition,
          E: d.escape,
        };
        const r = map[code];
        if (r !== undefined) {
          out += r;
          i = close + 1;
          continue;
        }
      }
    }
    out += c;
    i++;
  }
  return out;
}

/** Field `n` of a segment (the segment id is field 0) without splitting the whole segment. */
function nthField(seg: string, fs: string, n: number): string {
  let start = 0;
  for (let i = 0; i < n; i++) {
    const next = seg.indexOf(fs, start);
    if (next < 0) return '';
    start = next + 1;
  }
  const end = seg.indexOf(fs, start);
  return seg.slice(start, end < 0 ? seg.length : end);
}

/**
 * Parses one HL7 v2 message (text starting at MSH, a UTF-8 BOM tolerated), or returns the reason
 * it cannot.
 */
export function parseHl7(text: string, hash: PatientIdHasher): Hl7Message | string {
  let t = text;
  if (t.charCodeAt(0) === 0xfeff) t = t.slice(1);
  t = t.replace(/^[\s\v]+/, '');
  if (!t.startsWith('MSH') || t.length < 8) return 'hl7-no-msh';
  const fs = t[3]!;
  if (/[\w\s]/.test(fs)) return 'hl7-bad-delimiters';
  const encEnd = t.indexOf(fs, 4);
  const enc = t.slice(4, encEnd < 0 ? 8 : encEnd);
  const d: Delimiters = {
    field: fs,
    component: enc[0] ?? '^',
    repetition: enc[1] ?? '~',
    escape: enc[2] ?? '\\',
    subcomponent: enc[3] ?? '&',
  };
  const segments = t.split(SEGMENT_SPLIT);
  const msh = segments[0]!.split(fs);
  // MSH-1 is the field separator itself, so MSH-n is msh[n - 1].
  const f = (n: number) => unescapeHl7(msh[n - 1] ?? '', d);
  const typeParts = (msh[8] ?? '').split(d.component);
  const out: Hl7Message = {
    sendingApplication: f(3),
    sendingFacility: f(4),
    receivingApplication: f(5),
    receivingFacility: f(6),
    messageType: {
      code: unescapeHl7(typeParts[0] ?? '', d),
      trigger: unescapeHl7(typeParts[1] ?? '', d),
      structure: unescapeHl7(typeParts[2] ?? '', d),
    },
    controlId: f(10),
    version: unescapeHl7((msh[11] ?? '').split(d.component)[0] ?? '', d),
    equipment: [],
    patientRefs: [],
    carriesPatientData: false,
    segmentCount: 0,
  };
  for (const seg of segments) {
    if (seg.length === 0) continue;
    out.segmentCount++;
    if (seg.startsWith('PID')) {
      out.carriesPatientData = true;
      for (const rep of nthField(seg, fs, 3).split(d.repetition)) {
        const idNumber = unescapeHl7(rep.split(d.component)[0] ?? '', d).trim();
        if (idNumber) {
          const ref = hash(idNumber);
          if (!out.patientRefs.includes(ref)) out.patientRefs.push(ref);
        }
      }
    } else if (seg.startsWith('OBX')) {
      const obx18 = nthField(seg, fs, 18);
      if (!obx18) continue;
      for (const rep of obx18.split(d.repetition)) {
        const parts = rep.split(d.component);
        const ei = unescapeHl7(parts[0] || parts[2] || '', d).trim();
        if (ei && !out.equipment.includes(ei)) out.equipment.push(ei);
      }
    }
  }
  return out;
}

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;
/** The largest message the stream splitter buffers. */
const MAX_MESSAGE = 1024 * 1024;

/** Options of an `Hl7Stream`. */
export interface Hl7StreamOptions {
  hashPatientId: PatientIdHasher;
  onMessage(msg: Hl7Message): void;
  onSkip?(reason: string): void;
}

/**
 * Splits one direction of a TCP stream into HL7 messages: MLLP frames (VT … FS CR) when the
 * stream starts with VT, otherwise bare messages split at each `MSH` segment.
 */
export class Hl7Stream {
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'unknown' | 'mllp' | 'bare' | 'dead' = 'unknown';

  constructor(private readonly options: Hl7StreamOptions) {}

  /** Feeds in-order bytes. */
  data(bytes: Buffer): void {
    if (this.mode === 'dead') return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : Buffer.from(bytes);
    if (this.mode === 'unknown') {
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === CR || this.buf[i] === 0x0a)) i++;
      if (i >= this.buf.length) return;
      if (this.buf[i] === VT) this.mode = 'mllp';
      else if (this.buf.length - i < 3) return;
      else if (this.buf.toString('latin1', i, i + 3) === 'MSH') this.mode = 'bare';
      else {
        this.mode = 'dead';
        this.options.onSkip?.('hl7-not-hl7');
        return;
      }
    }
    if (this.mode === 'mllp') this.mllp(false);
    else this.bare(false);
    if (this.buf.length > MAX_MESSAGE) {
      this.options.onSkip?.('hl7-message-too-large');
      this.buf = Buffer.alloc(0);
    }
  }

  /** End of the stream (or of its captured prefix): a complete bare message left over is parsed. */
  close(): void {
    if (this.mode === 'mllp') this.mllp(true);
    else if (this.mode === 'bare') this.bare(true);
    this.buf = Buffer.alloc(0);
  }

  private emit(text: string): void {
    const m = parseHl7(text, this.options.hashPatientId);
    if (typeof m === 'string') this.options.onSkip?.(m);
    else this.options.onMessage(m);
  }

  private mllp(final: boolean): void {
    let p = 0;
    for (;;) {
      const start = this.buf.indexOf(VT, p);
      if (start < 0) {
        p = this.buf.length;
        break;
      }
      const end = this.buf.indexOf(FS, start + 1);
      if (end < 0) {
        p = start;
        break;
      }
      // A VT before the FS means the earlier frame was broken: resynchronise on the later VT.
      const again = this.buf.lastIndexOf(VT, end);
      if (again > start) this.options.onSkip?.('hl7-broken-mllp-frame');
      this.emit(this.buf.toString('utf8', again + 1, end));
      p = end + 1;
      if (this.buf[p] === CR) p++;
    }
    if (final && p < this.buf.length) this.options.onSkip?.('hl7-truncated-frame');
    this.buf = p >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(p);
  }

  private bare(final: boolean): void {
    const text = this.buf.toString('latin1');
    const starts: number[] = [];
    const re = /(^|[\r\n])MSH/g;
    for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index + m[1]!.length);
    // Every message but the last is complete; the last is complete only at the end.
    const upto = final ? starts.length : starts.length - 1;
    for (let i = 0; i < upto; i++) {
      const end = i + 1 < starts.length ? starts[i + 1]! : this.buf.length;
      this.emit(this.buf.toString('utf8', starts[i]!, end));
    }
    if (!final && starts.length > 1) this.buf = this.buf.subarray(starts[starts.length - 1]!);
  }
}
