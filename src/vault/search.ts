/**
 * @module vault/search
 * FHIR search over encrypted resources.
 *
 * - Indexed parameters (search-values.ts) are exact lookups of keyed hashes: comma-separated
 *   values are OR-ed, repeated parameters AND-ed, intersected in memory (memory grows with the
 *   number of matching ids, not with the data).
 * - `_id` restricts the candidates; `_lastUpdated` (all comparators) runs in SQL on
 *   `vault_current.last_updated`, the server's write time, which is not clinical data.
 * - Date parameters with a comparator or a time cannot use the equality index: they are evaluated
 *   on the decrypted candidates (date-range.ts). Without another parameter that means decrypting
 *   the type's resources page by page, at most `MAX_SCAN` per request (the page may then be
 *   short, with a `next` link to continue).
 * - `_sort=date` / `-date` sorts the decrypted matches by their earliest date (undated last), so
 *   it needs every match in memory: refused above `MAX_SORT` matches (narrow the search); each
 *   page re-runs the search and pages by offset, so writes between pages can shift entries.
 * - Paging: `_count` (default 20, at most 1000) and an opaque `_cursor` (the last id returned, or
 *   an offset when sorting), placed in the `next` link.
 * - Anything else (unknown parameters, modifiers, `_include`, `_total`, chained parameters) is a
 *   BAD_REQUEST naming the parameter: never a silently wrong result.
 * - Every candidate passes the access policy before it is counted, so results, paging and the
 *   absence of `_total` reveal nothing the caller may not see. When the policy can name the
 *   patients a caller may see (a clinician's care), the scan is narrowed to their key owners in
 *   SQL first. The search is audited with the ids it returned, and marked break-the-glass when a
 *   grant let any result through.
 */
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import type { VaultPrincipal } from './access-policy.js';
import type { AuditEntryInput } from './audit-entry.js';
import { identifiersOf } from './care-rules.js';
import { coverOf, type DateComparator, type DateRange, dateMatches, parseDateSearch } from './date-range.js';
import { isPatientScoped, requireStoredType } from './fhir-types.js';
import {
  type Allowed,
  authorize,
  type PendingEvents,
  type VaultContext,
  vaultEvent,
} from './interactions.js';
import type { StoredVersion } from './repository.js';
import { dateParamOf, datesOf, searchParamsOf } from './search-values.js';
import type { VaultTables } from './tables.js';

/** Default and largest page sizes. */
export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;
/** Most candidates decrypted by one request when a filter needs the plaintext. */
export const MAX_SCAN = 5000;
/** Most matches `_sort=date` will sort. */
export const MAX_SORT = 10_000;

/** One page of results. */
export interface SearchPage {
  resources: StoredVersion[];
  /** The cursor of the next page, or null on the last one. */
  next: string | null;
  /** The parameters as understood, for the `self` link (without `_cursor`). */
  self: Array<[string, string]>;
}

/** Thrown for a parameter the vault cannot answer exactly. */
export function unsupported(param: string, why = 'is not supported'): VigilError {
  return new VigilError('BAD_REQUEST', `Search parameter ${param.slice(0, 64)} ${why}`, {
    details: { fhirCode: 'not-supported', parameter: param.slice(0, 64) },
  });
}

interface DateFilter {
  param: string;
  op: DateComparator;
  range: DateRange;
}

interface ParsedSearch {
  count: number;
  cursor: { after?: string; offset?: number } | null;
  sort: 1 | -1 | null;
  ids: Set<string> | null;
  lookups: Array<{ param: string; values: string[] }>;
  lastUpdated: Array<{ op: DateComparator; range: DateRange }>;
  dates: DateFilter[];
  self: Array<[string, string]>;
  /** Key owners (`Patient/<id>`) the caller may see, when the policy names them. */
  owners: string[] | null;
}

function decodeCursor(value: string): { after?: string; offset?: number } {
  try {
    const c = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { a?: unknown; o?: unknown };
    if (typeof c.a === 'string' && c.a.length <= 64) return { after: c.a };
    if (typeof c.o === 'number' && Number.isInteger(c.o) && c.o >= 0) return { offset: c.o };
  } catch {
    // fall through
  }
  throw unsupported('_cursor', 'is not a cursor this server issued');
}

/** An opaque cursor: the last id returned, or an offset in a sorted result. */
export function encodeCursor(c: { after?: string; offset?: number }): string {
  return Buffer.from(
    JSON.stringify(c.after !== undefined ? { a: c.after } : { o: c.offset }),
    'utf8',
  ).toString('base64url');
}

