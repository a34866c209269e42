/**
 * @module awareness/roster
 * Read-only views of the directory that span training, phishing and risk: a search of people for
 * the directory page, one person's whole awareness record (training, quiz results, phishing
 * timeline, risk with its reasons), and the training report of a group of people (a manager's team
 * or a department): completion rate, who is overdue on what, and each person's status and risk.
 */
import { type Kysely, sql } from 'kysely';
import type { AnyDb } from '../platform/db/index.js';
import { toCount } from '../platform/db/index.js';
import { type Person, toPerson } from './directory.js';
import type { PhishingReports, TimelineEntry } from './phishing-reports.js';
import type { RiskReason, RiskView } from './risk.js';
import type { AwarenessTables, EmploymentStatus } from './tables.js';
import type { Enrolment, Training, TrainingStatus } from './training.js';

/** What the roster reads. */
export interface RosterDeps {
  db: AnyDb;
  training: Training;
  risk: RiskView;
  reports: PhishingReports;
}

/** A search of the directory. */
export interface PeopleSearch {
  /** Part of a name or an email, any letter case. */
  q?: string;
  department?: string;
  status?: EmploymentStatus;
  limit?: number;
  offset?: number;
}

/** A person's stored risk, or null when it was never computed. */
export type RiskSummary = { score: number; reasons: RiskReason[]; computedAt: string } | null;

/** One person's whole awareness record. */
export type PersonProfile = {
  person: Person;
  manager: { id: string; name: string } | null;
  directReports: number;
  enrolments: Enrolment[];
  attempts: Array<{ id: string; courseId: string; score: number; passed: boolean; submittedAt: string }>;
  timeline: TimelineEntry[];
  risk: RiskSummary;
};

/** One person's line in a team report. */
export type TeamMember = {
  id: string;
  name: string;
  email: string;
  department: string | null;
  jobRole: string | null;
  status: EmploymentStatus;
  /** Per course, the person's current standing (see {@link currentStanding}). */
  courses: Array<{ courseId: string; courseTitle: string; status: TrainingStatus; dueAt: string }>;
  overdue: number;
  passed: number;
  risk: RiskSummary;
};

/** The training report of a group of people. */
export type TeamReport = {
  summary: {
    people: number;
    /** Person-course pairs with training assigned. */
    assigned: number;
    passed: number;
    overdue: number;
    /** Passed pairs out of assigned pairs, in whole percent (null when nothing is assigned). */
    completionRate: number | null;
    /** People with a stored risk of 60 or more. */
    highRisk: number;
  };
  people: TeamMember[];
  overdue: Array<{ personId: string; name: string; courseId: string; courseTitle: string; dueAt: string }>;
};

/** Characters that are wildcards in SQL LIKE, escaped with a backslash. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * A person's standing in each course, from all their enrolments of it: overdue when any cycle is
 * overdue; else passed when a cycle was passed (the next, recurring cycle is in the future); else
 * the open cycle's status (in progress, or assigned).
 */
export function currentStanding(enrolments: Enrolment[]): TeamMember['courses'] {
  const byCourse = new Map<string, Enrolment[]>();
  for (const e of enrolments) byCourse.set(e.courseId, [...(byCourse.get(e.courseId) ?? []), e]);
  const out: TeamMember['courses'] = [];
  for (const [courseId, list] of byCourse) {
    const overdue = list.find((e) => e.status === 'overdue');
    const passed = list
      .filter((e) => e.status === 'passed')
      .sort((a, b) => b.dueAt.localeCompare(a.dueAt))[0];
    const open = list.filter((e) => e.status !== 'passed').sort((a, b) => a.dueAt.localeCompare(b.dueAt))[0];
    const pick = overdue ?? passed ?? open ?? list[0]!;
    out.push({ courseId, courseTitle: pick.courseTitle, status: pick.status, dueAt: pick.dueAt });
  }
  return out.sort((a, b) => a.courseTitle.localeCompare(b.courseTitle));
}

