/**
 * @module awareness/scim
 * SCIM 2.0 Users (RFC 7643, RFC 7644) over the staff directory, so an identity provider (Entra ID,
 * Okta, Keycloak…) provisions staff as it does for other applications. The mapping:
 *
 * | SCIM                                     | directory                                   |
 * |------------------------------------------|---------------------------------------------|
 * | `id`                                     | person id (assigned here, immutable)        |
 * | `userName`, `emails[primary].value`      | email (one address, the unique key)         |
 * | `name.formatted` / `givenName familyName` / `displayName` | name                      |
 * | `title`                                  | job role                                    |
 * | enterprise `department`, `manager.value` | department, manager (a person id)           |
 * | `externalId`                             | the provider's own id, kept exactly as sent (filterable with `eq`, case-sensitive) |
 * | `active`                                 | `false` = terminated; `true` re-activates a terminated person (leave stays leave) |
 *
 * Becoming inactive (PATCH/PUT `active: false`, or DELETE) sets the person terminated through the
 * directory, which publishes `awareness.person.terminated`: the same event as the CSV import, so
 * the rest of Vigil revokes them the same way. DELETE terminates rather than erases (training and
 * phishing records stay for audit); the user stays readable with `active: false`.
 *
 * Standard User attributes that are not stored (phone numbers, addresses, locale, `password`…) are accepted and ignored, as RFC 7644 allows; names that are no User attribute,
 * extension schemas other than the enterprise one and writes to `id` or `meta` are refused.
 */
import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { AnyDb } from '../platform/db/index.js';
import { toCount } from '../platform/db/index.js';
import { type Actor, type Directory, type Person, toPerson } from './directory.js';
import { splitName } from './phishing-render.js';
import {
  type FilterTerm,
  normalizeAttribute,
  parseFilter,
  SCIM_CORE_USER,
  SCIM_ENTERPRISE_USER,
  scimError,
} from './scim-filter.js';
import type { AwarenessTables } from './tables.js';

export { parseFilter, SCIM_CORE_USER, SCIM_ENTERPRISE_USER, scimError } from './scim-filter.js';

export const SCIM_MESSAGES = {
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

/** Most resources in one page (`count` above it is lowered, as RFC 7644 §3.4.2.4 allows). */
export const SCIM_MAX_PAGE = 200;
/** Most operations in one PATCH request. */
export const SCIM_MAX_OPERATIONS = 100;

/** A SCIM User as this server returns it. */
export interface ScimUser {
  schemas: string[];
  id: string;
  externalId?: string;
  userName: string;
  name: { formatted: string; givenName: string; familyName: string };
  displayName: string;
  title?: string;
  emails: Array<{ value: string; type: 'work'; primary: true }>;
  active: boolean;
  [SCIM_ENTERPRISE_USER]?: { department?: string; manager?: { value: string; $ref: string } };
  meta: { resourceType: 'User'; created: string; lastModified: string; location: string };
}

export interface ScimListResponse {
  schemas: [typeof SCIM_MESSAGES.list];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: ScimUser[];
}

/** The fields a request asks for, before they are written. */
interface Desired {
  email: string;
  name: string;
  jobRole: string | null;
  department: string | null;
  managerId: string | null;
  externalId: string | null;
  /** Undefined leaves the status as it is. */
  active?: boolean;
}

/** Standard User attributes (RFC 7643 §4.1) accepted and not stored. */
const IGNORED = new Set([
  'nickname',
  'profileurl',
  'usertype',
  'preferredlanguage',
  'locale',
  'timezone',
  'password',
  'phonenumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509certificates',
  'name.middlename',
  'name.honorificprefix',
  'name.honorificsuffix',
  'ent:employeenumber',
  'ent:costcenter',
  'ent:organization',
  'ent:division',
]);
const READ_ONLY = new Set(['id', 'meta', 'groups']);

const bad = (scimType: string, message: string) => scimError(400, scimType, message);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown, attr: string, nullable: true): string | null;
function text(v: unknown, attr: string, nullable: false): string;
function text(v: unknown, attr: string, nullable: boolean): string | null {
  if (v === null || v === undefined) {
    if (nullable) return null;
    throw bad('invalidValue', `${attr}: required`);
  }
  if (typeof v !== 'string') throw bad('invalidValue', `${attr}: expected a string`);
  const t = v.trim();
  if (!t && !nullable) throw bad('invalidValue', `${attr}: required`);
  return t || null;
}

