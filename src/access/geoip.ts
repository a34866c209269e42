/**
 * @module access/geoip
 * GeoIP from MaxMind-format `.mmdb` files, read with the maintained `maxmind` reader (mmdb-lib).
 * The hospital points `access.geoipCityFile` / `geoipCountryFile` / `geoipAsnFile` at its own
 * licensed GeoIP2/GeoLite2 databases; without them the country comes from the data package
 * `@ip-location-db/geo-whois-asn-country-mmdb` (country only: no ASN, no coordinates, so those
 * signals say unknown). Both record layouts are read: MaxMind's (`country.iso_code`,
 * `location.latitude`, `autonomous_system_number`) and ip-location-db's (`country_code`,
 * `latitude`, `autonomous_system_number`). A configured file that cannot be read stops start-up
 * with a message naming the setting: a hospital that set it expects it to work.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'maxmind';
import { VigilError } from '../core/index.js';
import type { GeoCoverage, GeoInfo, GeoSignals } from './geo.js';

/** The data package's database (country, IPv4 and IPv6 in one file). */
export const DEFAULT_GEO_PACKAGE = '@ip-location-db/geo-whois-asn-country-mmdb';
const DEFAULT_GEO_FILE = `${DEFAULT_GEO_PACKAGE}/geo-whois-asn-country.mmdb`;

/** Where the databases are; `useDefault` adds the data package for the country. */
export interface GeoIpFiles {
  cityFile?: string | undefined;
  countryFile?: string | undefined;
  asnFile?: string | undefined;
  useDefault?: boolean | undefined;
}

/** One opened database and what it is. */
export interface GeoSource {
  name: string;
  file: string;
  type: string;
  built: string;
  /** What the signals may expect from it (by the setting that named it). */
  provides: ReadonlyArray<keyof GeoCoverage>;
}

type Rec = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Rec | null => (v && typeof v === 'object' ? (v as Rec) : null);

/** Country code of a record in either layout (the country of the address, else where it is registered). */
export function countryOf(r: Rec): string | null {
  const code =
    str(obj(r.country)?.iso_code) ?? str(obj(r.registered_country)?.iso_code) ?? str(r.country_code);
  return code && /^[A-Za-z]{2}$/.test(code) ? code.toUpperCase() : null;
}

export function asnOf(r: Rec): number | null {
  const n = num(r.autonomous_system_number) ?? num(Number(r.autonomous_system_number ?? Number.NaN));
  return n !== null && Number.isInteger(n) && n > 0 ? n : null;
}

/** Coordinates and the accuracy radius (km) a City database gives. */
export function locationOf(r: Rec): { lat: number; lon: number; radiusKm: number | null } | null {
  const loc = obj(r.location);
  const lat = num(loc?.latitude) ?? num(r.latitude);
  const lon = num(loc?.longitude) ?? num(r.longitude);
  if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return { lat, lon, radiusKm: num(loc?.accuracy_radius) };
}

function open(file: string, setting: string): Reader<Rec> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new VigilError(
      'CONFIG_INVALID',
      `${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return new Reader<Rec>(buf);
  } catch (err) {
    throw new VigilError(
      'CONFIG_INVALID',
      `${setting}: ${file} is not a MaxMind-format database (${(err as Error).message.slice(0, 120)})`,
    );
  }
}

/** The path of the data package's database, or null when the package is not installed. */
export function defaultGeoFile(): string | null {
  try {
    return createRequire(import.meta.url).resolve(DEFAULT_GEO_FILE);
  } catch {
    return null;
  }
}

const CACHE_MAX = 10_000;

/** Lookups over the opened databases; each field comes from the first database that has it. */
export class GeoIp implements GeoSignals {
  readonly coverage: GeoCoverage;
  private readonly cache = new Map<string, GeoInfo | null>();

  constructor(private readonly readers: ReadonlyArray<{ reader: Reader<Rec>; source: GeoSource }>) {
    const has = (kind: keyof GeoCoverage) => readers.some((r) => r.source.provides.includes(kind));
    this.coverage = { country: has('country'), asn: has('asn'), location: has('location') };
  }

  get sources(): GeoSource[] {
    return this.readers.map((r) => r.source);
  }

  lookup(ip: string): GeoInfo | null {
    const hit = this.cache.get(ip);
    if (hit !== undefined) return hit;
    const info = this.read(ip);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(ip, info);
    return info;
  }

  private read(ip: string): GeoInfo | null {
    const out: GeoInfo = { country: null, asn: null, lat: null, lon: null, radiusKm: null };
    let found = false;
    for (const { reader } of this.readers) {
      let rec: Rec | null;
      try {
        rec = reader.get(ip);
      } catch {
        return null; // not an address the reader accepts (e.g. IPv6 in an IPv4-only file)
      }
      if (!rec) continue;
      found = true;
      out.country ??= countryOf(rec);
      out.asn ??= asnOf(rec);
      if (out.lat === null) {
        const loc = locationOf(rec);
        if (loc) {
          out.lat = loc.lat;
          out.lon = loc.lon;
          out.radiusKm = loc.radiusKm;
        }
      }
    }
    return found ? out : null;
  }
}

/** Opens the configured databases (and the data package's, unless turned off). */
export function openGeoIp(files: GeoIpFiles): GeoIp {
  const readers: Array<{ reader: Reader<Rec>; source: GeoSource }> = [];
  const add = (name: string, file: string, setting: string, provides: GeoSource['provides']) => {
    const reader = open(file, setting);
    const m = reader.metadata;
    readers.push({
      reader,
      source: { name, file, type: m.databaseType, built: m.buildEpoch.toISOString(), provides },
    });
  };
  if (files.cityFile) add('city', files.cityFile, 'access.geoipCityFile', ['country', 'location']);
  if (files.countryFile) add('country', files.countryFile, 'access.geoipCountryFile', ['country']);
  if (files.asnFile) add('asn', files.asnFile, 'access.geoipAsnFile', ['asn']);
  if (files.useDefault !== false) {
    const file = defaultGeoFile();
    if (file) add(DEFAULT_GEO_PACKAGE, file, DEFAULT_GEO_PACKAGE, ['country']);
  }
  return new GeoIp(readers);
}
