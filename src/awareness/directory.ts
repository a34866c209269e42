/**
 * @module awareness/directory
 * The staff directory: everyone the hospital trains and tests, whether or not they have a console
 * account. HR exports it as CSV; the import is all or nothing (one transaction, every row checked
 * first) because a half-imported directory silently leaves people untrained or, worse, leaves a
 * leaver active. Marking a person terminated publishes `awareness.person.terminated`, which the
 * access gateway acts on to revoke them.
 */
import type { Kysely, Transaction } from 'kysely';
import {
  type Clock,
  type CsvLimits,
  type CsvSource,
  type EventInput,
  makeEvent,
  newId,
  readCsv,
  VigilError,
} from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import { type AnyDb, toCount } from '../platform/db/index.js';
import {
  checkDate,
  checkEmail,
  checkText,
  emailKey,
  type FieldProblem,
  LIMITS,
  parseStatus,
} from './people.js';
import type { AwarenessTables, EmploymentStatus, PersonRow } from './tables.js';

/** What the directory needs, passed in by the composition root. */
export interface DirectoryDeps {
  db: AnyDb;
  bus: Bus;
  clock: Clock;
}

/** The kind of the event published when a person becomes terminated (the gateway revokes them). */
export const PERSON_TERMINATED = 'awareness.person.terminated';

/** A person as the API shows them. */
export type Person = {
  id: string;
  name: string;
  email: string;
  department: string | null;
  jobRole: string | null;
  managerId: string | null;
  status: EmploymentStatus;
  startDate: string | null;
  consoleUserId: string | null;
  /** The identity provider's id for the person (SCIM `externalId`), or null. */
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
};

/** Fields to create a person with; the status defaults to active. */
export type NewPerson = {
  name: string;
  email: string;
  department?: string | null;
  jobRole?: string | null;
  managerId?: string | null;
  status?: EmploymentStatus;
  startDate?: string | null;
  consoleUserId?: string | null;
  externalId?: string | null;
};

/** Fields to change; `undefined` leaves a field as it is, `null` clears it. */
export type PersonPatch = Partial<Omit<NewPerson, 'status'>>;

/** One problem in one CSV row. `row` counts records as a spreadsheet does: the header is row 1. */
export interface RowError {
  row: number;
  field: string;
  message: string;
}

/** What an import changed. */
export interface ImportSummary {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  /** People who became terminated with this import (each published an event). */
  terminated: number;
  /** Header names that map to no field and were ignored. */
  ignoredColumns: string[];
}

/** Who asked for a change, for the event. */
export interface Actor {
  id?: string;
  name?: string;
  role?: string;
}