/** The roster views. */
export class Roster {
  readonly #db: Kysely<AwarenessTables>;
  constructor(private readonly deps: RosterDeps) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** People matching a search, by name, with the total count of matches. */
  async search(s: PeopleSearch = {}): Promise<{ people: Person[]; total: number }> {
    let q = this.#db.selectFrom('awareness_people');
    const text = s.q?.trim();
    if (text) {
      const pattern = likePattern(text);
      q = q.where(
        sql<boolean>`(lower(name) like ${pattern} escape '\\' or email_key like ${pattern} escape '\\')`,
      );
    }
    if (s.department !== undefined) q = q.where('department', '=', s.department);
    if (s.status !== undefined) q = q.where('status', '=', s.status);
    const total = toCount((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q
      .selectAll()
      .orderBy('name')
      .orderBy('id')
      .limit(Math.min(Math.max(s.limit ?? 50, 1), 500))
      .offset(Math.max(s.offset ?? 0, 0))
      .execute();
    return { people: rows.map(toPerson), total };
  }

  /** The departments in the directory, sorted. */
  async departments(): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('awareness_people')
      .select('department')
      .distinct()
      .where('department', 'is not', null)
      .orderBy('department')
      .execute();
    return rows.flatMap((r) => (r.department ? [r.department] : []));
  }

  async #risks(personIds: string[]): Promise<Map<string, NonNullable<RiskSummary>>> {
    const out = new Map<string, NonNullable<RiskSummary>>();
    for (let i = 0; i < personIds.length; i += 500)
      for (const r of await this.deps.risk.list(personIds.slice(i, i + 500)))
        out.set(r.personId, { score: r.score, reasons: r.reasons, computedAt: r.computedAt });
    return out;
  }

  /** One person's awareness record, or undefined when there is no such person. */
  async profile(personId: string): Promise<PersonProfile | undefined> {
    const row = await this.#db
      .selectFrom('awareness_people')
      .selectAll()
      .where('id', '=', personId)
      .executeTakeFirst();
    if (!row) return undefined;
    const manager = row.manager_id
      ? await this.#db
          .selectFrom('awareness_people')
          .select(['id', 'name'])
          .where('id', '=', row.manager_id)
          .executeTakeFirst()
      : undefined;
    const reports = await this.#db
      .selectFrom('awareness_people')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('manager_id', '=', personId)
      .executeTakeFirstOrThrow();
    const risk = (await this.#risks([personId])).get(personId) ?? null;
    return {
      person: toPerson(row),
      manager: manager ?? null,
      directReports: toCount(reports.n),
      enrolments: await this.deps.training.enrolmentsOf([personId]),
      attempts: await this.deps.training.attemptsOf(personId),
      timeline: (await this.deps.reports.timeline({ personId })).slice(-500),
      risk,
    };
  }

  /** The training report of some people. */
  async report(people: Person[]): Promise<TeamReport> {
    const ids = people.map((p) => p.id);
    const enrolments = await this.deps.training.enrolmentsOf(ids);
    const risks = await this.#risks(ids);
    const byPerson = new Map<string, Enrolment[]>();
    for (const e of enrolments) byPerson.set(e.personId, [...(byPerson.get(e.personId) ?? []), e]);
    const members: TeamMember[] = people.map((p) => {
      const courses = currentStanding(byPerson.get(p.id) ?? []);
      return {
        id: p.id,
        name: p.name,
        email: p.email,
        department: p.department,
        jobRole: p.jobRole,
        status: p.status,
        courses,
        overdue: courses.filter((c) => c.status === 'overdue').length,
        passed: courses.filter((c) => c.status === 'passed').length,
        risk: risks.get(p.id) ?? null,
      };
    });
    const assigned = members.reduce((n, m) => n + m.courses.length, 0);
    const passed = members.reduce((n, m) => n + m.passed, 0);
    const overdue = members.flatMap((m) =>
      m.courses
        .filter((c) => c.status === 'overdue')
        .map((c) => ({
          personId: m.id,
          name: m.name,
          courseId: c.courseId,
          courseTitle: c.courseTitle,
          dueAt: c.dueAt,
        })),
    );
    overdue.sort((a, b) => a.dueAt.localeCompare(b.dueAt));
    members.sort((a, b) => (b.risk?.score ?? 0) - (a.risk?.score ?? 0) || a.name.localeCompare(b.name));
    return {
      summary: {
        people: members.length,
        assigned,
        passed,
        overdue: overdue.length,
        completionRate: assigned ? Math.floor((passed * 100) / assigned) : null,
        highRisk: members.filter((m) => (m.risk?.score ?? 0) >= 60).length,
      },
      people: members,
      overdue,
    };
  }
}