/** `true`/`false`, also as the strings some identity providers send ("False"). */
function bool(v: unknown, attr: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw bad('invalidValue', `${attr}: expected true or false`);
}

/** The address of a SCIM `emails` value: the primary one, else the work one, else the first. */
function emailOf(v: unknown): string | null {
  if (v === null) return null;
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) return null;
  if (list.length > 20 || !list.every(isObject))
    throw bad('invalidValue', 'emails: expected a list of {value}');
  const pick = list.find((e) => e.primary === true) ?? list.find((e) => e.type === 'work') ?? list[0]!;
  return text(pick.value, 'emails.value', false);
}

function managerOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v.trim() || null;
  if (isObject(v)) return text(v.value, 'manager.value', true);
  throw bad('invalidValue', 'manager: expected {"value": "<person id>"}');
}

/** A mutable view of one user while a request's attributes are applied. */
class Draft {
  email: string;
  formatted: string | null = null;
  given: string | null = null;
  family: string | null = null;
  display: string | null = null;
  emailsValue: string | null = null;
  jobRole: string | null;
  department: string | null;
  managerId: string | null;
  externalId: string | null;
  active: boolean | undefined = undefined;
  constructor(private readonly current: Person | null) {
    this.email = current?.email ?? '';
    this.jobRole = current?.jobRole ?? null;
    this.department = current?.department ?? null;
    this.managerId = current?.managerId ?? null;
    this.externalId = current?.externalId ?? null;
  }

  /** Sets (add/replace) or clears (remove: `value` undefined) one attribute by its normalized path. */
  set(path: string, value: unknown, remove = false): void {
    if (READ_ONLY.has(path) || path.startsWith('meta.'))
      throw bad('mutability', `${path === 'meta' || path.startsWith('meta.') ? 'meta' : path} is read-only`);
    if (IGNORED.has(path) || path.startsWith('phonenumbers') || path.startsWith('addresses')) return;
    if (path === 'schemas') return;
    switch (path) {
      case 'username':
        if (remove) throw bad('mutability', 'userName is required and cannot be removed');
        this.email = text(value, 'userName', false);
        return;
      case 'active':
        if (remove) throw bad('mutability', 'active cannot be removed; set it to false');
        this.active = bool(value, 'active');
        return;
      case 'displayname':
        if (!remove) this.display = text(value, 'displayName', true);
        return;
      case 'name':
        if (remove) throw bad('mutability', 'name is required and cannot be removed');
        if (!isObject(value)) throw bad('invalidValue', 'name: expected an object');
        for (const [k, v] of Object.entries(value)) this.set(`name.${k.toLowerCase()}`, v);
        return;
      case 'name.formatted':
      case 'name.givenname':
      case 'name.familyname': {
        if (remove) throw bad('mutability', 'name is required and cannot be removed');
        const v = text(value, path, true);
        if (path === 'name.formatted') this.formatted = v;
        else if (path === 'name.givenname') this.given = v ?? '';
        else this.family = v ?? '';
        return;
      }
      case 'title':
        this.jobRole = remove ? null : text(value, 'title', true);
        return;
      case 'externalid':
        // caseExact (RFC 7643 §3.1): kept exactly as sent, not trimmed or lower-cased.
        if (remove || value === null) this.externalId = null;
        else if (typeof value !== 'string') throw bad('invalidValue', 'externalId: expected a string');
        else this.externalId = value || null;
        return;
      case 'emails':
      case 'emails.value':
      case 'emails[type eq "work"].value':
      case 'emails[primary eq true].value':
        if (remove) throw bad('mutability', 'emails follows userName and cannot be removed');
        this.emailsValue = path === 'emails' ? emailOf(value) : text(value, 'emails.value', false);
        return;
      case 'ent:department':
        this.department = remove ? null : text(value, 'department', true);
        return;
      case 'ent:manager':
      case 'ent:manager.value':
        this.managerId = remove ? null : managerOf(value);
        return;
      case 'ent':
        if (remove) {
          this.department = null;
          this.managerId = null;
          return;
        }
        if (!isObject(value)) throw bad('invalidValue', `${SCIM_ENTERPRISE_USER}: expected an object`);
        for (const [k, v] of Object.entries(value)) this.set(`ent:${k.toLowerCase()}`, v);
        return;
    }
    if (path.startsWith('name.') || path.startsWith('ent:'))
      throw bad('invalidPath', `unknown attribute ${path.replace(/^ent:/, `${SCIM_ENTERPRISE_USER}:`)}`);
    if (path.startsWith('emails'))
      throw bad('invalidPath', `unsupported path ${path}; use emails[type eq "work"].value`);
    throw bad('invalidPath', `unknown attribute ${path}`);
  }