export function toPerson(row: PersonRow): Person {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    department: row.department,
    jobRole: row.job_role,
    managerId: row.manager_id,
    status: row.status,
    startDate: row.start_date,
    consoleUserId: row.console_user_id,
    externalId: row.external_id ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

type Field =
  | 'email'
  | 'name'
  | 'firstName'
  | 'lastName'
  | 'department'
  | 'jobRole'
  | 'manager'
  | 'status'
  | 'startDate';

/** Header names HR systems use, compared lower-case with spaces, dashes and underscores removed. */
const HEADER_ALIASES: Record<string, Field> = {
  email: 'email',
  emailaddress: 'email',
  mail: 'email',
  workemail: 'email',
  name: 'name',
  fullname: 'name',
  displayname: 'name',
  firstname: 'firstName',
  givenname: 'firstName',
  lastname: 'lastName',
  surname: 'lastName',
  familyname: 'lastName',
  department: 'department',
  dept: 'department',
  jobrole: 'jobRole',
  role: 'jobRole',
  jobtitle: 'jobRole',
  title: 'jobRole',
  position: 'jobRole',
  manager: 'manager',
  manageremail: 'manager',
  status: 'status',
  employmentstatus: 'status',
  startdate: 'startDate',
  hiredate: 'startDate',
};

/** The column names in error messages. */
const FIELD_LABEL: Record<Field, string> = {
  email: 'email',
  name: 'name',
  firstName: 'first name',
  lastName: 'last name',
  department: 'department',
  jobRole: 'job role',
  manager: 'manager',
  status: 'status',
  startDate: 'start date',
};

type ImportRow = {
  row: number;
  email: string;
  key: string;
  name: string;
  department: string | null;
  jobRole: string | null;
  managerKey: string | null;
  status: EmploymentStatus;
  startDate: string | null;
};

/** Most row errors returned in one answer; the total is always given. */
const MAX_REPORTED_ERRORS = 200;
/** Rows per `IN (…)` lookup: far below SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 500;

/** The staff directory store. */
export class Directory {
  readonly #db: Kysely<AwarenessTables>;
  constructor(private readonly deps: DirectoryDeps) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** Creates a person; a taken email (in any letter case) is a CONFLICT. */
  async create(input: NewPerson, actor?: Actor): Promise<Person> {
    const now = this.deps.clock.now().toISOString();
    const v = validatePerson(input);
    const status = input.status ?? 'active';
    if (!parseStatus(status))
      throw fieldError({ field: 'status', message: 'expected active, leave or terminated' });
    const row: PersonRow = {
      id: newId(),
      name: v.name,
      email: v.email,
      email_key: emailKey(v.email),
      department: v.department ?? null,
      job_role: v.jobRole ?? null,
      manager_id: null,
      status,
      start_date: v.startDate ?? null,
      console_user_id: v.consoleUserId ?? null,
      external_id: v.externalId ?? null,
      created_at: now,
      updated_at: now,
    };
    if (input.managerId) row.manager_id = (await this.mustGet(input.managerId, 'managerId')).id;
    try {
      await this.#db.insertInto('awareness_people').values(row).execute();
    } catch (err) {
      throw conflictOr(err);
    }
    if (status === 'terminated') await this.#publishTerminated([{ row, previous: null }], 'api', actor);
    return toPerson(row);
  }

  /** A person by id, or undefined. */
  async get(id: string): Promise<Person | undefined> {
    const row = await this.#db
      .selectFrom('awareness_people')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toPerson(row) : undefined;
  }

  /** A person by email in any letter case, or undefined. */
  async getByEmail(email: string): Promise<Person | undefined> {
    const row = await this.#db
      .selectFrom('awareness_people')
      .selectAll()
      .where('email_key', '=', emailKey(email))
      .executeTakeFirst();
    return row ? toPerson(row) : undefined;
  }

  /** The person linked to a console user, for "my courses" and the gateway's risk lookup. */
  async getByConsoleUser(userId: string): Promise<Person | undefined> {
    const row = await this.#db
      .selectFrom('awareness_people')
      .selectAll()
      .where('console_user_id', '=', userId)
      .executeTakeFirst();
    return row ? toPerson(row) : undefined;
  }

  private async mustGet(id: string, field = 'id'): Promise<Person> {
    const p = await this.get(id);
    if (!p) throw new VigilError('NOT_FOUND', 'No such person', { details: { field } });
    return p;
  }

  /** People, by name, optionally of one department, status or manager; pages of at most 500. */
  async list(
    filter: {
      department?: string;
      status?: EmploymentStatus;
      managerId?: string;
      limit?: number;
      offset?: number;
    } = {},
  ): Promise<Person[]> {
    let q = this.#db.selectFrom('awareness_people').selectAll();
    if (filter.department !== undefined) q = q.where('department', '=', filter.department);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.managerId !== undefined) q = q.where('manager_id', '=', filter.managerId);
    const rows = await q
      .orderBy('name')
      .orderBy('id')
      .limit(Math.min(Math.max(filter.limit ?? 100, 1), 500))
      .offset(Math.max(filter.offset ?? 0, 0))
      .execute();
    return rows.map(toPerson);
  }

  /** How many people, optionally with one status. */
  async count(status?: EmploymentStatus): Promise<number> {
    let q = this.#db.selectFrom('awareness_people').select((eb) => eb.fn.countAll().as('n'));
    if (status) q = q.where('status', '=', status);
    const row = await q.executeTakeFirstOrThrow();
    return toCount(row.n);
  }

  /** Changes a person's fields (not the status: see {@link Directory.setStatus}). */
  async update(id: string, patch: PersonPatch): Promise<Person> {
    const current = await this.mustGet(id);
    const merged = { ...current, ...stripUndefined(patch) };
    const v = validatePerson(merged);
    if (patch.managerId) {
      if (patch.managerId === id)
        throw fieldError({ field: 'managerId', message: 'a person cannot manage themselves' });
      await this.mustGet(patch.managerId, 'managerId');
    }
    try {
      await this.#db
        .updateTable('awareness_people')
        .set({
          name: v.name,
          email: v.email,
          email_key: emailKey(v.email),
          department: v.department ?? null,
          job_role: v.jobRole ?? null,
          manager_id: merged.managerId ?? null,
          start_date: v.startDate ?? null,
          console_user_id: v.consoleUserId ?? null,
          external_id: v.externalId ?? null,
          updated_at: this.deps.clock.now().toISOString(),
        })
        .where('id', '=', id)
        .execute();
    } catch (err) {
      throw conflictOr(err);
    }
    return this.mustGet(id);
  }

  /** Links a person to a console user (or unlinks with `null`); one person per console user. */
  async linkConsoleUser(id: string, userId: string | null): Promise<Person> {
    return this.update(id, { consoleUserId: userId });
  }

  /**
   * Sets the employment status. Becoming terminated publishes `awareness.person.terminated`;
   * terminating someone already terminated publishes it again, so a revocation the gateway missed
   * can be repeated by repeating the request.
   */
  async setStatus(id: string, status: EmploymentStatus, actor?: Actor): Promise<Person> {
    if (!parseStatus(status))
      throw fieldError({ field: 'status', message: 'expected active, leave or terminated' });
    const before = await this.mustGet(id);
    const now = this.deps.clock.now().toISOString();
    await this.#db
      .updateTable('awareness_people')
      .set({ status, updated_at: now })
      .where('id', '=', id)
      .execute();
    const row = await this.#db
      .selectFrom('awareness_people')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    if (status === 'terminated')
      await this.#publishTerminated([{ row, previous: before.status }], 'api', actor);
    return toPerson(row);
  }

  /**
   * Imports a CSV export of the staff directory. Headers are matched case-insensitively (`Email`,
   * `E-mail`, `Job Title`, `Hire Date`…); `email` and `name` (or first and last name) are required.
   * People are matched by email in any letter case: a new email creates a person, a known one
   * updates them, so importing the same file twice changes nothing the second time. `manager` holds
   * the manager's email (in the file or already in the directory). An empty status means active.
   *
   * All or nothing: every row is checked first and, if any has a problem, the import throws a
   * `BAD_REQUEST` whose `details.errors` lists each `{row, field, message}` and nothing is written.
   * Otherwise all rows are written in one transaction, and then a termination event is published
   * for each person who became terminated.
   */
  async importCsv(
    source: CsvSource,
    options: { limits?: Partial<CsvLimits>; actor?: Actor } = {},
  ): Promise<ImportSummary> {
    const records = await readCsv(source, options.limits);
    const header = records[0];
    if (!header) throw new VigilError('BAD_REQUEST', 'CSV file is empty', { details: { field: 'file' } });
    const columns = new Map<Field, number>();
    const ignoredColumns: string[] = [];
    header.fields.forEach((raw, index) => {
      const name = raw.trim();
      const field = HEADER_ALIASES[name.toLowerCase().replace(/[\s_-]+/g, '')];
      if (!field) {
        ignoredColumns.push(name.slice(0, 64));
        return;
      }
      if (columns.has(field)) {
        throw new VigilError('BAD_REQUEST', `CSV header: two columns mean ${FIELD_LABEL[field]}`, {
          details: { row: 1, field: FIELD_LABEL[field] },
        });
      }
      columns.set(field, index);
    });
    const missing: string[] = [];
    if (!columns.has('email')) missing.push('email');
    if (!columns.has('name') && !(columns.has('firstName') && columns.has('lastName'))) missing.push('name');
    if (missing.length) {
      throw new VigilError('BAD_REQUEST', `CSV header: missing column ${missing.join(' and ')}`, {
        details: { row: 1, field: missing[0] },
      });
    }

    const errors: RowError[] = [];
    const rows: ImportRow[] = [];
    const seen = new Map<string, number>();
    for (const record of records.slice(1)) {
      const row = parseRow(record.row, record.fields, header.fields.length, columns, errors);
      if (!row) continue;
      const earlier = seen.get(row.key);
      if (earlier !== undefined) {
        errors.push({ row: row.row, field: 'email', message: `the same email as row ${earlier}` });
        continue;
      }
      seen.set(row.key, row.row);
      rows.push(row);
    }

    const now = this.deps.clock.now().toISOString();
    const result = await this.#db
      .transaction()
      .execute(async (trx) => {
        const existing = await loadByKeys(trx, [
          ...new Set([
            ...rows.map((r) => r.key),
            ...rows.flatMap((r) => (r.managerKey ? [r.managerKey] : [])),
          ]),
        ]);
        const ids = new Map<string, string>();
        for (const [key, p] of existing) ids.set(key, p.id);
        for (const r of rows) if (!ids.has(r.key)) ids.set(r.key, newId());
        for (const r of rows) {
          if (!r.managerKey) continue;
          if (r.managerKey === r.key)
            errors.push({ row: r.row, field: 'manager', message: 'a person cannot manage themselves' });
          else if (!ids.has(r.managerKey))
            errors.push({
              row: r.row,
              field: 'manager',
              message: 'no person with this email in the file or the directory',
            });
        }
        if (errors.length) {
          errors.sort((a, b) => a.row - b.row);
          throw new VigilError(
            'BAD_REQUEST',
            `CSV import refused: ${errors.length} problem${errors.length === 1 ? '' : 's'}, nothing was imported (first: row ${errors[0]!.row}, ${errors[0]!.field}: ${errors[0]!.message})`,
            {
              details: {
                field: 'file',
                errorCount: errors.length,
                errors: errors.slice(0, MAX_REPORTED_ERRORS),
              },
            },
          );
        }
        const summary = { created: 0, updated: 0, unchanged: 0 };
        const terminated: Array<{ row: PersonRow; previous: EmploymentStatus | null }> = [];
        // Pass 1: every person without touching managers (a manager may be a later row).
        for (const r of rows) {
          const old = existing.get(r.key);
          const values = {
            name: r.name,
            email: r.email,
            department: r.department,
            job_role: r.jobRole,
            status: r.status,
            start_date: r.startDate,
          };
          const managerId = r.managerKey ? ids.get(r.managerKey)! : null;
          if (!old) {
            const row: PersonRow = {
              id: ids.get(r.key)!,
              ...values,
              email_key: r.key,
              manager_id: null,
              console_user_id: null,
              external_id: null,
              created_at: now,
              updated_at: now,
            };
            await trx.insertInto('awareness_people').values(row).execute();
            summary.created++;
            if (r.status === 'terminated')
              terminated.push({ row: { ...row, manager_id: managerId }, previous: null });
            continue;
          }
          const same =
            old.name === values.name &&
            old.email === values.email &&
            old.department === values.department &&
            old.job_role === values.job_role &&
            old.status === values.status &&
            old.start_date === values.start_date &&
            old.manager_id === managerId;
          if (same) {
            summary.unchanged++;
            continue;
          }
          await trx
            .updateTable('awareness_people')
            .set({ ...values, updated_at: now })
            .where('id', '=', old.id)
            .execute();
          summary.updated++;
          if (r.status === 'terminated' && old.status !== 'terminated') {
            terminated.push({
              row: { ...old, ...values, manager_id: managerId, updated_at: now },
              previous: old.status,
            });
          }
        }
        // Pass 2: managers, now that everyone exists.
        for (const r of rows) {
          const managerId = r.managerKey ? ids.get(r.managerKey)! : null;
          const old = existing.get(r.key);
          if ((old?.manager_id ?? null) === managerId) continue;
          await trx
            .updateTable('awareness_people')
            .set({ manager_id: managerId })
            .where('id', '=', ids.get(r.key)!)
            .execute();
        }
        return { summary, terminated };
      })
      .catch((err: unknown) => {
        // Someone created one of these emails meanwhile: the unique index decides, nothing is written.
        throw err instanceof VigilError ? err : conflictOr(err);
      });
    // Published only after the commit: a rolled-back import revokes nobody.
    await this.#publishTerminated(result.terminated, 'import', options.actor);
    return { rows: rows.length, ...result.summary, terminated: result.terminated.length, ignoredColumns };
  }

  async #publishTerminated(
    people: ReadonlyArray<{ row: PersonRow; previous: EmploymentStatus | null }>,
    via: 'api' | 'import',
    actor?: Actor,
  ): Promise<void> {
    if (people.length === 0) return;
    const now = this.deps.clock.now();
    const events = people.map(({ row, previous }) => {
      const input: EventInput = {
        kind: PERSON_TERMINATED,
        source: 'awareness',
        severity: 'medium',
        ...(row.console_user_id ? { user: { id: row.console_user_id } } : {}),
        data: {
          personId: row.id,
          email: row.email,
          consoleUserId: row.console_user_id,
          department: row.department,
          previousStatus: previous,
          via,
          ...(actor ? { actor } : {}),
        },
      };
      return makeEvent(input, now);
    });
    for (let i = 0; i < events.length; i += 500) await this.deps.bus.publish(events.slice(i, i + 500));
  }
}

