/**
 * @module sensor/pcap
 * The classic libpcap file format: both byte orders, microsecond and nanosecond magic. A record
 * header that cannot be right (a length beyond any snaplen, a fraction beyond a second) is counted
 * and the reader scans forward for the next plausible pair of headers, so one flipped byte costs
 * one record, not the file.
 */
import { type CaptureRecord, countSkip, type SkipCounts } from './capture-types.js';
import type { FormatParser } from './format-parser.js';

/** The largest record the reader accepts (libpcap's MAXIMUM_SNAPLEN). */
export const PCAP_MAX_RECORD = 262_144;
/** How far the reader scans for the next plausible header before it gives up. */
const RESYNC_LIMIT = 16 * 1024 * 1024;
const FILE_HEADER = 24;
const REC_HEADER = 16;

/** True when the four bytes at `off` are a pcap magic number in either byte order. */
export function isPcapMagic(buf: Buffer, off = 0): boolean {
  const m = buf.readUInt32LE(off);
  return m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1;
}

/** Parses a libpcap file; see the module comment for how it recovers from corrupt headers. */
export class PcapParser implements FormatParser {
  want = FILE_HEADER;
  stopped: string | null = null;
  readonly skipped: SkipCounts = {};
  readonly unit = 'record';
  private le = true;
  private nano = false;
  private linkType = -1;
  private maxLen = PCAP_MAX_RECORD;
  private lastSec = -1;
  private resyncing = false;
  private scanned = 0;

  parse(buf: Buffer, start: number, emit: (r: CaptureRecord) => void): number {
    let off = start;
    const end = buf.length;
    if (this.linkType < 0) {
      if (end - off < FILE_HEADER) {
        this.want = FILE_HEADER;
        return off;
      }
      const m = buf.readUInt32LE(off);
      this.le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
      this.nano = m === 0xa1b23c4d || m === 0x4d3cb2a1;
      const snap = this.u32(buf, off + 16);
      this.maxLen = snap >= 65_535 && snap <= PCAP_MAX_RECORD ? snap : PCAP_MAX_RECORD;
      this.linkType = this.u32(buf, off + 20) & 0xffff;
      off += FILE_HEADER;
    }
    for (;;) {
      if (this.resyncing) {
        off = this.resync(buf, off);
        if (this.stopped || this.resyncing) return off;
      }
      if (end - off < REC_HEADER) {
        this.want = REC_HEADER;
        return off;
      }
      if (!this.plausible(buf, off)) {
        countSkip(this.skipped, 'bogus-record-header');
        this.resyncing = true;
        this.scanned = 0;
        off += 1;
        continue;
      }
      const incl = this.u32(buf, off + 8);
      if (end - off < REC_HEADER + incl) {
        this.want = REC_HEADER + incl;
        return off;
      }
      const sec = this.u32(buf, off);
      const frac = this.u32(buf, off + 4);
      this.lastSec = sec;
      emit({
        ts: sec * 1000 + (this.nano ? frac / 1e6 : frac / 1e3),
        linkType: this.linkType,
        data: buf.subarray(off + REC_HEADER, off + REC_HEADER + incl),
        origLen: this.u32(buf, off + 12),
      });
      off += REC_HEADER + incl;
    }
  }

  end(leftover: number): void {
    if (this.stopped) return;
    if (this.linkType < 0) {
      this.stopped = leftover === 0 ? 'empty' : 'truncated-header';
      if (leftover) countSkip(this.skipped, 'truncated-header');
    } else if (leftover > 0 && !this.resyncing) {
      countSkip(this.skipped, 'truncated-record');
      this.stopped = 'truncated-record';
    }
  }

  /** A header field (the caller has checked the bytes are there): plain byte reads, no range checks. */
  private u32(buf: Buffer, off: number): number {
    return this.le
      ? (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0
      : ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  }

  private plausible(buf: Buffer, off: number): boolean {
    const frac = this.u32(buf, off + 4);
    const incl = this.u32(buf, off + 8);
    const orig = this.u32(buf, off + 12);
    if (frac >= (this.nano ? 1e9 : 1e6)) return false;
    if (incl > this.maxLen || orig < incl) return false;
    if (this.resyncing && this.lastSec >= 0 && Math.abs(this.u32(buf, off) - this.lastSec) > 86_400)
      return false;
    return true;
  }

  /**
   * Scans from `off` for a header that is plausible and followed by another plausible header (or
   * the end of input). Returns the new offset; while still resyncing, `want` says what it needs.
   */
  private resync(buf: Buffer, off: number): number {
    const end = buf.length;
    let p = off;
    while (p + REC_HEADER <= end) {
      if (this.plausible(buf, p)) {
        const next = p + REC_HEADER + this.u32(buf, p + 8);
        if (next + REC_HEADER > end) {
          this.want = next + REC_HEADER - p;
          return p;
        }
        if (this.plausible(buf, next)) {
          this.resyncing = false;
          return p;
        }
      }
      p += 1;
      if (++this.scanned > RESYNC_LIMIT) {
        this.stopped = 'resync-failed';
        return p;
      }
    }
    this.want = REC_HEADER;
    return p;
  }
}
