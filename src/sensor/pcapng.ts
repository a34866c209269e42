/**
 * @module sensor/pcapng
 * The pcapng format: Section Header Blocks in either byte order, Interface Description Blocks
 * (link type, `if_tsresol`), Enhanced and Simple Packet Blocks (and the obsolete Packet Block);
 * every other block is skipped by its length. A block whose length cannot be right stops the
 * section cleanly: pcapng has no record boundary to resynchronise on short of the next section.
 */
import { type CaptureRecord, countSkip, type SkipCounts } from './capture-types.js';
import type { FormatParser } from './format-parser.js';

/** The block type of a Section Header Block, the same in both byte orders. */
export const PCAPNG_SHB = 0x0a0d0d0a;
/** The largest block the reader accepts; larger ones are treated as corrupt. */
export const PCAPNG_MAX_BLOCK = 4 * 1024 * 1024;

interface Iface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second. */
  unitsPerSec: number;
}

/** Parses a pcapng file section by section; interfaces are per section, as the format says. */
export class PcapngParser implements FormatParser {
  want = 12;
  stopped: string | null = null;
  readonly skipped: SkipCounts = {};
  readonly unit = 'block';
  private le = true;
  private ifaces: Iface[] = [];

  parse(buf: Buffer, start: number, emit: (r: CaptureRecord) => void): number {
    let off = start;
    const end = buf.length;
    for (;;) {
      if (end - off < 12) {
        this.want = 12;
        return off;
      }
      const type = this.u32(buf, off);
      if (type === PCAPNG_SHB) {
        const bom = buf.readUInt32LE(off + 8);
        if (bom === 0x1a2b3c4d) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else {
          countSkip(this.skipped, 'bad-byte-order-magic');
          this.stopped = 'bad-byte-order-magic';
          return off;
        }
      }
      const len = this.u32(buf, off + 4);
      if (len < 12 || len % 4 !== 0 || len > PCAPNG_MAX_BLOCK) {
        countSkip(this.skipped, 'bogus-block-length');
        this.stopped = 'bogus-block-length';
        return off;
      }
      if (end - off < len) {
        this.want = len;
        return off;
      }
      if (this.u32(buf, off + len - 4) !== len) {
        countSkip(this.skipped, 'bogus-block-length');
        this.stopped = 'bogus-block-length';
        return off;
      }
      this.block(type, buf, off, len, emit);
      off += len;
    }
  }

  end(leftover: number): void {
    if (this.stopped || leftover === 0) return;
    countSkip(this.skipped, 'truncated-block');
    this.stopped = 'truncated-block';
  }

  private u32(buf: Buffer, off: number): number {
    return this.le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
  }

  private u16(buf: Buffer, off: number): number {
    return this.le ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
  }

  private block(type: number, buf: Buffer, off: number, len: number, emit: (r: CaptureRecord) => void): void {
    const bodyEnd = off + len - 4;
    switch (type) {
      case PCAPNG_SHB:
        this.ifaces = [];
        return;
      case 1: {
        if (len < 20) {
          countSkip(this.skipped, 'bogus-interface-block');
          this.ifaces.push({ linkType: -1, snaplen: 0, unitsPerSec: 1e6 });
          return;
        }
        this.ifaces.push({
          linkType: this.u16(buf, off + 8),
          snaplen: this.u32(buf, off + 12),
          unitsPerSec: this.tsresol(buf, off + 16, bodyEnd),
        });
        return;
      }
      case 6:
      case 2: {
        if (len < 32) {
          countSkip(this.skipped, 'bogus-record-length');
          return;
        }
        const ifId = type === 6 ? this.u32(buf, off + 8) : this.u16(buf, off + 8);
        const iface = this.ifaces[ifId];
        if (!iface || iface.linkType < 0) {
          countSkip(this.skipped, 'unknown-interface');
          return;
        }
        const cap = this.u32(buf, off + 20);
        if (cap > bodyEnd - (off + 28)) {
          countSkip(this.skipped, 'bogus-record-length');
          return;
        }
        const ts = this.u32(buf, off + 12) * 4_294_967_296 + this.u32(buf, off + 16);
        emit({
          ts: (ts / iface.unitsPerSec) * 1000,
          linkType: iface.linkType,
          data: buf.subarray(off + 28, off + 28 + cap),
          origLen: this.u32(buf, off + 24),
        });
        return;
      }
      case 3: {
        const iface = this.ifaces[0];
        if (!iface || iface.linkType < 0 || len < 16) {
          countSkip(this.skipped, iface ? 'bogus-record-length' : 'unknown-interface');
          return;
        }
        const orig = this.u32(buf, off + 8);
        let cap = Math.min(orig, bodyEnd - (off + 12));
        if (iface.snaplen > 0) cap = Math.min(cap, iface.snaplen);
        emit({
          ts: 0,
          linkType: iface.linkType,
          data: buf.subarray(off + 12, off + 12 + cap),
          origLen: orig,
        });
        return;
      }
      default:
        return;
    }
  }

  /** Reads `if_tsresol` (option 9) from an IDB's options; microseconds when absent. */
  private tsresol(buf: Buffer, start: number, end: number): number {
    let p = start;
    while (p + 4 <= end) {
      const code = this.u16(buf, p);
      const olen = this.u16(buf, p + 2);
      if (code === 0) break;
      if (p + 4 + olen > end) {
        countSkip(this.skipped, 'bogus-option-length');
        break;
      }
      if (code === 9 && olen >= 1) {
        const v = buf[p + 4]!;
        const exp = v & 0x7f;
        return v & 0x80 ? 2 ** exp : 10 ** exp;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    return 1e6;
  }
}
