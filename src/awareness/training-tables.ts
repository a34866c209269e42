/**
 * @module awareness/training-tables
 * Training rows: assignments (a course to a person or a department, with a due date and maybe a
 * recurrence), enrolments (one person's duty to complete one course by a date, expanded from an
 * assignment so a department assignment reaches each member), and quiz attempts (the completion
 * records that are exported). Times are ISO-8601 UTC text.
 */
import type { Migration } from '../platform/db/index.js';

export type AssignmentRow = {
  id: string;
  course_id: string;
  target_kind: 'person' | 'department';
  /** A person id or a department name. */
  target: string;
  /** When the first cycle is due (ISO time). */
  due_at: string;
  /** ISO 8601 duration after a pass when the course is due again, or null (once). */
  recurrence: string | null;
  /** `manual` (an administrator) or `phishing` (just-in-time after a click). */
  source: string;
  created_by: string | null;
  created_at: string;
};

/** Stored statuses; `overdue` is computed when read (a due date passes without a write). */
export type EnrolmentStatus = 'assigned' | 'in-progress' | 'passed';

export type EnrolmentRow = {
  id: string;
  assignment_id: string;
  person_id: string;
  course_id: string;
  due_at: string;
  status: EnrolmentStatus;
  started_at: string | null;
  completed_at: string | null;
  best_score: number | null;
  reminded_at: string | null;
  overdue_notified_at: string | null;
  created_at: string;
};

export type AttemptRow = {
  id: string;
  enrolment_id: string | null;
  person_id: string;
  course_id: string;
  course_version: number;
  score: number;
  /** 1 or 0. */
  passed: number;
  submitted_at: string;
};

export type TrainingTables = {
  awareness_assignments: AssignmentRow;
  awareness_enrolments: EnrolmentRow;
  awareness_attempts: AttemptRow;
};

export const trainingMigration: Migration = {
  id: 'awareness-0002-training',
  async up(db) {
    await db.schema
      .createTable('awareness_assignments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('course_id', 'text', (c) => c.notNull())
      .addColumn('target_kind', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('due_at', 'text', (c) => c.notNull())
      .addColumn('recurrence', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('awareness_enrolments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('assignment_id', 'text', (c) =>
        c.notNull().references('awareness_assignments.id').onDelete('cascade'),
      )
      .addColumn('person_id', 'text', (c) =>
        c.notNull().references('awareness_people.id').onDelete('cascade'),
      )
      .addColumn('course_id', 'text', (c) => c.notNull())
      .addColumn('due_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('completed_at', 'text')
      .addColumn('best_score', 'integer')
      .addColumn('reminded_at', 'text')
      .addColumn('overdue_notified_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    // One enrolment per assignment, person and cycle (the due date): expansion is idempotent.
    await db.schema
      .createIndex('awareness_enrolments_cycle')
      .on('awareness_enrolments')
      .columns(['assignment_id', 'person_id', 'due_at'])
      .unique()
      .execute();
    await db.schema
      .createIndex('awareness_enrolments_person')
      .on('awareness_enrolments')
      .columns(['person_id', 'status'])
      .execute();
    await db.schema
      .createTable('awareness_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('enrolment_id', 'text')
      .addColumn('person_id', 'text', (c) =>
        c.notNull().references('awareness_people.id').onDelete('cascade'),
      )
      .addColumn('course_id', 'text', (c) => c.notNull())
      .addColumn('course_version', 'integer', (c) => c.notNull())
      .addColumn('score', 'integer', (c) => c.notNull())
      .addColumn('passed', 'integer', (c) => c.notNull())
      .addColumn('submitted_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('awareness_attempts_person')
      .on('awareness_attempts')
      .columns(['person_id', 'submitted_at'])
      .execute();
  },
};
