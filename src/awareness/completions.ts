/**
 * @module awareness/completions
 * Completion records for other systems: CSV for spreadsheets and audits, and xAPI statements
 * (one per graded attempt) for a learning record store, so a hospital's existing LMS reporting
 * keeps working. Values that start with `=`, `+`, `-` or `@` are prefixed so a spreadsheet never
 * runs them as formulas.
 */
import type { Kysely } from 'kysely';
import type { AnyDb } from '../platform/db/index.js';
import type { Curriculum } from './courses.js';
import type { AwarenessTables } from './tables.js';

/** One completion record (a graded attempt) with the person's details. */
export type CompletionRecord = {
  attemptId: string;
  personId: string;
  name: string;
  email: string;
  department: string | null;
  courseId: string;
  courseTitle: string;
  courseVersion: number;
  score: number;
  passed: boolean;
  submittedAt: string;
};

/** An xAPI 1.0.3 statement. */
export type XapiStatement = {
  id: string;
  actor: { objectType: 'Agent'; name: string; mbox: string };
  verb: { id: string; display: { 'en-US': string } };
  object: {
    objectType: 'Activity';
    id: string;
    definition: { name: { 'en-US': string }; type: string };
  };
  result: {
    score: { scaled: number; raw: number; min: number; max: number };
    success: boolean;
    completion: boolean;
  };
  timestamp: string;
};

/** Reads completion records, oldest first, optionally for some people only. */
export async function completionRecords(
  db: AnyDb,
  curriculum: Curriculum,
  personIds?: string[],
): Promise<CompletionRecord[]> {
  const k: Kysely<AwarenessTables> = db.withTables<AwarenessTables>();
  let q = k
    .selectFrom('awareness_attempts as a')
    .innerJoin('awareness_people as p', 'p.id', 'a.person_id')
    .select([
      'a.id as attemptId',
      'a.person_id as personId',
      'p.name as name',
      'p.email as email',
      'p.department as department',
      'a.course_id as courseId',
      'a.course_version as courseVersion',
      'a.score as score',
      'a.passed as passed',
      'a.submitted_at as submittedAt',
    ]);
  if (personIds) {
    if (!personIds.length) return [];
    q = q.where('a.person_id', 'in', personIds);
  }
  const rows = await q.orderBy('a.submitted_at').orderBy('a.id').execute();
  return rows.map((r) => ({
    ...r,
    courseVersion: Number(r.courseVersion),
    score: Number(r.score),
    passed: Number(r.passed) === 1,
    courseTitle: curriculum.get(r.courseId)?.title ?? r.courseId,
  }));
}

function cell(value: string | number | boolean | null): string {
  let s = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes rows as RFC 4180 CSV with CRLF line ends and formula-safe cells. */
export function toCsv(header: string[], rows: Array<Array<string | number | boolean | null>>): string {
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** Completion records as CSV. */
export function completionsCsv(records: CompletionRecord[]): string {
  return toCsv(
    [
      'attempt_id',
      'person_id',
      'name',
      'email',
      'department',
      'course_id',
      'course_title',
      'course_version',
      'score',
      'passed',
      'submitted_at',
    ],
    records.map((r) => [
      r.attemptId,
      r.personId,
      r.name,
      r.email,
      r.department,
      r.courseId,
      r.courseTitle,
      r.courseVersion,
      r.score,
      r.passed,
      r.submittedAt,
    ]),
  );
}

/** The xAPI verbs for a pass and a fail (ADL's registry). */
export const XAPI_VERBS = {
  passed: 'http://adlnet.gov/expapi/verbs/passed',
  failed: 'http://adlnet.gov/expapi/verbs/failed',
} as const;

/**
 * One xAPI statement per completion record. The activity id is `<activityBase>/courses/<id>`, a
 * stable IRI per course; the statement id is the attempt id, so re-sending is idempotent at the LRS.
 */
export function xapiStatements(records: CompletionRecord[], activityBase: string): XapiStatement[] {
  const base = activityBase.replace(/\/+$/, '');
  return records.map((r) => ({
    id: r.attemptId,
    actor: { objectType: 'Agent', name: r.name, mbox: `mailto:${r.email.toLowerCase()}` },
    verb: {
      id: r.passed ? XAPI_VERBS.passed : XAPI_VERBS.failed,
      display: { 'en-US': r.passed ? 'passed' : 'failed' },
    },
    object: {
      objectType: 'Activity',
      id: `${base}/courses/${encodeURIComponent(r.courseId)}`,
      definition: { name: { 'en-US': r.courseTitle }, type: 'http://adlnet.gov/expapi/activities/course' },
    },
    result: {
      score: { scaled: r.score / 100, raw: r.score, min: 0, max: 100 },
      success: r.passed,
      completion: true,
    },
    timestamp: r.submittedAt,
  }));
}
