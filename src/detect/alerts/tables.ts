/**
 * The detection domain's tables and migrations: alerts (one per rule and entity within the
 * deduplication window), the occurrences that make recording idempotent, the cases that group
 * alerts, and one append-only activity table that holds every change and note of an alert or a
 * case (who, when, what).
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Migration } from '../../platform/db/index.js';

/** Severity levels of Sigma rules, lowest first. */
export const ALERT_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type AlertLevel = (typeof ALERT_LEVELS)[number];

/**
 * What makes an occurrence unique: the event and the entity (a hash of the dedup key), since one
 * event can fire one rule on two entities (a flow is a new port for both its ends). With the rule
 * id it keys `alert_occurrences`, and it is the `event_id` of the alert it opens.
 */
export function occurrenceKey(eventId: string, dedupKey: string): string {
  return `${eventId}#${createHash('sha256').update(dedupKey).digest('hex').slice(0, 16)}`;
}

/** Rank of a level (unknown levels count as medium, as the detector's default). */
export function levelRank(level: string): number {
  const i = (ALERT_LEVELS as readonly string[]).indexOf(level);
  return i < 0 ? 2 : i;
}

export type AlertRow = {
  id: string;
  /** Time of the first event (ISO 8601). */
  time: string;
  rule_id: string;
  rule_title: string;
  level: string;
  /** The first occurrence's key (see occurrenceKey; unique with rule_id). */
  event_id: string;
  /** JSON list of the first events' ids (bounded like the evidence). */
  event_ids: string;
  dedup_key: string;
  status: string;
  assignee: string | null;
  created_at: string;
  updated_at: string;
  entity: string;
  /** JSON list of tags (ATT&CK and others) of the rule. */
  tags: string;
  count: number;
  first_seen: string;
  last_seen: string;
  /** JSON list of bounded event copies. */
  evidence: string;
  /** The dedup key while the alert absorbs new occurrences; null once closed or out of its window. */
  open_key: string | null;
  status_changed_at: string | null;
  status_changed_by: string | null;
  case_id: string | null;
};

export type OccurrenceRow = { rule_id: string; event_id: string; alert_id: string; time: string };

export type CaseRow = {
  id: string;
  title: string;
  description: string;
  severity: string;
  /** 1: the severity follows the highest of the case's alerts; 0: set by an analyst. */
  severity_auto: number;
  status: string;
  assignee: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
};

export type ActivityRow = {
  id: string;
  subject_type: 'alert' | 'case';
  subject_id: string;
  time: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  /** JSON object: `{from, to}` of a change, `{text}` of a note, … */
  detail: string;
};

export type DetectTables = {
  alerts: AlertRow;
  alert_occurrences: OccurrenceRow;
  alert_cases: CaseRow;
  detect_activity: ActivityRow;
};

/** Migrations of the detection domain. */
export const detectMigrations: Migration[] = [
  {
    id: 'detect-0001-alerts',
    async up(db) {
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('rule_title', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_ids', 'text', (c) => c.notNull())
        .addColumn('dedup_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('assignee', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('alerts_rule_event', ['rule_id', 'event_id'])
        .execute();
      await db.schema.createIndex('alerts_time').on('alerts').columns(['time']).execute();
      await db.schema.createIndex('alerts_status').on('alerts').columns(['status', 'level']).execute();
    },
  },
  {
    id: 'detect-0002-alert-lifecycle-cases',
    async up(db) {
      const alter = () => db.schema.alterTable('alerts');
      await alter()
        .addColumn('entity', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await alter()
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await alter()
        .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await alter()
        .addColumn('first_seen', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await alter()
        .addColumn('last_seen', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await alter()
        .addColumn('evidence', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await alter().addColumn('open_key', 'text').execute();
      await alter().addColumn('status_changed_at', 'text').execute();
      await alter().addColumn('status_changed_by', 'text').execute();
      await alter().addColumn('case_id', 'text').execute();
      // Alerts recorded before: the old statuses, their times, one occurrence each.
      await sql`update alerts set first_seen = time, last_seen = time`.execute(db);
      await sql`update alerts set status = 'new' where status = 'open'`.execute(db);
      await sql`update alerts set status = 'resolved' where status = 'closed'`.execute(db);
      await db.schema.createIndex('alerts_open_key').on('alerts').column('open_key').unique().execute();
      await db.schema.createIndex('alerts_last_seen').on('alerts').columns(['last_seen', 'id']).execute();
      await db.schema.createIndex('alerts_rule').on('alerts').columns(['rule_id']).execute();
      await db.schema.createIndex('alerts_case').on('alerts').columns(['case_id']).execute();

      await db.schema
        .createTable('alert_occurrences')
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('alert_occurrences_pk', ['rule_id', 'event_id'])
        .execute();
      await db.schema
        .createIndex('alert_occurrences_alert')
        .on('alert_occurrences')
        .columns(['alert_id'])
        .execute();
      // The events of alerts recorded before count as occurrences, so a redelivery adds nothing.
      const t = db as unknown as Kysely<DetectTables>;
      for (let after = ''; ; ) {
        const page = await t
          .selectFrom('alerts')
          .select(['id', 'rule_id', 'event_id', 'dedup_key', 'time'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(500)
          .execute();
        if (!page.length) break;
        await t
          .insertInto('alert_occurrences')
          .values(
            page.map((r) => ({
              rule_id: r.rule_id,
              event_id: occurrenceKey(r.event_id, r.dedup_key),
              alert_id: r.id,
              time: r.time,
            })),
          )
          .onConflict((oc) => oc.columns(['rule_id', 'event_id']).doNothing())
          .execute();
        after = page.at(-1)!.id;
      }

      await db.schema
        .createTable('alert_cases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('severity_auto', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('assignee', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alert_cases_status').on('alert_cases').columns(['status']).execute();

      await db.schema
        .createTable('detect_activity')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('actor_name', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('detect_activity_subject')
        .on('detect_activity')
        .columns(['subject_type', 'subject_id', 'id'])
        .execute();
    },
  },
];
