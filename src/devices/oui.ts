/**
 * @module devices/oui
 * MAC vendor lookup from the IEEE registration authority's public listings, as Debian's
 * `ieee-data` package ships them (`/usr/share/ieee-data`: MA-L `oui.csv` (24-bit prefixes), MA-M
 * `mam.csv` (28-bit), MA-S `oui36.csv` and IAB `iab.csv` (36-bit)). The longest assigned prefix
 * wins. Locally administered addresses (randomised by phones and laptops) and multicast addresses
 * have no vendor, and say so. `vigil` never guesses a vendor without the registry.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readCsv } from '../core/index.js';

export const DEFAULT_IEEE_DATA_DIR = '/usr/share/ieee-data';

export type MacKind = 'universal' | 'local' | 'multicast';

export interface VendorLookup {
  /** The organisation the prefix is assigned to; undefined when unknown. */
  vendor?: string;
  registry?: 'MA-L' | 'MA-M' | 'MA-S' | 'IAB';
  /** The assigned prefix in hex, e.g. `0050C2` or `70B3D5F2F`. */
  prefix?: string;
  kind: MacKind;
  /** Why there is no vendor: `local`, `multicast`, `unassigned`, `no-registry`, `bad-mac`. */
  reason?: string;
}

const FILES: Array<{ file: string; registry: VendorLookup['registry']; hexDigits: number }> = [
  { file: 'oui36.csv', registry: 'MA-S', hexDigits: 9 },
  { file: 'iab.csv', registry: 'IAB', hexDigits: 9 },
  { file: 'mam.csv', registry: 'MA-M', hexDigits: 7 },
  { file: 'oui.csv', registry: 'MA-L', hexDigits: 6 },
];

/** `00:1A:2b-3c.4d5e` → `001A2B3C4D5E`, or undefined when it is not a 48-bit MAC. */
export function normaliseMac(mac: string): string | undefined {
  const hex = mac.replace(/[\s:.-]/g, '').toUpperCase();
  return /^[0-9A-F]{12}$/.test(hex) ? hex : undefined;
}

export class OuiRegistry {
  /** Prefix → organisation, one map per prefix length (9, 7 and 6 hex digits). */
  readonly #byLength = new Map<number, Map<string, { vendor: string; registry: VendorLookup['registry'] }>>();
  readonly loaded: boolean;
  readonly entries: number;

  private constructor(
    maps: Map<number, Map<string, { vendor: string; registry: VendorLookup['registry'] }>>,
  ) {
    this.#byLength = maps;
    this.entries = [...maps.values()].reduce((n, m) => n + m.size, 0);
    this.loaded = this.entries > 0;
  }

  /** Loads the registry's CSV files from `dir`; a missing directory gives an empty registry. */
  static async load(dir = DEFAULT_IEEE_DATA_DIR): Promise<OuiRegistry> {
    const maps = new Map<number, Map<string, { vendor: string; registry: VendorLookup['registry'] }>>();
    for (const { file, registry, hexDigits } of FILES) {
      const full = path.join(dir, file);
      if (!existsSync(full)) continue;
      const records = await readCsv(readFileSync(full), {
        maxBytes: 64 * 1024 * 1024,
        maxRecords: 1_000_000,
      });
      const map = maps.get(hexDigits) ?? new Map();
      for (const r of records.slice(1)) {
        const assignment = r.fields[1]?.trim().toUpperCase();
        const vendor = r.fields[2]?.trim();
        if (!assignment || !vendor || assignment.length !== hexDigits || !/^[0-9A-F]+$/.test(assignment))
          continue;
        map.set(assignment, { vendor, registry });
      }
      maps.set(hexDigits, map);
    }
    return new OuiRegistry(maps);
  }

  /** An empty registry (no data installed): every lookup says `no-registry`. */
  static empty(): OuiRegistry {
    return new OuiRegistry(new Map());
  }

  lookup(mac: string): VendorLookup {
    const hex = normaliseMac(mac);
    if (!hex) return { kind: 'universal', reason: 'bad-mac' };
    const first = Number.parseInt(hex.slice(0, 2), 16);
    if (first & 0x01) return { kind: 'multicast', reason: 'multicast' };
    if (first & 0x02) return { kind: 'local', reason: 'local' };
    if (!this.loaded) return { kind: 'universal', reason: 'no-registry' };
    for (const digits of [9, 7, 6]) {
      const hit = this.#byLength.get(digits)?.get(hex.slice(0, digits));
      if (hit)
        return {
          vendor: hit.vendor,
          registry: hit.registry,
          prefix: hex.slice(0, digits),
          kind: 'universal',
        };
    }
    return { kind: 'universal', reason: 'unassigned' };
  }
}
