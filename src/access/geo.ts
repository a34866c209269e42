/**
 * @module access/geo
 * Where an address is: country, ASN and coordinates, from MaxMind-format databases. The lookup is
 * an interface; without a database it answers null and every geo signal says `unknown` with score
 * 0. It never guesses a location.
 */
import type { SignalResult } from './types.js';

export interface GeoInfo {
  country: string | null;
  asn: number | null;
  lat: number | null;
  lon: number | null;
}

/** Looks an address up; null when there is no data for it (or no database at all). */
export interface GeoSignals {
  lookup(ip: string): GeoInfo | null;
}

/** The default without a GeoIP database: knows nothing. */
export const noGeo: GeoSignals = { lookup: () => null };

/** The user's previous successful sign-in, for new-country/ASN and impossible-travel checks. */
export interface LastLogin {
  at: number;
  geo: GeoInfo;
}

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

/** New country, new ASN and impossible travel, or `unknown` for each when data is missing. */
export function geoSignals(
  current: GeoInfo | null,
  knownCountries: readonly string[],
  knownAsns: readonly number[],
  last: LastLogin | null,
  nowMs: number,
  maxKmh: number,
): SignalResult[] {
  if (!current) {
    return [
      unknown('geo-country', 'no GeoIP data for this address'),
      unknown('geo-asn', 'no GeoIP data for this address'),
      unknown('impossible-travel', 'no GeoIP data for this address'),
    ];
  }
  const out: SignalResult[] = [];
  if (!current.country) out.push(unknown('geo-country', 'country unknown for this address'));
  else if (knownCountries.length === 0) out.push(unknown('geo-country', 'no country history for this user'));
  else if (knownCountries.includes(current.country))
    out.push({ signal: 'geo-country', score: 0, reason: `usual country ${current.country}` });
  else out.push({ signal: 'geo-country', score: 25, reason: `new country ${current.country} for this user` });
  if (current.asn === null) out.push(unknown('geo-asn', 'network (ASN) unknown for this address'));
  else if (knownAsns.length === 0) out.push(unknown('geo-asn', 'no network history for this user'));
  else if (knownAsns.includes(current.asn))
    out.push({ signal: 'geo-asn', score: 0, reason: `usual network AS${current.asn}` });
  else out.push({ signal: 'geo-asn', score: 10, reason: `new network AS${current.asn} for this user` });
  const here = current.lat !== null && current.lon !== null ? { lat: current.lat, lon: current.lon } : null;
  const there =
    last && last.geo.lat !== null && last.geo.lon !== null ? { lat: last.geo.lat, lon: last.geo.lon } : null;
  if (!here || !there || !last) out.push(unknown('impossible-travel', 'no previous located sign-in'));
  else {
    const km = distanceKm(there, here);
    const hours = Math.max((nowMs - last.at) / 3_600_000, 1 / 60);
    const kmh = km / hours;
    out.push(
      kmh > maxKmh && km > 100
        ? {
            signal: 'impossible-travel',
            score: 60,
            reason: `${Math.round(km)} km since the last sign-in: ${Math.round(kmh)} km/h`,
          }
        : { signal: 'impossible-travel', score: 0, reason: `${Math.round(km)} km since the last sign-in` },
    );
  }
  return out;
}
