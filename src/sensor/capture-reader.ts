/**
 * @module sensor/capture-reader
 * Reads pcap or pcapng from chunks of any size with flat memory. The format is chosen by the
 * magic number; records are parsed in place inside each chunk, and only a record that spans two
 * chunks is copied (just that record). Corrupt input is counted by reason, never thrown.
 */
import type { Readable } from 'node:stream';
import { type CaptureRecord, countSkip, type SkipCounts } from './capture-types.js';
import type { FormatParser } from './format-parser.js';
import { isPcapMagic, PcapParser } from './pcap.js';
import { PCAPNG_SHB, PcapngParser } from './pcapng.js';

/**
 * A push parser for capture files: feed it chunks, it calls `emit` for every record. Used
 * directly by the sensor (no promise per packet) and wrapped by `readCapture` as an iterator.
 */
export class CaptureReader {
  private format: FormatParser | null = null;
  private tail: Buffer | null = null;
  private stoppedReason: string | null = null;
  private ownSkips: SkipCounts = {};
  /** Bytes pushed so far. */
  bytesRead = 0;
  /** Records emitted so far. */
  records = 0;

  /** Why reading stopped before the end of input, if it did (`null` while it goes on). */
  get stopped(): string | null {
    return this.stoppedReason ?? this.format?.stopped ?? null;
  }

  /** Skipped input by reason. */
  get skipped(): SkipCounts {
    const out: SkipCounts = { ...this.ownSkips };
    if (this.format) for (const [k, v] of Object.entries(this.format.skipped)) countSkip(out, k, v);
    return out;
  }

  /** Feeds one chunk; emits every record it completes. */
  push(chunk: Buffer, emit: (r: CaptureRecord) => void): void {
    this.bytesRead += chunk.length;
    if (this.stopped) return;
    const counted = (r: CaptureRecord) => {
      this.records++;
      emit(r);
    };
    let off = 0;
    if (!this.format) {
      const head = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
      if (head.length < 4) {
        this.tail = Buffer.from(head);
        return;
      }
      this.tail = null;
      if (isPcapMagic(head)) this.format = new PcapParser();
      else if (head.readUInt32LE(0) === PCAPNG_SHB) this.format = new PcapngParser();
      else {
        countSkip(this.ownSkips, 'bad-magic');
        this.stoppedReason = 'bad-magic';
        return;
      }
      chunk = head;
    }
    const fmt = this.format;
    while (this.tail) {
      // Grow the tail by exactly what the format needs, then let it parse the tail alone.
      const need = fmt.want;
      const take = Math.min(need - this.tail.length, chunk.length - off);
      if (take > 0) {
        this.tail = Buffer.concat([this.tail, chunk.subarray(off, off + take)]);
        off += take;
      }
      if (this.tail.length < need) return;
      const used = fmt.parse(this.tail, 0, counted);
      if (fmt.stopped) return;
      this.tail = used >= this.tail.length ? null : this.tail.subarray(used);
      if (this.tail && off >= chunk.length) return;
    }
    const used = fmt.parse(chunk, off, counted);
    if (fmt.stopped) return;
    if (used < chunk.length) this.tail = Buffer.from(chunk.subarray(used));
  }

  /** Ends the input: an incomplete record left over is counted as truncated. */
  end(): void {
    if (!this.format) {
      if (!this.stoppedReason) {
        this.stoppedReason = this.tail || this.bytesRead ? 'truncated-header' : 'empty';
        if (this.tail || this.bytesRead) countSkip(this.ownSkips, 'truncated-header');
      }
      return;
    }
    this.format.end(this.tail?.length ?? 0);
    this.tail = null;
  }
}

/** Options of `readCapture`. */
export interface ReadCaptureOptions {
  /** Called once at the end with what was skipped and why reading stopped (if it did). */
  onEnd?: (info: { skipped: SkipCounts; stopped: string | null; bytes: number; records: number }) => void;
}

/**
 * Reads a pcap or pcapng stream as an async iterator of records (views into the reader's
 * buffers). Never throws on corrupt input; the stream's own errors are passed on.
 */
export async function* readCapture(
  stream: Readable | AsyncIterable<Buffer>,
  options: ReadCaptureOptions = {},
): AsyncGenerator<CaptureRecord> {
  const reader = new CaptureReader();
  const batch: CaptureRecord[] = [];
  const add = (r: CaptureRecord) => {
    batch.push(r);
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, add);
    for (const r of batch) yield r;
    batch.length = 0;
    if (reader.stopped) break;
  }
  reader.end();
  options.onEnd?.({
    skipped: reader.skipped,
    stopped: reader.stopped,
    bytes: reader.bytesRead,
    records: reader.records,
  });
}
