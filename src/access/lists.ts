/**
 * @module access/lists
 * Downloaded blocklists: the Tor exit list and the configured IP lists, fetched by
 * `vigil access update-lists` when the machine is online. Each list is checked before it replaces
 * the old one (HTTP 200, within the size limit, mostly addresses: an error page never becomes a
 * blocklist), written to a temporary file and renamed over the old one (atomic: a reader sees the
 * old list or the new, never half). On any failure the old list stays. The gateway notices the
 * changed file and reloads it without a restart (`ListWatcher`).
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseBlocklist } from './blocklist.js';

/** A list to download: its name (file `<name>.txt`) and URL. */
export interface ListSource {
  name: string;
  url: string;
}

export interface ListSettings {
  torExitUrl: string;
  sources: readonly ListSource[];
  timeoutSeconds: number;
  maxBytes: number;
}

/** What happened to one list. */
export interface ListUpdate {
  name: string;
  url: string;
  file: string;
  ok: boolean;
  /** Entries in the list now in place (the new one, or the old one kept). */
  entries: number;
  /** Entries of the list before this update (null: there was none). */
  previous: number | null;
  rejected: number;
  error?: string;
}

/** The name of the Tor exit list. */
export const TOR_LIST = 'tor-exits';

/** Largest share of unreadable lines a list may have (an HTML page has nothing but). */
const MAX_REJECTED_SHARE = 0.1;

/** All lists to download, the Tor list first. */
export function listSources(s: Pick<ListSettings, 'torExitUrl' | 'sources'>): ListSource[] {
  const out: ListSource[] = [];
  if (s.torExitUrl.trim()) out.push({ name: TOR_LIST, url: s.torExitUrl.trim() });
  for (const src of s.sources) if (src.name !== TOR_LIST) out.push(src);
  return out;
}

export function listFile(dir: string, name: string): string {
  return path.join(dir, `${name}.txt`);
}

function countEntries(file: string, read: (f: string) => string | null): number | null {
  const text = read(file);
  return text === null ? null : parseBlocklist(text).entries.length;
}

async function download(url: string, timeoutMs: number, maxBytes: number): Promise<string> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('only http(s) URLs are fetched');
  const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new Error(`larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const why = (err: unknown): string => {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  const cause = e.cause?.code ?? e.cause?.message;
  return (cause ? `${e.message} (${cause})` : e.message).slice(0, 200);
};

/**
 * Downloads every list into `dir`, replacing each file only with a list that passed the checks.
 * `read` gives the current file's text (null when absent), so the old count can be reported.
 */
export async function updateLists(
  settings: ListSettings,
  dir: string,
  read: (file: string) => string | null,
): Promise<ListUpdate[]> {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const results: ListUpdate[] = [];
  for (const src of listSources(settings)) {
    const file = listFile(dir, src.name);
    const previous = countEntries(file, read);
    const base = { name: src.name, url: src.url, file, previous };
    try {
      const text = await download(src.url, settings.timeoutSeconds * 1000, settings.maxBytes);
      const { entries, rejected } = parseBlocklist(text);
      if (entries.length === 0) throw new Error('no addresses in the answer');
      if (rejected.length > (entries.length + rejected.length) * MAX_REJECTED_SHARE)
        throw new Error(`${rejected.length} unreadable lines of ${entries.length + rejected.length}`);
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, `# ${src.name} from ${src.url}\n${entries.join('\n')}\n`, { mode: 0o640 });
        renameSync(tmp, file);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      results.push({ ...base, ok: true, entries: entries.length, rejected: rejected.length });
    } catch (err) {
      results.push({ ...base, ok: false, entries: previous ?? 0, rejected: 0, error: why(err) });
    }
  }
  return results;
}

/** A file's identity for change detection. */
function stamp(file: string): string | null {
  try {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return null;
  }
}

/**
 * Notices list files that changed on disk (a rename by `update-lists`, an edited file) and calls
 * `reload` for each; a file that disappeared is reported once and its last list kept.
 */
export class ListWatcher {
  private readonly stamps = new Map<string, string | null>();

  constructor(
    private readonly files: readonly string[],
    private readonly reload: (file: string) => void,
  ) {
    for (const f of files) this.stamps.set(f, stamp(f));
  }

  /** Checks every file once; returns the files reloaded. */
  poll(): string[] {
    const changed: string[] = [];
    for (const f of this.files) {
      const now = stamp(f);
      if (now === this.stamps.get(f)) continue;
      this.stamps.set(f, now);
      if (now !== null) {
        this.reload(f);
        changed.push(f);
      }
    }
    return changed;
  }
}
