/**
 * @module sensor/dicom-dataset
 * Reads a DICOM dataset (implicit or explicit VR little endian) for the six equipment tags only.
 * Patient ID is returned only as a keyed hash; every other patient tag (group 0010) just sets
 * `carriesPatientData`, and its value is never read into a string.
 */
import type { PatientIdHasher } from './keyed-hash.js';

/** The equipment identity a dataset carries (only these tags are ever kept). */
export interface DicomEquipment {
  manufacturer?: string;
  modelName?: string;
  softwareVersions?: string;
  deviceSerialNumber?: string;
  modality?: string;
  stationName?: string;
}

/** What the sensor keeps of one dataset. */
export interface DicomDatasetInfo {
  equipment: DicomEquipment;
  /** Keyed hash of Patient ID (0010,0020), when present. */
  patientRef?: string;
  /** Patient-module tags (group 0010) were present. */
  carriesPatientData: boolean;
  /** Why parsing stopped early (bogus length, truncated input), if it did. */
  error?: string;
}

const EQUIPMENT: Record<number, keyof DicomEquipment> = {
  524400: 'manufacturer',
  528528: 'modelName',
  1576992: 'softwareVersions',
  1576960: 'deviceSerialNumber',
  524384: 'modality',
  528400: 'stationName',
};

/** VRs whose explicit encoding has a 2-byte reserved field and a 4-byte length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;
const PIXEL_DATA = 0x7fe00010;
const MAX_DEPTH = 16;

/** Trims DICOM padding (spaces and NULs) from a string value. */
export function trimDicom(s: string): string {
  return s.replace(/^[\s\0]+|[\s\0]+$/g, '');
}

/** True when the two bytes at `off` look like an explicit VR (two upper-case letters). */
export function looksExplicit(buf: Buffer, off: number): boolean {
  if (buf.length < off + 6) return false;
  const a = buf[off + 4]!;
  const b = buf[off + 5]!;
  return a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a;
}

/**
 * Parses a dataset for equipment identity. `explicit` selects explicit VR little endian;
 * truncated input (the sensor only sees the first bytes) ends the parse without an error.
 */
export function parseDataset(buf: Buffer, explicit: boolean, hash: PatientIdHasher): DicomDatasetInfo {
  const out: DicomDatasetInfo = { equipment: {}, carriesPatientData: false };
  let p = 0;
  let depth = 0;
  const end = buf.length;
  while (p + 8 <= end) {
    const group = buf.readUInt16LE(p);
    const elem = buf.readUInt16LE(p + 2);
    const tag = ((group << 16) | elem) >>> 0;
    let len: number;
    let hdr: number;
    if (group === 0xfffe) {
      // Item and delimiters: no VR in either encoding.
      len = buf.readUInt32LE(p + 4);
      p += 8;
      if (elem === 0xe000) {
        if (len === UNDEFINED) continue;
        if (p + len > end) break;
        p += len;
      } else if (elem === 0xe0dd && depth > 0) depth--;
      continue;
    }
    if (explicit) {
      const vr = String.fromCharCode(buf[p + 4]!, buf[p + 5]!);
      if (LONG_VRS.has(vr)) {
        if (p + 12 > end) break;
        len = buf.readUInt32LE(p + 8);
        hdr = 12;
      } else if (/^[A-Z]{2}$/.test(vr)) {
        len = buf.readUInt16LE(p + 6);
        hdr = 8;
      } else {
        out.error = 'bad-vr';
        break;
      }
    } else {
      len = buf.readUInt32LE(p + 4);
      hdr = 8;
    }
    if (group === 0x0010) out.carriesPatientData = true;
    if (tag === PIXEL_DATA) break;
    if (len === UNDEFINED) {
      // A sequence (or encapsulated data) of undefined length: step into it.
      if (++depth > MAX_DEPTH) {
        out.error = 'too-deep';
        break;
      }
      p += hdr;
      continue;
    }
    if (len > 0x7fffffff) {
      out.error = 'bogus-element-length';
      break;
    }
    const vStart = p + hdr;
    const vEnd = vStart + len;
    if (vEnd > end) {
      // Cut by the capture prefix; a huge length far beyond it is not worth flagging.
      break;
    }
    if (depth === 0) {
      const field = EQUIPMENT[tag];
      if (field && len > 0 && len <= 1024) {
        const v = trimDicom(buf.toString('latin1', vStart, vEnd));
        if (v) out.equipment[field] = v;
      } else if (tag === 0x00100020 && len > 0 && len <= 256) {
        const v = trimDicom(buf.toString('latin1', vStart, vEnd));
        if (v) out.patientRef = hash(v);
      }
    }
    p = vEnd;
  }
  return out;
}
