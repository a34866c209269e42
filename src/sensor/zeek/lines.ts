/**
 * @module sensor/zeek/lines
 * Splits a byte stream into lines with a hard bound on line length, so a file without newlines
 * (or a hostile one) cannot grow memory: an over-long line is dropped up to the next newline and
 * counted.
 */
export interface LineStats {
  lines: number;
  tooLong: number;
}

/** The lines of each chunk come together (one array per chunk): one await per chunk, not per line. */
export async function* boundedLines(
  chunks: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  stats: LineStats,
): AsyncGenerator<string[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let skipping = false;
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const from = start;
      start = nl + 1;
      if (skipping) {
        skipping = false;
        pending = [];
        pendingBytes = 0;
        continue;
      }
      if (pendingBytes + nl - from > maxLineBytes) {
        stats.tooLong++;
        pending = [];
        pendingBytes = 0;
        continue;
      }
      // A CR before the newline (CRLF) is not part of the line.
      const end = nl > from && chunk[nl - 1] === 13 ? nl - 1 : nl;
      let line: string;
      if (pendingBytes === 0) line = chunk.toString('utf8', from, end);
      else {
        line = Buffer.concat([...pending, chunk.subarray(from, nl)]).toString('utf8');
        if (line.endsWith('\r')) line = line.slice(0, -1);
        pending = [];
        pendingBytes = 0;
      }
      stats.lines++;
      lines.push(line);
    }
    if (lines.length) yield lines;
    if (start < chunk.length && !skipping) {
      const rest = chunk.subarray(start);
      if (pendingBytes + rest.length > maxLineBytes) {
        stats.tooLong++;
        skipping = true;
        pending = [];
        pendingBytes = 0;
      } else {
        pending.push(Buffer.from(rest));
        pendingBytes += rest.length;
      }
    }
  }
  if (pendingBytes && !skipping) {
    stats.lines++;
    yield [Buffer.concat(pending).toString('utf8')];
  }
}

/**
 * The same bounded splitting, pushed to rather than pulled from: for files that grow while they
 * are read (`--follow`). A partial last line waits for its newline; `reset()` drops it (the file
 * was truncated or replaced) and says whether there was one.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false;

  constructor(
    private readonly maxLineBytes: number,
    readonly stats: LineStats = { lines: 0, tooLong: 0 },
  ) {}

  /** Splits `chunk`, calling `onLine` for every whole line (CR of CRLF removed). */
  push(chunk: Buffer, onLine: (line: string) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.clear();
        continue;
      }
      if (this.pendingBytes + piece.length > this.maxLineBytes) {
        this.stats.tooLong++;
        this.clear();
        continue;
      }
      const line = this.pendingBytes
        ? Buffer.concat([...this.pending, piece]).toString('utf8')
        : piece.toString('utf8');
      this.clear();
      this.stats.lines++;
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.subarray(start);
      if (this.pendingBytes + rest.length > this.maxLineBytes) {
        this.stats.tooLong++;
        this.skipping = true;
        this.clear();
      } else {
        this.pending.push(Buffer.from(rest));
        this.pendingBytes += rest.length;
      }
    }
  }

  /** Drops a partial line; true when there was one. */
  reset(): boolean {
    const had = this.pendingBytes > 0;
    this.clear();
    this.skipping = false;
    return had;
  }

  private clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}