/** Parses `_count` for search and history. */
export function parseCount(value: string | undefined): number {
  if (value === undefined) return DEFAULT_COUNT;
  if (!/^\d{1,7}$/.test(value)) throw unsupported('_count', 'must be a whole number');
  return Math.min(Number(value), MAX_COUNT);
}

function parse(type: string, params: ReadonlyArray<readonly [string, string]>): ParsedSearch {
  const defs = searchParamsOf(type);
  const dateParam = dateParamOf(type);
  const out: ParsedSearch = {
    count: DEFAULT_COUNT,
    cursor: null,
    sort: null,
    ids: null,
    lookups: [],
    lastUpdated: [],
    dates: [],
    self: [],
    owners: null,
  };
  for (const [rawName, value] of params) {
    const name = rawName.trim();
    if (name !== '_cursor') out.self.push([name, value]);
    if (name.includes(':') || name.includes('.'))
      throw unsupported(name, '(modifiers and chains) is not supported');
    switch (name) {
      case '_count':
        out.count = parseCount(value);
        continue;
      case '_cursor':
        out.cursor = decodeCursor(value);
        continue;
      case '_format':
        if (!['json', 'application/json', 'application/fhir+json'].includes(value))
          throw unsupported('_format', `value ${value.slice(0, 40)} is not supported (JSON only)`);
        continue;
      case '_sort': {
        if (
          !dateParam ||
          (value !== 'date' && value !== '-date' && value !== dateParam && value !== `-${dateParam}`)
        )
          throw unsupported('_sort', `value ${value.slice(0, 40)} is not supported (only date or -date)`);
        out.sort = value.startsWith('-') ? -1 : 1;
        continue;
      }
      case '_id': {
        const ids = value.split(',').map((v) => v.trim());
        const set = new Set(ids.filter((id) => /^[A-Za-z0-9\-.]{1,64}$/.test(id)));
        out.ids = out.ids ? new Set([...out.ids].filter((id) => set.has(id))) : set;
        continue;
      }
      case '_lastUpdated':
        out.lastUpdated.push(parseDateSearch('_lastUpdated', value));
        continue;
    }
    const def = Object.hasOwn(defs, name) ? defs[name] : undefined;
    if (!def) throw unsupported(name, `is not supported on ${type}`);
    if (value === '') throw unsupported(name, 'has an empty value');
    if (def.kind === 'date') {
      // Plain days, months and years are exact index lookups; comparators and times are filters.
      if (/^(eq)?\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) out.lookups.push({ param: name, values: [value] });
      else if (value.includes(',')) throw unsupported(name, 'with several date values is not supported');
      else out.dates.push({ param: name, ...parseDateSearch(name, value) });
      continue;
    }
    out.lookups.push({
      // `subject` names the same Patient reference as `patient` here, indexed once (search-values.ts).
      param: name === 'subject' && defs.patient ? 'patient' : name,
      values: value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    });
  }
  if (out.sort !== null && out.cursor?.after !== undefined)
    throw unsupported('_cursor', 'does not match _sort');
  if (out.sort === null && out.cursor?.offset !== undefined)
    throw unsupported('_cursor', 'does not match _sort');
  return out;
}

async function candidateIds(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  type: string,
  p: ParsedSearch,
): Promise<string[] | null> {
  let set: Set<string> | null = p.ids;
  for (const { param, values } of p.lookups) {
    const union = new Set<string>();
    for (const v of values) {
      for (const id of await ctx.index.findIds(type, param, v, trx)) union.add(id);
      if (param === 'participant')
        for (const id of await participantsByIdentifier(ctx, trx, type, v)) union.add(id);
    }
    set = set ? new Set([...set].filter((id) => union.has(id))) : union;
    if (set.size === 0) break;
  }
  return set ? [...set].sort() : null;
}

/**
 * Participants written as conditional references (`Practitioner?identifier=sys|value`, as Synthea
 * and many feeds write them) are found for `participant=Practitioner/<id>` through that
 * practitioner's identifiers.
 */
async function participantsByIdentifier(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  type: string,
  value: string,
): Promise<string[]> {
  const m = /^(?:Practitioner\/)?([A-Za-z0-9\-.]{1,64})$/.exec(value.trim());
  if (!m) return [];
  const [practitioner] = await ctx.repo.currentMany(trx, 'Practitioner', [m[1]!]);
  if (!practitioner) return [];
  const ids: string[] = [];
  for (const key of identifiersOf(practitioner.resource))
    ids.push(...(await ctx.index.findIds(type, 'participant-identifier', key, trx)));
  return ids;
}