  /** Applies a whole resource (POST, PUT): every top-level key, schema URNs included. */
  setAll(body: Record<string, unknown>, resource = true): void {
    for (const [key, value] of Object.entries(body)) {
      const k = key.toLowerCase();
      // A whole resource may repeat its read-only attributes; a PATCH value may not change them.
      if (resource && (k === 'schemas' || k === 'id' || k === 'meta' || k === 'groups')) continue;
      if (k === SCIM_ENTERPRISE_USER.toLowerCase()) this.set('ent', value);
      else if (k.startsWith('urn:')) throw bad('invalidSyntax', `unsupported schema extension ${key}`);
      else this.set(normalizeAttribute(key), value);
    }
  }

  desired(): Desired {
    const joined =
      this.given !== null || this.family !== null
        ? [this.given ?? '', this.family ?? ''].filter(Boolean).join(' ')
        : null;
    const name = this.formatted ?? (joined || null) ?? this.display ?? this.current?.name ?? null;
    if (!name)
      throw bad('invalidValue', 'name: give name.formatted, name.givenName and familyName, or displayName');
    if (!this.email) throw bad('invalidValue', 'userName: required');
    if (this.emailsValue && this.emailsValue.toLowerCase() !== this.email.toLowerCase())
      throw bad(
        'invalidValue',
        'emails: this directory keeps one address per person, the userName; the primary email must equal it',
      );
    return {
      email: this.email,
      name,
      jobRole: this.jobRole,
      department: this.department,
      managerId: this.managerId,
      externalId: this.externalId,
      ...(this.active !== undefined ? { active: this.active } : {}),
    };
  }
}

function checkSchemas(body: Record<string, unknown>, expected: string): void {
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string'))
    throw bad('invalidSyntax', `schemas: expected a list naming ${expected}`);
  if (!schemas.some((s) => s.toLowerCase() === expected.toLowerCase()))
    throw bad('invalidSyntax', `schemas: must include ${expected}`);
  for (const s of schemas as string[])
    if (
      ![SCIM_CORE_USER, SCIM_ENTERPRISE_USER, SCIM_MESSAGES.patch].some(
        (k) => k.toLowerCase() === s.toLowerCase(),
      )
    )
      throw bad('invalidValue', `schemas: ${s.slice(0, 200)} is not supported by this server`);
}

/** The SCIM Users resource over the staff directory. */
export class ScimUsers {
  readonly #db: Kysely<AwarenessTables>;
  constructor(private readonly deps: { db: AnyDb; directory: Directory }) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** A person as a SCIM User; `base` is the SCIM base URL (`https://host/scim/v2`). */
  toUser(p: Person, base: string): ScimUser {
    const { firstName, lastName } = splitName(p.name);
    const enterprise = {
      ...(p.department ? { department: p.department } : {}),
      ...(p.managerId ? { manager: { value: p.managerId, $ref: `${base}/Users/${p.managerId}` } } : {}),
    };
    const hasEnterprise = Object.keys(enterprise).length > 0;
    return {
      schemas: hasEnterprise ? [SCIM_CORE_USER, SCIM_ENTERPRISE_USER] : [SCIM_CORE_USER],
      id: p.id,
      ...(p.externalId ? { externalId: p.externalId } : {}),
      userName: p.email,
      name: { formatted: p.name, givenName: firstName, familyName: lastName },
      displayName: p.name,
      ...(p.jobRole ? { title: p.jobRole } : {}),
      emails: [{ value: p.email, type: 'work', primary: true }],
      active: p.status !== 'terminated',
      ...(hasEnterprise ? { [SCIM_ENTERPRISE_USER]: enterprise } : {}),
      meta: {
        resourceType: 'User',
        created: p.createdAt,
        lastModified: p.updatedAt,
        location: `${base}/Users/${p.id}`,
      },
    };
  }

