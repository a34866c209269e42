/**
 * @module access/apps
 * Which protected application a request is for: the host must match exactly (case-insensitive)
 * and the longest matching path prefix wins. No match is a deny: the gateway only admits what it
 * was told to protect.
 */
import type { AppPolicy } from './types.js';

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/' || path === prefix) return true;
  if (!path.startsWith(prefix)) return false;
  // `/ehr` protects `/ehr/…` and `/ehr?…`, never `/ehrevil`.
  return prefix.endsWith('/') || path[prefix.length] === '/' || path[prefix.length] === '?';
}

/** Normalises a host for comparison: lower case, default ports dropped. */
export function normaliseHost(host: string, proto: 'http' | 'https' = 'https'): string {
  const h = host.trim().toLowerCase();
  if (proto === 'https' && h.endsWith(':443')) return h.slice(0, -4);
  if (proto === 'http' && h.endsWith(':80')) return h.slice(0, -3);
  return h;
}

/** The path of a request URI without its query string. */
export function pathOf(uri: string): string {
  const q = uri.search(/[?#]/);
  return q < 0 ? uri : uri.slice(0, q);
}

/** Finds the application for a host and URI (longest path prefix on that host), or null. */
export function matchApp(
  apps: readonly AppPolicy[],
  host: string,
  uri: string,
  proto: 'http' | 'https' = 'https',
): AppPolicy | null {
  const h = normaliseHost(host, proto);
  const path = pathOf(uri);
  let best: AppPolicy | null = null;
  for (const app of apps) {
    if (normaliseHost(app.host, proto) !== h) continue;
    if (!prefixMatches(app.pathPrefix, path)) continue;
    if (!best || app.pathPrefix.length > best.pathPrefix.length) best = app;
  }
  return best;
}
