/**
 * @module sensor/format-parser
 * The contract between the chunk framing of `CaptureReader` and one file format (pcap, pcapng):
 * the format parses whole units out of a contiguous buffer and says how many bytes it needs to
 * make progress, so the framing copies only the few records that span two chunks.
 */
import type { CaptureRecord, SkipCounts } from './capture-types.js';

export interface FormatParser {
  /**
   * Parses as many whole units as `buf[off..]` holds, emitting records, and returns the offset
   * of the first byte not consumed. Before returning it sets `want`.
   */
  parse(buf: Buffer, off: number, emit: (r: CaptureRecord) => void): number;
  /** Bytes needed, counted from the returned offset, before `parse` can make progress. */
  want: number;
  /** Why parsing stopped for good (`null` while it goes on). */
  stopped: string | null;
  /** Called at the end of input with the number of bytes left unparsed. */
  end(leftover: number): void;
  readonly skipped: SkipCounts;
  /** What one unit is, for the truncation reason: `record` or `block`. */
  readonly unit: string;
}