  /**
   * Lists users matching `filter` (see {@link parseFilter}), in creation order. `startIndex` is
   * 1-based; `count` 0 answers only the total.
   */
  async list(
    query: { filter?: string | undefined; startIndex?: number; count?: number },
    base: string,
  ): Promise<ScimListResponse> {
    const terms = query.filter === undefined ? [] : parseFilter(query.filter);
    const startIndex = Math.max(1, Math.floor(query.startIndex ?? 1));
    const count = Math.min(Math.max(0, Math.floor(query.count ?? 100)), SCIM_MAX_PAGE);
    let select: PeopleSelect = this.#db.selectFrom('awareness_people');
    for (const t of terms) select = applyTerm(select, t);
    const total = await select.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const rows =
      count === 0
        ? []
        : await select
            .selectAll()
            .orderBy('created_at')
            .orderBy('id')
            .limit(count)
            .offset(startIndex - 1)
            .execute();
    return {
      schemas: [SCIM_MESSAGES.list],
      totalResults: toCount(total.n),
      startIndex,
      itemsPerPage: rows.length,
      Resources: rows.map((r) => this.toUser(toPerson(r), base)),
    };
  }

  async get(id: string, base: string): Promise<ScimUser> {
    return this.toUser(await this.#mustGet(id), base);
  }

  /** Creates a user (POST). A taken userName is a 409 `uniqueness`. */
  async create(body: unknown, base: string, actor?: Actor): Promise<ScimUser> {
    if (!isObject(body)) throw bad('invalidSyntax', 'expected a JSON object');
    checkSchemas(body, SCIM_CORE_USER);
    const draft = new Draft(null);
    draft.setAll(body);
    const d = draft.desired();
    if (d.managerId) await this.#mustGetManager(d.managerId);
    const person = await this.#write(() =>
      this.deps.directory.create(
        {
          name: d.name,
          email: d.email,
          jobRole: d.jobRole,
          department: d.department,
          managerId: d.managerId,
          externalId: d.externalId,
          status: d.active === false ? 'terminated' : 'active',
        },
        actor,
      ),
    );
    return this.toUser(person, base);
  }

