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

export async function* readZeekStream(
  stream: Readable,
  defaultLog: string,
  stats: ZeekReadStats,
): AsyncGenerator<VigilEvent> {
  const lineStats: LineStats = { lines: 0, tooLong: 0 };
  const tsv = new ZeekTsvParser(defaultLog);
  const count = (reason: string) => {
    stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
  };
  try {
    for await (const line of boundedLines(await decoded(stream), MAX_ZEEK_LINE_BYTES, lineStats)) {
      if (stats.format === 'unknown') {
        const c = line.trimStart()[0];
        if (c === '#') stats.format = 'tsv';
        else if (c === '{') stats.format = 'json';
        else if (c === undefined) continue;
        else {
          count('not-a-zeek-log');
          return;
        }
      }
      const parsed = stats.format === 'tsv' ? tsv.line(line) : parseZeekJsonLine(line, defaultLog);
      if (parsed.kind === 'skip') {
        if (parsed.reason !== 'empty-line') count(parsed.reason);
        continue;
      }
      if (parsed.kind !== 'record') continue;
      const path = parsed.path || defaultLog || 'unknown';
      stats.records++;
      stats.byLog[path] = (stats.byLog[path] ?? 0) + 1;
      if (!isKnownZeekLog(path)) stats.other++;
      yield zeekEvent(path, parsed.record);
    }
  } catch (err) {
    count(
      /incorrect header|invalid|unexpected end/i.test((err as Error).message) ? 'corrupt-gzip' : 'read-error',
    );
  } finally {
    if (lineStats.tooLong)
      stats.skipped['line-too-long'] = (stats.skipped['line-too-long'] ?? 0) + lineStats.tooLong;
  }
}

export function readZeekFile(
  file: string,
  stats: ZeekReadStats = newZeekStats(),
): AsyncGenerator<VigilEvent> {
  return readZeekStream(createReadStream(file, { highWaterMark: 256 * 1024 }), logNameOf(file), stats);
}
