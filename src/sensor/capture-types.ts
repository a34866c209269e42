/**
 * @module sensor/capture-types
 * What the capture readers hand on: one record per captured frame, and the counters that say
 * why input was skipped. Kept apart so readers, decoders and the sensor share them without cycles.
 */

/** Link-layer types (LINKTYPE_* of the pcap/pcapng specifications) the decoders understand. */
export const LinkType = {
  Null: 0,
  Ethernet: 1,
  Raw: 101,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

/**
 * One captured frame. `data` is a view into the reader's buffers (never copied), valid for as
 * long as the consumer keeps it; `origLen` is the length on the wire, larger than `data.length`
 * when the capture cut the packet at its snaplen.
 */
export interface CaptureRecord {
  /** Capture time in milliseconds since the Unix epoch (fractional for sub-millisecond). */
  ts: number;
  linkType: number;
  data: Buffer;
  origLen: number;
}

/** Counts of skipped input by reason, so a summary can say what was lost and why. */
export type SkipCounts = Record<string, number>;

/** Adds one to `reason` in `counts`. */
export function countSkip(counts: SkipCounts, reason: string, n = 1): void {
  counts[reason] = (counts[reason] ?? 0) + n;
}
