/**
 * @module vault/bulk-import
 * FHIR bulk-data NDJSON import (`vigil vault import`): files are read line by line and written in
 * batches, each batch one transaction, so memory holds one batch whatever the file size. It keeps
 * the source ids, and `Vault.importBatch` skips resources that are already stored with the same
 * content, so an interrupted import is resumed by running it again (the idempotency is the
 * progress record: a batch is either committed or not at all).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { VigilError } from '../core/index.js';
import type { AuditActor } from './audit-entry.js';
import type { ImportResult, Vault } from './vault.js';

/** Options of {@link importNdjson}. */
export interface ImportOptions {
  /** Resources per transaction (default 500). */
  batchSize?: number;
  /** Called after each batch with bytes read so far and the total. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** The actor recorded in the audit trail. */
  actor?: AuditActor;
}

/** What an import did, per outcome, over all files. */
export interface ImportSummary extends ImportResult {
  files: number;
  lines: number;
}

// A line longer than this is refused rather than buffered (a base64 attachment inline is far smaller).
const MAX_LINE = 64 * 1024 * 1024;

/** The NDJSON files a path names: the file itself, or the `.ndjson` files of a directory, sorted. */
export function ndjsonFiles(target: string): string[] {
  const st = statSync(target);
  if (!st.isDirectory()) return [target];
  return readdirSync(target)
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
    .map((f) => path.join(target, f));
}

/** Imports every resource of the NDJSON files under `target` (see the module comment). */
export async function importNdjson(
  vault: Vault,
  target: string,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const files = ndjsonFiles(target);
  const total = files.reduce((n, f) => n + statSync(f).size, 0);
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const actor = options.actor ?? { id: 'vigil-cli', role: 'import' };
  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0, files: files.length, lines: 0 };
  let before = 0;
  for (const file of files) {
    const stream = createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    let batch: unknown[] = [];
    let firstLine = 1;
    let lineNo = 0;
    const flush = async () => {
      if (!batch.length) return;
      try {
        const r = await vault.importBatch(actor, batch);
        summary.created += r.created;
        summary.updated += r.updated;
        summary.unchanged += r.unchanged;
      } catch (err) {
        if (err instanceof VigilError)
          throw new VigilError(
            err.code,
            `${path.basename(file)} (batch from line ${firstLine}): ${err.message}`,
            {
              details: err.details,
            },
          );
        throw err;
      }
      batch = [];
      options.onProgress?.(before + stream.bytesRead, total);
    };
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      if (line.length > MAX_LINE)
        throw new VigilError('BAD_REQUEST', `${path.basename(file)}:${lineNo}: line too long`);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new VigilError('BAD_REQUEST', `${path.basename(file)}:${lineNo}: not valid JSON`);
      }
      if (!batch.length) firstLine = lineNo;
      batch.push(value);
      summary.lines++;
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    before += statSync(file).size;
    options.onProgress?.(before, total);
  }
  return summary;
}
