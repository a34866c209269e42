/**
 * @module vault/bundle
 * `batch` and `transaction` Bundles. Parsing and `urn:uuid:` reference rewriting are pure and
 * live here; the Vault runs the entries (a transaction in one database transaction, all or
 * nothing; a batch entry by entry, each in its own).
 *
 * A transaction processes entries in FHIR's order (DELETE, POST, PUT, GET), gives every POST
 * entry its id first, and rewrites every `reference` equal to a POST entry's `urn:uuid:` fullUrl
 * to `Type/<new id>` anywhere in the Bundle's resources before anything is validated or stored.
 */
import { randomUUID } from 'node:crypto';
import { VigilError } from '../core/index.js';
import type { FhirResource } from './fhir-types.js';

/** One request of a Bundle, parsed. */
export interface BundleEntryRequest {
  index: number;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  type: string;
  id: string | null;
  versionId: string | null;
  query: Array<[string, string]> | null;
  ifMatch: string | null;
  resource: FhirResource | null;
  /** For POST: the id assigned in advance (transactions), so references can point at it. */
  assignedId: string | null;
}

/** The largest Bundle accepted (entries). */
export const MAX_BUNDLE_ENTRIES = 1000;

function bad(message: string, expression?: string): VigilError {
  return new VigilError('BAD_REQUEST', message, {
    details: { fhirCode: 'invalid', ...(expression ? { expression: [expression] } : {}) },
  });
}

/** Validates a Bundle's shape and parses its requests. */
export function parseBundle(body: unknown): { type: 'batch' | 'transaction'; entries: BundleEntryRequest[] } {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw bad('The body must be a Bundle', 'Bundle');
  const b = body as { resourceType?: unknown; type?: unknown; entry?: unknown };
  if (b.resourceType !== 'Bundle') throw bad('The body must be a Bundle', 'Bundle.resourceType');
  if (b.type !== 'batch' && b.type !== 'transaction')
    throw bad('Bundle.type must be batch or transaction', 'Bundle.type');
  const list = b.entry ?? [];
  if (!Array.isArray(list)) throw bad('Bundle.entry must be an array', 'Bundle.entry');
  if (list.length > MAX_BUNDLE_ENTRIES)
    throw bad(`A Bundle may hold at most ${MAX_BUNDLE_ENTRIES} entries`, 'Bundle.entry');
  const entries = list.map((raw, index) => parseEntry(raw, index));
  const type = b.type;
  if (type === 'transaction') {
    const urls = new Map<string, string>();
    for (const [i, raw] of list.entries()) {
      const e = entries[i]!;
      if (e.method !== 'POST') continue;
      e.assignedId = randomUUID();
      const fullUrl = (raw as { fullUrl?: unknown }).fullUrl;
      if (typeof fullUrl === 'string' && fullUrl.startsWith('urn:uuid:')) {
        if (urls.has(fullUrl))
          throw bad(`Bundle.entry[${i}].fullUrl is used twice`, `Bundle.entry[${i}].fullUrl`);
        urls.set(fullUrl, `${e.type}/${e.assignedId}`);
      }
    }
    for (const e of entries) if (e.resource) e.resource = rewriteReferences(e.resource, urls) as FhirResource;
  }
  return { type, entries };
}

function parseEntry(raw: unknown, index: number): BundleEntryRequest {
  const at = `Bundle.entry[${index}]`;
  if (!raw || typeof raw !== 'object') throw bad(`${at} must be an object`, at);
  const { request, resource } = raw as { request?: unknown; resource?: unknown };
  if (!request || typeof request !== 'object') throw bad(`${at}.request is required`, `${at}.request`);
  const { method, url, ifMatch } = request as { method?: unknown; url?: unknown; ifMatch?: unknown };
  if (method !== 'GET' && method !== 'POST' && method !== 'PUT' && method !== 'DELETE')
    throw bad(`${at}.request.method must be GET, POST, PUT or DELETE`, `${at}.request.method`);
  if (typeof url !== 'string' || !url) throw bad(`${at}.request.url is required`, `${at}.request.url`);
  const [path = '', search] = url.replace(/^\/+/, '').split('?', 2) as [string, string | undefined];
  const parts = path.split('/');
  const type = parts[0] ?? '';
  const id = parts[1] ?? null;
  const versionId = parts[2] === '_history' ? (parts[3] ?? null) : null;
  if (
    !/^[A-Z][A-Za-z]{0,63}$/.test(type) ||
    parts.length > 4 ||
    (parts.length > 2 && parts[2] !== '_history')
  )
    throw bad(`${at}.request.url must be Type, Type/id or Type/id/_history/vid`, `${at}.request.url`);
  const needsId = method === 'PUT' || method === 'DELETE';
  if (needsId && !id) throw bad(`${at}.request.url must name an id for ${method}`, `${at}.request.url`);
  if (method === 'POST' && id) throw bad(`${at}.request.url must be a type for POST`, `${at}.request.url`);
  if (
    (method === 'POST' || method === 'PUT') &&
    (!resource || typeof resource !== 'object' || Array.isArray(resource))
  )
    throw bad(`${at}.resource is required for ${method}`, `${at}.resource`);
  if (search !== undefined && method !== 'GET')
    throw bad(`${at}.request.url: conditional ${method} is not supported`, `${at}.request.url`);
  const r = (method === 'POST' || method === 'PUT' ? resource : null) as FhirResource | null;
  if (r && r.resourceType !== type)
    throw bad(
      `${at}.resource is a ${String(r.resourceType)}, the url names ${type}`,
      `${at}.resource.resourceType`,
    );
  return {
    index,
    method,
    type,
    id,
    versionId,
    query: search === undefined ? null : [...new URLSearchParams(search).entries()],
    ifMatch: typeof ifMatch === 'string' ? ifMatch : null,
    resource: r,
    assignedId: null,
  };
}

/** A copy of `value` with every `reference` found in `urls` replaced. */
export function rewriteReferences(value: unknown, urls: ReadonlyMap<string, string>): unknown {
  if (urls.size === 0) return value;
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, urls));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === 'reference' && typeof v === 'string' && urls.has(v) ? urls.get(v) : rewriteReferences(v, urls);
  }
  return out;
}

/** FHIR's processing order for transactions: DELETE, POST, PUT, GET. */
export function transactionOrder(entries: readonly BundleEntryRequest[]): BundleEntryRequest[] {
  const rank = { DELETE: 0, POST: 1, PUT: 2, GET: 3 } as const;
  return [...entries].sort((a, b) => rank[a.method] - rank[b.method] || a.index - b.index);
}

/** `W/"3"`, `"3"` or `3` → 3; BAD_REQUEST otherwise. */
export function parseIfMatch(value: string): number {
  const m = /^(?:W\/)?"?([1-9]\d{0,9})"?$/.exec(value.trim());
  if (!m)
    throw new VigilError('BAD_REQUEST', 'If-Match must be W/"<versionId>"', {
      details: { fhirCode: 'invalid' },
    });
  return Number(m[1]);
}
