/**
 * @module sensor/capture-source
 * Where capture bytes come from, behind one small interface: a pcap/pcapng file (`fileSource`) or
 * the standard output of a capture process (`tcpdumpSource` in tcpdump.ts). The sensor reads
 * `chunks()` the same way whichever it is; `stop()` ends a live source early (a signal), after
 * which `chunks()` ends once what was already captured has been read.
 */
import { createReadStream, statSync } from 'node:fs';
import { VigilError } from '../core/index.js';

/** A stream of capture bytes (pcap or pcapng). */
export interface CaptureSource {
  /** What it reads, for progress lines and summaries (a file name, `tcpdump -i eth0`). */
  readonly label: string;
  /** Bytes in all, when known beforehand (a file); null for a live stream. */
  readonly total: number | null;
  /** The bytes, in chunks of any size; read once. A failing source ends, it does not throw. */
  chunks(): AsyncIterable<Buffer>;
  /** Asks the source to end early; idempotent. */
  stop(): void;
  /** How the source ended, once `chunks()` has ended. */
  outcome(): Promise<CaptureOutcome>;
}

/** How a capture source ended. */
export interface CaptureOutcome {
  /** Why the source failed (tcpdump missing, no permission, …), or null when it ended normally. */
  error: VigilError | null;
  /** Packets the capture process reported captured, when it reports that. */
  captured?: number;
  /** Packets the kernel dropped because the reader fell behind, when the source reports that. */
  droppedByKernel?: number;
}

/** A capture file; a missing path or a directory is a clear error. */
export function fileSource(file: string): CaptureSource {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new VigilError('BAD_REQUEST', `${file}: not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof VigilError) throw err;
    throw new VigilError('NOT_FOUND', `${file}: no such file`);
  }
  let stopped = false;
  async function* chunks(): AsyncGenerator<Buffer> {
    const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        yield chunk;
        if (stopped) return;
      }
    } finally {
      stream.destroy();
    }
  }
  return {
    label: file,
    total: size,
    chunks,
    stop: () => {
      stopped = true;
    },
    outcome: () => Promise.resolve({ error: null }),
  };
}