  /** Replaces a user (PUT): attributes left out are cleared; `active` left out stays as it is. */
  async replace(id: string, body: unknown, base: string, actor?: Actor): Promise<ScimUser> {
    if (!isObject(body)) throw bad('invalidSyntax', 'expected a JSON object');
    checkSchemas(body, SCIM_CORE_USER);
    const current = await this.#mustGet(id);
    if (body.id !== undefined && body.id !== id) throw bad('mutability', 'id is immutable');
    const draft = new Draft(current);
    draft.jobRole = null;
    draft.department = null;
    draft.managerId = null;
    draft.externalId = null;
    draft.email = '';
    draft.setAll(body);
    return this.toUser(await this.#apply(current, draft.desired(), actor), base);
  }

  /** Applies a PatchOp (add, replace, remove) in order; nothing is written if one fails. */
  async patch(id: string, body: unknown, base: string, actor?: Actor): Promise<ScimUser> {
    if (!isObject(body)) throw bad('invalidSyntax', 'expected a JSON object');
    checkSchemas(body, SCIM_MESSAGES.patch);
    const ops = body.Operations ?? body.operations;
    if (!Array.isArray(ops) || ops.length === 0)
      throw bad('invalidSyntax', 'Operations: expected a non-empty list');
    if (ops.length > SCIM_MAX_OPERATIONS)
      throw bad('invalidValue', `Operations: at most ${SCIM_MAX_OPERATIONS} per request`);
    const current = await this.#mustGet(id);
    const draft = new Draft(current);
    for (const [i, op] of ops.entries()) {
      if (!isObject(op)) throw bad('invalidSyntax', `Operations[${i}]: expected an object`);
      const kind = typeof op.op === 'string' ? op.op.toLowerCase() : '';
      if (kind !== 'add' && kind !== 'replace' && kind !== 'remove')
        throw bad('invalidSyntax', `Operations[${i}].op: expected add, replace or remove`);
      const path = op.path;
      if (path !== undefined && (typeof path !== 'string' || path.length === 0 || path.length > 300))
        throw bad('invalidPath', `Operations[${i}].path: expected an attribute path`);
      if (kind === 'remove') {
        if (path === undefined) throw bad('noTarget', `Operations[${i}]: remove needs a path`);
        draft.set(normalizePath(path), undefined, true);
      } else if (path === undefined) {
        if (!isObject(op.value)) throw bad('invalidValue', `Operations[${i}].value: expected an object`);
        draft.setAll(op.value, false);
      } else {
        if (op.value === undefined) throw bad('invalidValue', `Operations[${i}].value: required`);
        draft.set(normalizePath(path), op.value);
      }
    }
    return this.toUser(await this.#apply(current, draft.desired(), actor), base);
  }

  /**
   * Deactivates a user (DELETE): the person becomes terminated and the termination event is
   * published again even if they were already, so a missed revocation can be repeated.
   */
  async remove(id: string, actor?: Actor): Promise<void> {
    await this.#mustGet(id);
    await this.deps.directory.setStatus(id, 'terminated', actor);
  }

  async #apply(current: Person, d: Desired, actor?: Actor): Promise<Person> {
    if (d.managerId && d.managerId !== current.managerId) await this.#mustGetManager(d.managerId);
    if (d.managerId === current.id) throw bad('invalidValue', 'manager: a person cannot manage themselves');
    let person = await this.#write(() =>
      this.deps.directory.update(current.id, {
        name: d.name,
        email: d.email,
        jobRole: d.jobRole,
        department: d.department,
        managerId: d.managerId,
        externalId: d.externalId,
      }),
    );
    if (d.active === false && person.status !== 'terminated')
      person = await this.deps.directory.setStatus(current.id, 'terminated', actor);
    else if (d.active === true && person.status === 'terminated')
      person = await this.deps.directory.setStatus(current.id, 'active', actor);
    return person;
  }

  /** Runs a directory write, turning its errors into SCIM's (409 uniqueness, 400 invalidValue). */
  async #write<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === 'CONFLICT') throw scimError(409, 'uniqueness', e.message ?? 'userName is taken');
      if (e.code === 'BAD_REQUEST' || e.code === 'NOT_FOUND')
        throw bad('invalidValue', (e.message ?? 'invalid value').replace(/^email:/, 'userName:'));
      throw err;
    }
  }

  async #mustGet(id: string): Promise<Person> {
    const p = id.length <= 64 ? await this.deps.directory.get(id) : undefined;
    if (!p) throw scimError(404, null, `User ${id.slice(0, 64)} not found`);
    return p;
  }

  async #mustGetManager(id: string): Promise<void> {
    if (id.length > 64 || !(await this.deps.directory.get(id)))
      throw bad('invalidValue', 'manager.value: no person with this id');
  }
}

/** A PATCH path, normalized; `emails[...]` filters keep their (lower-cased, single-spaced) text. */
function normalizePath(path: string): string {
  return normalizeAttribute(path.trim()).replace(/\s+/g, ' ').replace(/\[\s*/, '[').replace(/\s*\]/, ']');
}

type PeopleSelect = SelectQueryBuilder<AwarenessTables, 'awareness_people', object>;

function applyTerm(q: PeopleSelect, t: FilterTerm): PeopleSelect {
  const v = t.value;
  switch (t.field) {
    case 'active':
      return v ? q.where('status', '!=', 'terminated') : q.where('status', '=', 'terminated');
    case 'email':
      return q.where('email_key', '=', String(v).trim().toLowerCase());
    case 'id':
      return q.where('id', '=', String(v));
    case 'externalId':
      // caseExact: compared as stored.
      return q.where('external_id', '=', String(v));
    case 'managerId':
      return q.where('manager_id', '=', String(v));
    case 'name':
      return q.where((eb) => eb(eb.fn('lower', ['name']), '=', String(v).toLowerCase()));
    case 'jobRole':
      return q.where((eb) => eb(eb.fn('lower', ['job_role']), '=', String(v).toLowerCase()));
    case 'department':
      return q.where((eb) => eb(eb.fn('lower', ['department']), '=', String(v).toLowerCase()));
  }
}