/** Ids of live resources of the type, in id order, after `after`, filtered by `_lastUpdated`. */
async function scanIds(
  trx: Kysely<VaultTables>,
  type: string,
  p: ParsedSearch,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  let q = trx
    .selectFrom('vault_current')
    .select('id')
    .where('resource_type', '=', type)
    .where('deleted', '=', 0);
  if (after !== undefined) q = q.where('id', '>', after);
  if (p.owners) q = q.where('key_owner', 'in', p.owners.length ? p.owners : ['-']);
  for (const { op, range } of p.lastUpdated) {
    const s = new Date(range.start).toISOString();
    const e = new Date(range.end).toISOString();
    if (op === 'ne') throw unsupported('_lastUpdated', 'with ne is not supported');
    if (op === 'eq') q = q.where('last_updated', '>=', s).where('last_updated', '<', e);
    else if (op === 'gt') q = q.where('last_updated', '>=', e);
    else if (op === 'ge') q = q.where('last_updated', '>=', s);
    else if (op === 'lt') q = q.where('last_updated', '<', s);
    else q = q.where('last_updated', '<', e);
  }
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

/**
 * What `scanIds` checks in SQL, on a version already read: its key owner is one the caller may see
 * (when the search was narrowed by owner) and `_lastUpdated` holds. Used for index candidates,
 * whose versions are read by id anyway: one query instead of a scan and a read.
 */
function passesHead(v: StoredVersion, p: ParsedSearch, owners: ReadonlySet<string> | null): boolean {
  if (owners && (v.patientId === null || !owners.has(`Patient/${v.patientId}`))) return false;
  for (const { op, range } of p.lastUpdated) {
    const s = new Date(range.start).toISOString();
    const e = new Date(range.end).toISOString();
    const at = v.lastUpdated;
    if (op === 'ne') throw unsupported('_lastUpdated', 'with ne is not supported');
    if (
      op === 'eq'
        ? at < s || at >= e
        : op === 'gt'
          ? at < e
          : op === 'ge'
            ? at < s
            : op === 'lt'
              ? at >= s
              : at >= e
    )
      return false;
  }
  return true;
}

function passesDates(v: StoredVersion, filters: readonly DateFilter[]): boolean {
  if (!filters.length) return true;
  const cover = coverOf(datesOf(v.resource));
  if (!cover) return false;
  return filters.every((f) => dateMatches(cover, f.op, f.range));
}

const BATCH = 200;
/** Narrow by key owner in SQL up to this many visible patients; above, ask per candidate. */
const MAX_OWNERS = 2000;

/**
 * Runs a search inside `trx`, audits it with the ids returned, and queues its event. The caller
 * commits before answering, so the audit entry is durable first.
 */
export async function searchIn(
  ctx: VaultContext,
  trx: Kysely<VaultTables>,
  principal: VaultPrincipal,
  type: string,
  params: ReadonlyArray<readonly [string, string]>,
  pending: PendingEvents,
  /** Where the audit entry goes when `trx` is not a transaction (group commit); default: `trx`. */
  auditSink?: (entry: AuditEntryInput) => Promise<unknown>,
): Promise<SearchPage> {
  requireStoredType(type);
  const p = parse(type, params);
  const patientParam = p.lookups.find((l) => l.param === 'patient');
  const askedPatient =
    patientParam?.values.length === 1 ? patientParam.values[0]!.replace(/^Patient\//, '') : null;
  await authorize(ctx, trx, principal, { patientId: askedPatient, resourceType: type, action: 'search' }, [
    type,
  ]);
  if (isPatientScoped(type) && askedPatient !== null) {
    // The caller was just allowed this one patient: the scan needs no list of everyone in care.
    // (Narrowing only: every result still passes the policy below.)
    p.owners = [`Patient/${askedPatient}`];
  } else if (isPatientScoped(type) && ctx.policy.visiblePatients) {
    const visible = await ctx.policy.visiblePatients(principal, trx);
    if (visible && visible.size <= MAX_OWNERS) p.owners = [...visible].sort().map((id) => `Patient/${id}`);
  }

  let breakGlass: Allowed['breakGlass'] | undefined;
  // The same question (this principal reads this type of this patient) has one answer within a
  // request: asked once per patient, not once per result.
  const decisions = new Map<string | null, boolean>();
  const allowed = async (v: StoredVersion) => {
    const known = decisions.get(v.patientId);
    if (known !== undefined) return known;
    const d = await ctx.policy.decide(
      { principal, patientId: v.patientId, resourceType: type, action: 'read' },
      trx,
    );
    const ok = d.effect === 'allow';
    if (ok) breakGlass ??= d.breakGlass;
    decisions.set(v.patientId, ok);
    return ok;
  };
  const candidates = await candidateIds(ctx, trx, type, p);
  const owners = p.owners ? new Set(p.owners) : null;

  let results: StoredVersion[] = [];
  let next: string | null = null;
  if (p.sort === null) {
    // Keyset paging in id order.
    let after = p.cursor?.after;
    let scanned = 0;
    const pool = candidates ? candidates.filter((id) => after === undefined || id > after) : null;
    let poolAt = 0;
    for (;;) {
      let ids: string[];
      let versions: StoredVersion[];
      if (pool) {
        ids = pool.slice(poolAt, poolAt + BATCH);
        poolAt += ids.length;
        if (!ids.length) break;
        versions = (await ctx.repo.currentMany(trx, type, ids)).filter((v) => passesHead(v, p, owners));
      } else {
        ids = await scanIds(trx, type, p, after, BATCH);
        if (!ids.length) break;
        versions = await ctx.repo.currentMany(trx, type, ids);
      }
      for (const v of versions) {
        if (!passesDates(v, p.dates) || !(await allowed(v))) continue;
        results.push(v);
        if (results.length > p.count) break;
      }
      scanned += ids.length;
      if (!pool) after = ids.at(-1);
      if (results.length > p.count) break;
      if (p.dates.length && scanned >= MAX_SCAN) {
        // A bounded amount of decryption per request: continue from the last candidate seen.
        const lastSeen = pool ? pool[poolAt - 1] : after;
        if (results.length <= p.count && lastSeen !== undefined) {
          next = encodeCursor({ after: lastSeen });
          break;
        }
      }
      if (pool && poolAt >= pool.length) break;
    }
    if (results.length > p.count) {
      results = results.slice(0, p.count);
      next = p.count > 0 ? encodeCursor({ after: results.at(-1)!.id }) : null;
    }
  } else {
    const ids = candidates ?? (await scanIds(trx, type, p, undefined, MAX_SORT + 1));
    if (ids.length > MAX_SORT)
      throw unsupported('_sort', `needs a narrower search (more than ${MAX_SORT} matches)`);
    const matched: Array<{ v: StoredVersion; at: number }> = [];
    for (const v of await ctx.repo.currentMany(trx, type, ids)) {
      if ((candidates && !passesHead(v, p, owners)) || !passesDates(v, p.dates) || !(await allowed(v)))
        continue;
      matched.push({ v, at: coverOf(datesOf(v.resource))?.start ?? Number.NaN });
    }
    const dir = p.sort;
    matched.sort((a, b) => {
      const an = Number.isNaN(a.at);
      const bn = Number.isNaN(b.at);
      if (an || bn) return an === bn ? (a.v.id < b.v.id ? -1 : 1) : an ? 1 : -1;
      return a.at === b.at ? (a.v.id < b.v.id ? -1 : 1) : (a.at - b.at) * dir;
    });
    const offset = p.cursor?.offset ?? 0;
    results = matched.slice(offset, offset + p.count).map((m) => m.v);
    if (p.count > 0 && offset + p.count < matched.length) next = encodeCursor({ offset: offset + p.count });
  }

  const patients = new Set(results.map((r) => r.patientId));
  const only = patients.size === 1 ? [...patients][0]! : null;
  const entry: AuditEntryInput = {
    actor: { id: principal.id, role: principal.role },
    action: 'search',
    resources: [type],
    patientRef: only === null ? null : ctx.patientRef(only),
    outcome: 'success',
    searchResultIds: results.map((r) => `${r.resourceType}/${r.id}`),
    breakGlass: breakGlass ?? null,
  };
  if (auditSink) await auditSink(entry);
  else await ctx.audit.appendInTransaction(trx, entry);
  pending.push(
    vaultEvent(ctx, 'resource.searched', principal, only, {
      resourceType: type,
      action: 'search',
      results: results.length,
    }),
  );
  return { resources: results, next, self: p.self };
}
