/**
 * @module sensor/zeek/read
 * Reads Zeek logs — TSV or JSON, plain or gzip, told apart by their first bytes — as Vigil events,
 * streamed with bounded lines (memory stays flat whatever the file size). Lines that cannot be
 * read are skipped and counted by reason; nothing stops the file.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { VigilEvent } from '../../core/index.js';
import { isKnownZeekLog, zeekEvent } from './events.js';
import { parseZeekJsonLine } from './json.js';
import { boundedLines, type LineStats } from './lines.js';
import { ZeekTsvParser } from './tsv.js';

export const MAX_ZEEK_LINE_BYTES = 1024 * 1024;

export interface ZeekReadStats {
  records: number;
  /** Records by log (`dns`, `ssl`, …); logs Vigil does not interpret are under their own name too. */
  byLog: Record<string, number>;
  /** Records of logs outside the understood set (still read, never lost). */
  other: number;
  skipped: Record<string, number>;
  format: 'tsv' | 'json' | 'unknown';
}

export function newZeekStats(): ZeekReadStats {
  return { records: 0, byLog: {}, other: 0, skipped: {}, format: 'unknown' };
}

/** Log name from a file name: `dns.log.gz`, `dns.20240412.json` → `dns`. */
export function logNameOf(file: string): string {
  return basename(file).split('.')[0] ?? '';
}

/** Reads the first two bytes and puts them back: gzip magic → a gunzip stream in front. */
async function decoded(stream: Readable): Promise<Readable> {
  const head = await new Promise<Buffer | null>((resolve, reject) => {
    const tryRead = () => {
      const b = stream.read(2) as Buffer | null;
      if (b) return resolve(b);
      if (stream.readableEnded) return resolve(null);
      stream.once('readable', tryRead);
    };
    stream.once('error', reject);
    stream.once('end', () => resolve(stream.read() as Buffer | null));
    tryRead();
  });
  if (!head) return stream;
  stream.unshift(head);
  if (head[0] !== 0x1f || head[1] !== 0x8b) return stream;
  const gunzip = createGunzip();
  stream.on('error', (err) => gunzip.destroy(err));
  return stream.pipe(gunzip);
}

/**
 * One Zeek log's lines in, events out: tells TSV from JSON by the first line, keeps the TSV
 * header state, counts records and skipped lines in `stats`. Used for whole files and, line by
 * line, for files followed as they grow. After `not-a-zeek-log` it takes no more lines.
 */
export class ZeekLineReader {
  private tsv: ZeekTsvParser;
  private format: ZeekReadStats['format'] = 'unknown';
  /** True once the input turned out not to be a Zeek log. */
  stopped = false;

  constructor(
    private readonly defaultLog: string,
    readonly stats: ZeekReadStats,
  ) {
    this.tsv = new ZeekTsvParser(defaultLog);
  }

  /** Counts a skipped line or record under `reason`. */
  skip(reason: string, n = 1): void {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + n;
  }

  /** Starts over (the file was truncated or replaced): the format and TSV headers come again. */
  restart(): void {
    this.tsv = new ZeekTsvParser(this.defaultLog);
    this.format = 'unknown';
    this.stopped = false;
  }

  /** One line; the event it makes, or null (a header, a skipped line). */
  line(line: string): VigilEvent | null {
    if (this.stopped) return null;
    const stats = this.stats;
    if (this.format === 'unknown') {
      const c = line.trimStart()[0];
      if (c === '#') this.format = 'tsv';
      else if (c === '{') this.format = 'json';
      else if (c === undefined) return null;
      else {
        this.skip('not-a-zeek-log');
        this.stopped = true;
        return null;
      }
      stats.format = this.format;
    }
    const parsed = this.format === 'tsv' ? this.tsv.line(line) : parseZeekJsonLine(line, this.defaultLog);
    if (parsed.kind === 'skip') {
      if (parsed.reason !== 'empty-line') this.skip(parsed.reason);
      return null;
    }
    if (parsed.kind !== 'record') return null;
    const path = parsed.path || this.defaultLog || 'unknown';
    stats.records++;
    stats.byLog[path] = (stats.byLog[path] ?? 0) + 1;
    if (!isKnownZeekLog(path)) stats.other++;
    return zeekEvent(path, parsed.record);
  }
}

/**
 * The events of a stream, an array per chunk read (hundreds of lines): one await per chunk,
 * not per event. Memory stays bounded by the chunk and the line bound.
 */
export async function* readZeekBatches(
  stream: Readable,
  defaultLog: string,
  stats: ZeekReadStats,
): AsyncGenerator<VigilEvent[]> {
  const lineStats: LineStats = { lines: 0, tooLong: 0 };
  const reader = new ZeekLineReader(defaultLog, stats);
  try {
    for await (const lines of boundedLines(await decoded(stream), MAX_ZEEK_LINE_BYTES, lineStats)) {
      const events: VigilEvent[] = [];
      for (const line of lines) {
        const event = reader.line(line);
        if (event) events.push(event);
        else if (reader.stopped) break;
      }
      if (events.length) yield events;
      if (reader.stopped) return;
    }
  } catch (err) {
    reader.skip(
      /incorrect header|invalid|unexpected end/i.test((err as Error).message) ? 'corrupt-gzip' : 'read-error',
    );
  } finally {
    if (lineStats.tooLong) reader.skip('line-too-long', lineStats.tooLong);
  }
}

/**
 * Bytes read at a time, so events per batch: a few hundred TSV lines. A batch stays alive until its
 * consumer is done with it, and every young-generation collection meanwhile copies it: 256 KiB
 * chunks (some 1600 events a batch) doubled the time spent in those collections.
 */
const READ_CHUNK_BYTES = 64 * 1024;

/** A file's events, an array at a time (readZeekBatches). */
export function readZeekFile(
  file: string,
  stats: ZeekReadStats = newZeekStats(),
): AsyncGenerator<VigilEvent[]> {
  return readZeekBatches(createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }), logNameOf(file), stats);
}