function parseRow(
  row: number,
  fields: string[],
  width: number,
  columns: Map<Field, number>,
  errors: RowError[],
): ImportRow | null {
  if (fields.length !== width) {
    errors.push({ row, field: '(row)', message: `${fields.length} fields, the header has ${width}` });
    return null;
  }
  const get = (f: Field): string => {
    const i = columns.get(f);
    return i === undefined ? '' : fields[i]!.trim();
  };
  const before = errors.length;
  const add = (p: FieldProblem | null) => {
    if (p) errors.push({ row, ...p });
  };
  const email = get('email');
  add(checkEmail(email));
  let name = get('name');
  if (!name && (columns.has('firstName') || columns.has('lastName'))) {
    name = [get('firstName'), get('lastName')].filter(Boolean).join(' ');
  }
  add(checkText(name, 'name', LIMITS.name, true));
  const department = get('department');
  add(checkText(department, 'department', LIMITS.department, false));
  const jobRole = get('jobRole');
  add(checkText(jobRole, 'job role', LIMITS.jobRole, false));
  const manager = get('manager');
  if (manager) add(checkEmail(manager, 'manager'));
  const statusText = get('status');
  const status = statusText ? parseStatus(statusText) : 'active';
  if (!status) errors.push({ row, field: 'status', message: 'expected active, leave or terminated' });
  const startDate = get('startDate');
  if (startDate) add(checkDate(startDate, 'start date'));
  if (errors.length > before || !status) return null;
  return {
    row,
    email,
    key: emailKey(email),
    name,
    department: department || null,
    jobRole: jobRole || null,
    managerKey: manager ? emailKey(manager) : null,
    status,
    startDate: startDate || null,
  };
}

