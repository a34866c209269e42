/**
 * @module access/geo
 * Where an address is (country, ASN, coordinates) and the signals built on it: new country, new
 * ASN and new network for this user, and impossible travel between two consecutive successful
 * sign-ins. The lookup is an interface (`GeoIp` reads `.mmdb` files); without data a signal says
 * `unknown` with score 0 and why. It never guesses a location.
 */
import type { IpAddress } from './ip.js';
import type { SignalResult } from './types.js';

export interface GeoInfo {
  country: string | null;
  asn: number | null;
  lat: number | null;
  lon: number | null;
  /** How far off the coordinates may be (km), when the database says. */
  radiusKm?: number | null;
}

/** What the configured databases can answer at all (so "unknown" can say why). */
export interface GeoCoverage {
  country: boolean;
  asn: boolean;
  location: boolean;
}

/** Looks an address up; null when there is no data for it (or no database at all). */
export interface GeoSignals {
  lookup(ip: string): GeoInfo | null;
  readonly coverage?: GeoCoverage;
}

/** The default without a GeoIP database: knows nothing. */
export const noGeo: GeoSignals = {
  lookup: () => null,
  coverage: { country: false, asn: false, location: false },
};

/** What a user's earlier sign-ins (those that passed MFA) taught: countries, ASNs, networks. */
export interface KnownPlaces {
  countries: ReadonlySet<string>;
  asns: ReadonlySet<number>;
  networks: ReadonlySet<string>;
}

/** A successful sign-in: when, from where. */
export interface LoginPlace {
  at: number;
  ip: string;
  geo: GeoInfo | null;
}

/** Scores of the geo signals. */
export const GEO_SCORES = { country: 25, asn: 10, network: 5, travel: 60 } as const;

/** Distances below this (after the accuracy radii) are never "travel": geolocation is coarser. */
export const MIN_TRAVEL_KM = 100;

const unknown = (signal: string, why: string): SignalResult => ({
  signal,
  score: 0,
  unknown: true,
  reason: why,
});

/** Great-circle distance in km (haversine). */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The network an address belongs to for "new network": its /24 (IPv4) or /48 (IPv6). This needs
 * no database, so it is known for every valid address.
 */
export function networkOf(ip: IpAddress | null): string | null {
  if (!ip) return null;
  if (ip.family === 4) {
    const v = Number(ip.value >> 8n);
    return `${v >>> 16}.${(v >>> 8) & 255}.${v & 255}.0/24`;
  }
  const top = ip.value >> 80n;
  const groups = [(top >> 32n) & 0xffffn, (top >> 16n) & 0xffffn, top & 0xffffn].map((g) => g.toString(16));
  return `${groups.join(':')}::/48`;
}

const noData = (coverage: GeoCoverage | undefined, what: keyof GeoCoverage, setting: string) =>
  coverage && !coverage[what] ? `no ${what === 'asn' ? 'ASN' : what} database (set ${setting})` : null;

export function countrySignal(
  current: GeoInfo | null,
  known: KnownPlaces,
  coverage?: GeoCoverage,
): SignalResult {
  const missing = noData(coverage, 'country', 'access.geoipCountryFile or access.geoipCityFile');
  if (missing) return unknown('geo-country', missing);
  if (!current?.country) return unknown('geo-country', 'country unknown for this address');
  if (known.countries.size === 0) return unknown('geo-country', 'no country history for this user yet');
  if (known.countries.has(current.country))
    return { signal: 'geo-country', score: 0, reason: `usual country ${current.country}` };
  return {
    signal: 'geo-country',
    score: GEO_SCORES.country,
    reason: `new country ${current.country} for this user (known: ${[...known.countries].slice(0, 5).join(',')})`,
  };
}

export function asnSignal(current: GeoInfo | null, known: KnownPlaces, coverage?: GeoCoverage): SignalResult {
  const missing = noData(coverage, 'asn', 'access.geoipAsnFile');
  if (missing) return unknown('geo-asn', missing);
  if (current?.asn == null) return unknown('geo-asn', 'network operator (ASN) unknown for this address');
  if (known.asns.size === 0) return unknown('geo-asn', 'no ASN history for this user yet');
  if (known.asns.has(current.asn))
    return { signal: 'geo-asn', score: 0, reason: `usual ASN AS${current.asn}` };
  return { signal: 'geo-asn', score: GEO_SCORES.asn, reason: `new ASN AS${current.asn} for this user` };
}

export function networkSignal(network: string | null, known: KnownPlaces): SignalResult {
  if (!network) return unknown('network', 'no valid client address');
  if (known.networks.size === 0) return unknown('network', 'no network history for this user yet');
  if (known.networks.has(network)) return { signal: 'network', score: 0, reason: `usual network ${network}` };
  return { signal: 'network', score: GEO_SCORES.network, reason: `new network ${network} for this user` };
}

const where = (p: LoginPlace) => `${p.ip}${p.geo?.country ? ` (${p.geo.country})` : ''}`;

/**
 * Impossible travel: the speed implied by two consecutive successful sign-ins, with the distance
 * reduced by both locations' accuracy radii (the benefit of the doubt goes to the user).
 */
export function travelSignal(
  previous: LoginPlace | null,
  current: LoginPlace | null,
  maxKmh: number,
  coverage?: GeoCoverage,
): SignalResult {
  const missing = noData(coverage, 'location', 'access.geoipCityFile');
  if (missing) return unknown('impossible-travel', missing);
  if (!current) return unknown('impossible-travel', 'no sign-in to compare');
  if (!previous) return unknown('impossible-travel', 'no earlier sign-in of this user to compare with');
  const a = previous.geo;
  const b = current.geo;
  if (a?.lat == null || a.lon == null || b?.lat == null || b.lon == null)
    return unknown('impossible-travel', 'no coordinates for one of the two sign-ins');
  const km = distanceKm({ lat: a.lat, lon: a.lon }, { lat: b.lat, lon: b.lon });
  const margin = (a.radiusKm ?? 0) + (b.radiusKm ?? 0);
  const effective = Math.max(0, km - margin);
  const hours = Math.max(current.at - previous.at, 60_000) / 3_600_000;
  const kmh = effective / hours;
  const span = `${Math.round(km)} km from ${where(previous)} at ${new Date(previous.at).toISOString()} to ${where(current)} in ${hours < 1 ? `${Math.round(hours * 60)} min` : `${hours.toFixed(1)} h`}`;
  if (effective > MIN_TRAVEL_KM && kmh > maxKmh)
    return {
      signal: 'impossible-travel',
      score: GEO_SCORES.travel,
      reason: `impossible travel: ${span} = ${Math.round(kmh)} km/h, above the ${maxKmh} km/h limit`,
    };
  return { signal: 'impossible-travel', score: 0, reason: `${span} (${Math.round(kmh)} km/h): possible` };
}
