/**
 * @module awareness/training
 * Training assignments and the learner's side of them. An assignment gives a course to people or
 * departments with a due date; it is expanded into one enrolment per person and cycle, so a
 * department assignment reaches every member (new joiners at the next expansion) and a recurring
 * course (P1Y) opens its next cycle when the current one is passed. Quizzes are graded here, on
 * the server, and every attempt is kept: attempts are the completion records that are exported.
 */
import type { Kysely } from 'kysely';
import { type Clock, newId, VigilError } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { AnyDb } from '../platform/db/index.js';
import { type Course, type Curriculum, type LearnerCourse, toLearnerCourse } from './courses.js';
import { addDuration, mustParseDuration } from './duration.js';
import { AWARENESS_EVENTS, publishAll } from './events.js';
import { gradeQuiz, type QuizResult } from './quiz.js';
import type { AwarenessTables, PersonRow } from './tables.js';
import type { AssignmentRow, EnrolmentRow } from './training-tables.js';

/** What training needs. */
export interface TrainingDeps {
  db: AnyDb;
  bus: Bus;
  clock: Clock;
  curriculum: Curriculum;
}

/** The status a learner and a manager see; `overdue` is a due date passed without a pass. */
export type TrainingStatus = 'assigned' | 'in-progress' | 'passed' | 'overdue';

/** One person's duty to complete one course. */
export type Enrolment = {
  id: string;
  assignmentId: string;
  personId: string;
  courseId: string;
  courseTitle: string;
  dueAt: string;
  status: TrainingStatus;
  startedAt: string | null;
  completedAt: string | null;
  bestScore: number | null;
};

/** An assignment as the API shows it. */
export type Assignment = {
  id: string;
  courseId: string;
  targetKind: 'person' | 'department';
  target: string;
  dueAt: string;
  recurrence: string | null;
  source: string;
  createdAt: string;
};

/** What to assign. */
export interface AssignInput {
  courseId: string;
  personIds?: string[];
  departments?: string[];
  /** `YYYY-MM-DD` (end of that day, UTC) or an ISO time. */
  dueAt: string;
  /** ISO 8601 duration; `null` or absent: once. */
  recurrence?: string | null;
}

/** A graded, recorded quiz attempt. */
export type AttemptResult = QuizResult & { attemptId: string; courseId: string; submittedAt: string };

/** Called after a person's training state changed (risk recomputes). */
export type PersonChanged = (personId: string) => Promise<void>;

/** Effective status: a stored status, or overdue when the due date has passed without a pass. */
export function statusOf(row: Pick<EnrolmentRow, 'status' | 'due_at'>, now: Date): TrainingStatus {
  if (row.status === 'passed') return 'passed';
  return row.due_at < now.toISOString() ? 'overdue' : row.status;
}

function toAssignment(r: AssignmentRow): Assignment {
  return {
    id: r.id,
    courseId: r.course_id,
    targetKind: r.target_kind,
    target: r.target,
    dueAt: r.due_at,
    recurrence: r.recurrence,
    source: r.source,
    createdAt: r.created_at,
  };
}

