/**
 * @module awareness/tables
 * Row types and migrations of the awareness tables. Times are ISO-8601 UTC text and dates
 * `YYYY-MM-DD` text on both engines. Table names carry the `awareness_` prefix so the domain's
 * tables are recognisable in a shared database. Append new migrations; never edit an applied one.
 */
import type { Migration } from '../platform/db/index.js';
import { type PhishingTables, phishingMigration } from './phishing-tables.js';
import { type TrainingTables, trainingMigration } from './training-tables.js';

/** Where a person stands with the hospital; `terminated` people lose access everywhere. */
export type EmploymentStatus = 'active' | 'leave' | 'terminated';

export const EMPLOYMENT_STATUSES: readonly EmploymentStatus[] = ['active', 'leave', 'terminated'];

export type PersonRow = {
  id: string;
  name: string;
  /** As given (for display and mail). */
  email: string;
  /** Lower-cased email: the unique key, so Alice@X and alice@x are one person on both engines. */
  email_key: string;
  department: string | null;
  job_role: string | null;
  /** Another person's id. */
  manager_id: string | null;
  status: EmploymentStatus;
  /** YYYY-MM-DD. */
  start_date: string | null;
  /** The identity domain's user id, when the person has a console account. */
  console_user_id: string | null;
  /** The identity provider's own id for the person (SCIM `externalId`), as it sent it. */
  external_id: string | null;
  created_at: string;
  updated_at: string;
};

export type AwarenessTables = {
  awareness_people: PersonRow;
} & TrainingTables &
  PhishingTables;

export const awarenessMigrations: Migration[] = [
  {
    id: 'awareness-0001-people',
    async up(db) {
      await db.schema
        .createTable('awareness_people')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_key', 'text', (c) => c.notNull().unique())
        .addColumn('department', 'text')
        .addColumn('job_role', 'text')
        .addColumn('manager_id', 'text', (c) => c.references('awareness_people.id').onDelete('set null'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('start_date', 'text')
        .addColumn('console_user_id', 'text', (c) => c.unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('awareness_people_department')
        .on('awareness_people')
        .columns(['department', 'status'])
        .execute();
      await db.schema
        .createIndex('awareness_people_manager')
        .on('awareness_people')
        .column('manager_id')
        .execute();
    },
  },
  trainingMigration,
  phishingMigration,
  {
    id: 'awareness-0004-external-id',
    async up(db) {
      await db.schema.alterTable('awareness_people').addColumn('external_id', 'text').execute();
      await db.schema
        .createIndex('awareness_people_external_id')
        .on('awareness_people')
        .column('external_id')
        .execute();
    },
  },
];
