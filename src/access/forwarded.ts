/**
 * @module access/forwarded
 * Reads what the reverse proxy says about the original request, and decides whether to believe it.
 * Only a configured proxy may ask: from any other peer the forwarding headers are ignored and the
 * request is denied with that reason. Oversized, repeated or malformed headers are refused too.
 * nginx `auth_request` sends `X-Original-URI`/`X-Original-Method`; Traefik ForwardAuth sends
 * `X-Forwarded-Uri`/`X-Forwarded-Method`; both send `X-Forwarded-For/Host/Proto`.
 */
import type { CidrSet } from './ip.js';
import { parseIp } from './ip.js';
import type { ForwardedRequest, SignalResult } from './types.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

export const LIMITS = { uri: 8192, host: 255, xff: 2048, hops: 32, method: 16 } as const;

export type ForwardedResult = { ok: true; request: ForwardedRequest } | { ok: false; reason: SignalResult };

const HOST_RE =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

function refuse(reason: string): ForwardedResult {
  return { ok: false, reason: { signal: 'request', score: 100, deny: true, reason } };
}

function single(headers: HeaderBag, name: string, max: number): { value?: string; error?: string } {
  const v = headers[name];
  if (v === undefined) return {};
  if (Array.isArray(v)) return { error: `repeated ${name} header` };
  if (v.length > max) return { error: `oversized ${name} header (${v.length} > ${max} bytes)` };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\x00-\x1f\x7f]/.test(v)) return { error: `control characters in ${name} header` };
  return { value: v };
}

/**
 * The client address: walking `X-Forwarded-For` from the right, the first hop that is not a trusted
 * proxy (an attacker can prepend anything, but cannot forge what our own proxies appended).
 */
export function clientFrom(
  xff: string | undefined,
  peer: string,
  trusted: CidrSet,
): string | { error: string } {
  if (!xff) return peer;
  const hops = xff.split(',').map((h) => h.trim());
  if (hops.length > LIMITS.hops) return { error: `X-Forwarded-For has too many hops (${hops.length})` };
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = parseIp(hops[i]!);
    if (!ip) return { error: 'malformed address in X-Forwarded-For' };
    if (i === 0 || !trusted.has(ip)) return hops[i]!;
  }
  return peer;
}

/** Parses and checks the forwarding headers of a check request from `peer`. */
export function readForwarded(headers: HeaderBag, peer: string, trusted: CidrSet): ForwardedResult {
  const peerIp = parseIp(peer);
  if (!trusted.has(peerIp)) {
    return refuse(
      `request from ${peer.slice(0, 64)}, which is not a trusted proxy: forwarding headers ignored`,
    );
  }
  const origUri = single(headers, 'x-original-uri', LIMITS.uri);
  const fwdUri = single(headers, 'x-forwarded-uri', LIMITS.uri);
  const flavour = origUri.value !== undefined || origUri.error ? 'nginx' : 'traefik';
  const uri = flavour === 'nginx' ? origUri : fwdUri;
  const method = single(
    headers,
    flavour === 'nginx' ? 'x-original-method' : 'x-forwarded-method',
    LIMITS.method,
  );
  const host = single(headers, 'x-forwarded-host', LIMITS.host);
  const proto = single(headers, 'x-forwarded-proto', 8);
  const xff = single(headers, 'x-forwarded-for', LIMITS.xff);
  for (const h of [uri, method, host, proto, xff]) if (h.error) return refuse(h.error);
  if (uri.value === undefined)
    return refuse('no X-Original-URI or X-Forwarded-Uri header: not a proxy check');
  if (!uri.value.startsWith('/') || uri.value.startsWith('//'))
    return refuse('original URI is not an absolute path');
  if (!host.value) return refuse('no X-Forwarded-Host header');
  const hostValue = host.value.trim().toLowerCase();
  if (!HOST_RE.test(hostValue)) return refuse('malformed X-Forwarded-Host header');
  const protoValue = (proto.value ?? 'https').trim().toLowerCase();
  if (protoValue !== 'http' && protoValue !== 'https') return refuse('malformed X-Forwarded-Proto header');
  const methodValue = (method.value ?? 'GET').trim().toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(methodValue)) return refuse('malformed original method header');
  const client = clientFrom(xff.value, peer, trusted);
  if (typeof client !== 'string') return refuse(client.error);
  return {
    ok: true,
    request: {
      flavour,
      method: methodValue,
      host: hostValue,
      proto: protoValue,
      uri: uri.value,
      clientIp: client,
    },
  };
}