function parseDue(text: string): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T23:59:59.999Z` : text;
  const d = new Date(day);
  if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text))
    throw new VigilError('BAD_REQUEST', 'dueAt: expected a date (YYYY-MM-DD) or an ISO time', {
      details: { field: 'dueAt' },
    });
  return d.toISOString();
}

/** The training store and the learner's actions. */
export class Training {
  readonly #db: Kysely<AwarenessTables>;
  /** Set by the composition of the domain: risk recomputes when training changes. */
  onPersonChanged: PersonChanged = async () => {};

  constructor(private readonly deps: TrainingDeps) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** The curriculum this training serves. */
  get curriculum(): Curriculum {
    return this.deps.curriculum;
  }

  /**
   * Assigns a course to people and/or departments, then expands it into enrolments at once.
   * Unknown people are a NOT_FOUND; an empty department simply has nobody yet.
   */
  async assign(
    input: AssignInput,
    createdBy: string | null = null,
    source = 'manual',
  ): Promise<Assignment[]> {
    this.deps.curriculum.mustGet(input.courseId);
    const dueAt = parseDue(input.dueAt);
    const recurrence = input.recurrence ?? null;
    if (recurrence) mustParseDuration(recurrence, 'recurrence');
    const targets: Array<{ kind: 'person' | 'department'; value: string }> = [
      ...(input.personIds ?? []).map((value) => ({ kind: 'person' as const, value })),
      ...(input.departments ?? []).map((value) => ({ kind: 'department' as const, value })),
    ];
    if (!targets.length)
      throw new VigilError('BAD_REQUEST', 'personIds or departments: give at least one', {
        details: { field: 'personIds' },
      });
    const people = input.personIds?.length
      ? await this.#db
          .selectFrom('awareness_people')
          .select('id')
          .where('id', 'in', input.personIds)
          .execute()
      : [];
    if (people.length !== new Set(input.personIds ?? []).size)
      throw new VigilError('NOT_FOUND', 'No such person', { details: { field: 'personIds' } });
    const now = this.deps.clock.now().toISOString();
    const rows: AssignmentRow[] = targets.map((t) => ({
      id: newId(),
      course_id: input.courseId,
      target_kind: t.kind,
      target: t.value,
      due_at: dueAt,
      recurrence,
      source,
      created_by: createdBy,
      created_at: now,
    }));
    await this.#db.insertInto('awareness_assignments').values(rows).execute();
    // Only the new assignments: one just-in-time course per phishing click must not walk them all.
    await this.expand(rows);
    return rows.map(toAssignment);
  }

  /** Lists assignments, newest first. */
  async listAssignments(): Promise<Assignment[]> {
    const rows = await this.#db
      .selectFrom('awareness_assignments')
      .selectAll()
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toAssignment);
  }

  /**
   * Creates missing enrolments: for each assignment, each active target person without an
   * enrolment yet gets one due at the assignment's date (or now, if they joined after it). The
   * unique index makes a concurrent expansion harmless. Returns how many were created. Without
   * `only`, every assignment (the periodic run, for people who joined a department since).
   */
  async expand(only?: readonly AssignmentRow[]): Promise<number> {
    const now = this.deps.clock.now();
    const assignments = only ?? (await this.#db.selectFrom('awareness_assignments').selectAll().execute());
    let created = 0;
    const events: Array<{ personId: string; courseId: string; dueAt: string }> = [];
    for (const a of assignments) {
      let q = this.#db.selectFrom('awareness_people').select('id').where('status', '!=', 'terminated');
      q = a.target_kind === 'person' ? q.where('id', '=', a.target) : q.where('department', '=', a.target);
      const people = await q.execute();
      if (!people.length) continue;
      const have = new Set(
        (
          await this.#db
            .selectFrom('awareness_enrolments')
            .select('person_id')
            .where('assignment_id', '=', a.id)
            .execute()
        ).map((r) => r.person_id),
      );
      for (const p of people) {
        if (have.has(p.id)) continue;
        const row: EnrolmentRow = {
          id: newId(),
          assignment_id: a.id,
          person_id: p.id,
          course_id: a.course_id,
          due_at: a.due_at,
          status: 'assigned',
          started_at: null,
          completed_at: null,
          best_score: null,
          reminded_at: null,
          overdue_notified_at: null,
          created_at: now.toISOString(),
        };
        const inserted = await this.#db
          .insertInto('awareness_enrolments')
          .values(row)
          .onConflict((oc) => oc.columns(['assignment_id', 'person_id', 'due_at']).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
          created++;
          events.push({ personId: p.id, courseId: a.course_id, dueAt: a.due_at });
        }
      }
    }
    await publishAll(
      this.deps.bus,
      events.map((e) => ({ kind: AWARENESS_EVENTS.assigned, severity: 'info', data: e })),
      now,
    );
    return created;
  }

  /**
   * Just-in-time training after a phishing click: assigns the course to the person, due in
   * `days`, unless they already have an open enrolment for it. Returns whether one was created.
   */
  async assignJustInTime(personId: string, courseId: string, days = 14): Promise<boolean> {
    if (!this.deps.curriculum.get(courseId)) return false;
    const open = await this.#db
      .selectFrom('awareness_enrolments')
      .select('id')
      .where('person_id', '=', personId)
      .where('course_id', '=', courseId)
      .where('status', '!=', 'passed')
      .executeTakeFirst();
    if (open) return false;
    const due = new Date(this.deps.clock.now().getTime() + days * 86_400_000).toISOString();
    await this.assign({ courseId, personIds: [personId], dueAt: due }, null, 'phishing');
    return true;
  }

  /** Enrolments of some people (a learner, a team), newest due first. */
  async enrolmentsOf(personIds: string[]): Promise<Enrolment[]> {
    if (!personIds.length) return [];
    const now = this.deps.clock.now();
    const rows: EnrolmentRow[] = [];
    for (let i = 0; i < personIds.length; i += 500) {
      rows.push(
        ...(await this.#db
          .selectFrom('awareness_enrolments')
          .selectAll()
          .where('person_id', 'in', personIds.slice(i, i + 500))
          .orderBy('due_at', 'desc')
          .execute()),
      );
    }
    return rows.map((r) => ({
      id: r.id,
      assignmentId: r.assignment_id,
      personId: r.person_id,
      courseId: r.course_id,
      courseTitle: this.deps.curriculum.get(r.course_id)?.title ?? r.course_id,
      dueAt: r.due_at,
      status: statusOf(r, now),
      startedAt: r.started_at,
      completedAt: r.completed_at,
      bestScore: r.best_score,
    }));
  }

  /** Opens a course for a learner (answers stripped); an open enrolment becomes in-progress. */
  async readCourse(personId: string, courseId: string): Promise<LearnerCourse> {
    const course = this.deps.curriculum.mustGet(courseId);
    await this.#db
      .updateTable('awareness_enrolments')
      .set({ status: 'in-progress', started_at: this.deps.clock.now().toISOString() })
      .where('person_id', '=', personId)
      .where('course_id', '=', courseId)
      .where('status', '=', 'assigned')
      .execute();
    return toLearnerCourse(course);
  }

  /**
   * Grades and records a quiz attempt. A pass closes the person's open enrolments of the course
   * and, for a recurring assignment, opens the next cycle due one recurrence after today.
   */
  async submitQuiz(
    person: Pick<PersonRow, 'id'>,
    courseId: string,
    answers: unknown,
  ): Promise<AttemptResult> {
    const course = this.deps.curriculum.mustGet(courseId);
    const result = gradeQuiz(course, answers);
    const now = this.deps.clock.now();
    const at = now.toISOString();
    const attemptId = newId();
    const open = await this.#db
      .selectFrom('awareness_enrolments')
      .selectAll()
      .where('person_id', '=', person.id)
      .where('course_id', '=', courseId)
      .where('status', '!=', 'passed')
      .execute();
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('awareness_attempts')
        .values({
          id: attemptId,
          enrolment_id: open[0]?.id ?? null,
          person_id: person.id,
          course_id: courseId,
          course_version: course.version,
          score: result.score,
          passed: result.passed ? 1 : 0,
          submitted_at: at,
        })
        .execute();
      for (const e of open) {
        await trx
          .updateTable('awareness_enrolments')
          .set({
            status: result.passed ? 'passed' : 'in-progress',
            started_at: e.started_at ?? at,
            completed_at: result.passed ? at : null,
            best_score: Math.max(e.best_score ?? 0, result.score),
          })
          .where('id', '=', e.id)
          .execute();
        if (!result.passed) continue;
        const a = await trx
          .selectFrom('awareness_assignments')
          .select('recurrence')
          .where('id', '=', e.assignment_id)
          .executeTakeFirst();
        if (!a?.recurrence) continue;
        const next = addDuration(now, mustParseDuration(a.recurrence, 'recurrence')).toISOString();
        await trx
          .insertInto('awareness_enrolments')
          .values({
            ...e,
            id: newId(),
            due_at: next,
            status: 'assigned',
            started_at: null,
            completed_at: null,
            best_score: null,
            reminded_at: null,
            overdue_notified_at: null,
            created_at: at,
          })
          .onConflict((oc) => oc.columns(['assignment_id', 'person_id', 'due_at']).doNothing())
          .execute();
      }
    });
    await publishAll(
      this.deps.bus,
      [
        {
          kind: AWARENESS_EVENTS.completed,
          severity: result.passed ? 'info' : 'low',
          data: {
            personId: person.id,
            courseId,
            courseVersion: course.version,
            score: result.score,
            passed: result.passed,
            attemptId,
          },
        },
      ],
      now,
    );
    await this.onPersonChanged(person.id);
    return { ...result, attemptId, courseId, submittedAt: at };
  }

  /** A person's attempts, newest first. */
  async attemptsOf(
    personId: string,
  ): Promise<Array<{ id: string; courseId: string; score: number; passed: boolean; submittedAt: string }>> {
    const rows = await this.#db
      .selectFrom('awareness_attempts')
      .selectAll()
      .where('person_id', '=', personId)
      .orderBy('submitted_at', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      courseId: r.course_id,
      score: r.score,
      passed: r.passed === 1,
      submittedAt: r.submitted_at,
    }));
  }

  /** The course of an id (for exports). */
  course(id: string): Course | undefined {
    return this.deps.curriculum.get(id);
  }
}
