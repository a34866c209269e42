/**
 * @module vault/bundle-views
 * The Bundles the vault answers with (searchset, history), and the weak ETag of a version. Links
 * carry the query as understood plus the opaque `_cursor` for the next page. Pure.
 */
import type { FhirResource } from './fhir-types.js';
import type { StoredVersion } from './repository.js';

/** `W/"<versionId>"`. */
export function etagOf(v: { versionId: number }): string {
  return `W/"${v.versionId}"`;
}

function link(base: string, path: string, params: ReadonlyArray<readonly [string, string]>): string {
  const qs = new URLSearchParams(params.map(([k, v]): [string, string] => [k, v])).toString();
  return `${base}/${path}${qs ? `?${qs}` : ''}`;
}

/** A searchset Bundle of one page; `base` is the FHIR base URL (e.g. `https://host/fhir`). */
export function searchsetBundle(
  base: string,
  path: string,
  page: {
    resources: ReadonlyArray<StoredVersion | FhirResource>;
    next: string | null;
    self: ReadonlyArray<readonly [string, string]>;
  },
): FhirResource {
  const links = [{ relation: 'self', url: link(base, path, page.self) }];
  if (page.next)
    links.push({ relation: 'next', url: link(base, path, [...page.self, ['_cursor', page.next]]) });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link: links,
    entry: page.resources.map((r) => {
      const resource =
        'resource' in r && 'versionId' in r ? (r as StoredVersion).resource : (r as FhirResource);
      return {
        fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
        resource,
        search: { mode: 'match' },
      };
    }),
  };
}

/** A history Bundle, newest first; deleted versions appear as DELETE entries without a resource. */
export function historyBundle(
  base: string,
  path: string,
  versions: readonly StoredVersion[],
  next: string | null,
  self: ReadonlyArray<readonly [string, string]>,
): FhirResource {
  const links = [{ relation: 'self', url: link(base, path, self) }];
  if (next) links.push({ relation: 'next', url: link(base, path, [...self, ['_cursor', next]]) });
  return {
    resourceType: 'Bundle',
    type: 'history',
    link: links,
    entry: versions.map((v) => ({
      fullUrl: `${base}/${v.resourceType}/${v.id}`,
      ...(v.deleted ? {} : { resource: v.resource }),
      request: {
        method: v.deleted ? 'DELETE' : v.versionId === 1 ? 'POST' : 'PUT',
        url: `${v.resourceType}/${v.id}`,
      },
      response: {
        status: v.deleted ? '204' : v.versionId === 1 ? '201' : '200',
        etag: etagOf(v),
        lastModified: v.lastUpdated,
      },
    })),
  };
}