async function loadByKeys(
  trx: Transaction<AwarenessTables>,
  keys: string[],
): Promise<Map<string, PersonRow>> {
  const out = new Map<string, PersonRow>();
  for (let i = 0; i < keys.length; i += CHUNK) {
    const rows = await trx
      .selectFrom('awareness_people')
      .selectAll()
      .where('email_key', 'in', keys.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) out.set(r.email_key, r);
  }
  return out;
}

function validatePerson(input: NewPerson | Person): {
  name: string;
  email: string;
  department?: string | null;
  jobRole?: string | null;
  startDate?: string | null;
  consoleUserId?: string | null;
  externalId?: string | null;
} {
  const name = (input.name ?? '').trim();
  const email = (input.email ?? '').trim();
  const department = input.department?.trim() || null;
  const jobRole = input.jobRole?.trim() || null;
  const startDate = input.startDate?.trim() || null;
  const consoleUserId = input.consoleUserId?.trim() || null;
  // As the identity provider sent it (case and all): it is compared exactly.
  const externalId = input.externalId || null;
  const problems = [
    checkText(name, 'name', LIMITS.name, true),
    checkEmail(email),
    checkText(department ?? '', 'department', LIMITS.department, false),
    checkText(jobRole ?? '', 'jobRole', LIMITS.jobRole, false),
    startDate ? checkDate(startDate, 'startDate') : null,
    checkText(consoleUserId ?? '', 'consoleUserId', 64, false),
    checkText(externalId ?? '', 'externalId', 255, false),
  ].filter((p): p is FieldProblem => p !== null);
  if (problems[0]) throw fieldError(problems[0]);
  return { name, email, department, jobRole, startDate, consoleUserId, externalId };
}

function fieldError(p: FieldProblem): VigilError {
  return new VigilError('BAD_REQUEST', `${p.field}: ${p.message}`, { details: { field: p.field } });
}

function conflictOr(err: unknown): unknown {
  const message = (err as Error).message ?? '';
  if (/unique|duplicate/i.test(message)) {
    const field = /console_user_id/.test(message) ? 'consoleUserId' : 'email';
    return new VigilError(
      'CONFLICT',
      field === 'email'
        ? 'A person with this email exists already'
        : 'This console user is linked to another person',
      { details: { field } },
    );
  }
  return err;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
