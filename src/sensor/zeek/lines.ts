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

export async function* boundedLines(
  chunks: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  stats: LineStats,
): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let skipping = false;
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (skipping) {
        skipping = false;
        pending = [];
        pendingBytes = 0;
        continue;
      }
      if (pendingBytes + piece.length > maxLineBytes) {
        stats.tooLong++;
        pending = [];
        pendingBytes = 0;
        continue;
      }
      const line = pendingBytes
        ? Buffer.concat([...pending, piece]).toString('utf8')
        : piece.toString('utf8');
      pending = [];
      pendingBytes = 0;
      stats.lines++;
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
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
    yield Buffer.concat(pending).toString('utf8');
  }
}
