/**
 * @module access/blocklist
 * Addresses that never get in: files of addresses and CIDR ranges (one a line, `#` comments; a Tor
 * exit list is one such file) plus the blocks analysts add in the console. Malformed lines are
 * counted and reported, never fatal.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CidrSet, type IpAddress } from './ip.js';

/** Parses one blocklist text: entries and the lines it could not read. */
export function parseBlocklist(text: string): { entries: string[]; rejected: string[] } {
  const entries: string[] = [];
  const rejected: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const first = line.split(/\s+/)[0]!;
    if (new CidrSet().add(first)) entries.push(first);
    else rejected.push(first.slice(0, 64));
  }
  return { entries, rejected };
}

/** The named lists the gateway checks, in memory. */
export class Blocklists {
  private readonly lists = new Map<string, CidrSet>();

  /** Loads each file under its base name; an unreadable file is reported in the result. */
  static fromFiles(files: readonly string[]): { blocklists: Blocklists; problems: string[] } {
    const blocklists = new Blocklists();
    const problems: string[] = [];
    for (const file of files) problems.push(...blocklists.load(file));
    return { blocklists, problems };
  }

  /**
   * (Re)loads one file under its base name and returns its problems; a file that cannot be read
   * leaves the list it had in place.
   */
  load(file: string): string[] {
    try {
      const { entries, rejected } = parseBlocklist(readFileSync(file, 'utf8'));
      this.replace(path.basename(file), entries);
      return rejected.length ? [`${file}: ${rejected.length} unreadable lines (e.g. ${rejected[0]})`] : [];
    } catch (err) {
      return [`${file}: ${(err as Error).message}`];
    }
  }

  /** Entries per list name. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.lists].map(([name, set]) => [name, set.size]));
  }

  replace(name: string, entries: Iterable<string>): void {
    this.lists.set(name, new CidrSet(entries));
  }

  add(name: string, entry: string): boolean {
    let set = this.lists.get(name);
    if (!set) {
      set = new CidrSet();
      this.lists.set(name, set);
    }
    return set.add(entry);
  }

  /** The name of the first list that holds the address, or null. */
  match(ip: IpAddress | null): string | null {
    if (!ip) return null;
    for (const [name, set] of this.lists) if (set.has(ip)) return name;
    return null;
  }
}
