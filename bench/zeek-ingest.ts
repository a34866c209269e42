/**
 * The Zeek half of `npm run bench sensor`: lines/s of Vigil's Zeek ingestion (line splitting,
 * TSV header handling or JSON parsing, typed values, one normalised event per record) beside the
 * bare parse of the same lines (`JSON.parse` of each JSON line; `split('\t')` of each TSV data
 * line) in the same run. The input is the real Zeek logs in `../shared/data/zeek/` (json and tsv
 * of the same traffic), decompressed and repeated BENCH_ZEEK_REPEAT times (4) into a temporary
 * directory; without that folder the figures are skipped with a message.
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { newZeekStats, readZeekFile } from '../src/sensor/index.js';
import { type Figure, figure } from './figure.js';

const REPEAT = Number(process.env.BENCH_ZEEK_REPEAT ?? 4);
export const ZEEK_DATA = new URL('../../shared/data/zeek/', import.meta.url).pathname;

async function gunzipped(file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of createReadStream(file).pipe(createGunzip())) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes each log of one format, decompressed and repeated; returns the files. */
async function buildInputs(format: 'json' | 'tsv', dir: string): Promise<string[]> {
  const src = join(ZEEK_DATA, format);
  const files: string[] = [];
  for (const name of readdirSync(src).filter((f) => f.endsWith('.gz'))) {
    const body = await gunzipped(join(src, name));
    const out = join(dir, `${format}-${name.replace(/\.gz$/, '')}`);
    const ws = createWriteStream(out);
    for (let i = 0; i < REPEAT; i++) if (!ws.write(body)) await once(ws, 'drain');
    ws.end();
    await once(ws, 'finish');
    files.push(out);
  }
  return files;
}

/**
 * The peer: the same bytes, split into lines, each line parsed bare. Read in Node's default
 * 64 KiB chunks: in 256 KiB chunks the same loop runs about 3x slower (a handicapped peer).
 */
async function bareParse(format: 'json' | 'tsv', files: string[]): Promise<number> {
  let lines = 0;
  for (const file of files) {
    let rest = '';
    for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
      const text = rest + (chunk as string);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        const line = text.slice(start, nl);
        start = nl + 1;
        if (line === '' || line.startsWith('#')) continue;
        if (format === 'json') JSON.parse(line);
        else line.split('\t');
        lines++;
      }
      rest = text.slice(start);
    }
  }
  return lines;
}

async function ours(files: string[]): Promise<number> {
  let events = 0;
  for (const file of files) {
    const stats = newZeekStats();
    for await (const batch of readZeekFile(file, stats)) events += batch.length;
  }
  return events;
}

export async function zeekFigures(dir: string, log: (line: string) => void): Promise<Figure[]> {
  if (!existsSync(ZEEK_DATA)) {
    log(`Zeek: skipped (${ZEEK_DATA} is missing: the real Zeek logs sit beside the clone in shared/data)`);
    return [];
  }
  const figures: Figure[] = [];
  for (const format of ['json', 'tsv'] as const) {
    const files = await buildInputs(format, dir);
    const t0 = performance.now();
    const events = await ours(files);
    const tOurs = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const lines = await bareParse(format, files);
    const tBare = (performance.now() - t1) / 1000;
    log(
      `zeek ${format}: ${events} events in ${tOurs.toFixed(2)} s (${(events / tOurs).toFixed(0)}/s) vs bare parse of ${lines} lines in ${tBare.toFixed(2)} s`,
    );
    if (events !== lines)
      log(`zeek ${format}: ${lines - events} lines gave no event (skipped with a reason)`);
    figures.push(
      figure(
        `sensor.zeek.${format}`,
        'lines/s',
        lines / tOurs,
        format === 'json' ? 'bare JSON.parse per line' : "bare split('\\t') per line",
        lines / tBare,
      ),
    );
  }
  return figures;
}
