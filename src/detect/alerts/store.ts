/**
 * The `alerts` table and its store. One row per (rule, event): the unique key makes writing
 * idempotent, so a batch redelivered by the bus (at-least-once delivery) never duplicates an
 * alert. Status follows an analyst's work: open → acknowledged → closed, with an assignee.
 */
import type { Kysely } from 'kysely';
import { type Clock, newId, VigilError } from '../../core/index.js';
import type { AnyDb, Migration } from '../../platform/db/index.js';

/** Where an analyst is with an alert. */
export type AlertStatus = 'open' | 'acknowledged' | 'closed';
export const ALERT_STATUSES: readonly AlertStatus[] = ['open', 'acknowledged', 'closed'];

/** An alert as stored and served by the API. */
export interface Alert {
  id: string;
  /** Time of the event that raised it (ISO 8601). */
  time: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  /** Events behind it (the triggering one first). */
  eventIds: string[];
  /** What makes two alerts "the same thing" (rule and group-by values or entity). */
  dedupKey: string;
  status: AlertStatus;
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
}

/** An alert to record (id, status and timestamps are the store's). */
export type NewAlert = Pick<Alert, 'time' | 'ruleId' | 'ruleTitle' | 'level' | 'eventIds' | 'dedupKey'>;

type AlertRow = {
  id: string;
  time: string;
  rule_id: string;
  rule_title: string;
  level: string;
  event_id: string;
  event_ids: string;
  dedup_key: string;
  status: string;
  assignee: string | null;
  created_at: string;
  updated_at: string;
};
type AlertTables = { alerts: AlertRow };

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
];

/** Filters and paging of the alert list. */
export interface AlertQuery {
  status?: AlertStatus;
  level?: string;
  limit?: number;
  offset?: number;
}

function fromRow(r: AlertRow): Alert {
  return {
    id: r.id,
    time: r.time,
    ruleId: r.rule_id,
    ruleTitle: r.rule_title,
    level: r.level,
    eventIds: JSON.parse(r.event_ids) as string[],
    dedupKey: r.dedup_key,
    status: r.status as AlertStatus,
    assignee: r.assignee,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Reads and writes alerts. */
export class AlertStore {
  readonly #db: Kysely<AlertTables>;

  constructor(
    db: AnyDb,
    private readonly clock: Clock,
  ) {
    this.#db = db.withTables<AlertTables>();
  }

  /** Records alerts; one already recorded for the same rule and event is skipped. Returns the new ones. */
  async record(alerts: readonly NewAlert[]): Promise<Alert[]> {
    const now = this.clock.now().toISOString();
    const created: Alert[] = [];
    for (const a of alerts) {
      const row: AlertRow = {
        id: newId(this.clock.now().getTime()),
        time: a.time,
        rule_id: a.ruleId,
        rule_title: a.ruleTitle,
        level: a.level,
        event_id: a.eventIds[0] ?? '',
        event_ids: JSON.stringify(a.eventIds),
        dedup_key: a.dedupKey,
        status: 'open',
        assignee: null,
        created_at: now,
        updated_at: now,
      };
      const res = await this.#db
        .insertInto('alerts')
        .values(row)
        .onConflict((oc) => oc.columns(['rule_id', 'event_id']).doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) > 0) created.push(fromRow(row));
    }
    return created;
  }

  /** Alerts, newest first, with the total matching the filters. */
  async list(q: AlertQuery = {}): Promise<{ alerts: Alert[]; total: number }> {
    let base = this.#db.selectFrom('alerts');
    if (q.status) base = base.where('status', '=', q.status);
    if (q.level) base = base.where('level', '=', q.level);
    const rows = await base
      .selectAll()
      .orderBy('time', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(q.limit ?? 50, 1), 500))
      .offset(Math.max(q.offset ?? 0, 0))
      .execute();
    const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return { alerts: rows.map(fromRow), total: Number(total?.n ?? 0) };
  }

  async get(id: string): Promise<Alert | undefined> {
    const r = await this.#db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  /** Moves an alert to a status (and optionally assigns it); NOT_FOUND when there is no such alert. */
  async setStatus(id: string, status: AlertStatus, assignee?: string | null): Promise<Alert> {
    const patch: Partial<AlertRow> = { status, updated_at: this.clock.now().toISOString() };
    if (assignee !== undefined) patch.assignee = assignee;
    const res = await this.#db.updateTable('alerts').set(patch).where('id', '=', id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new VigilError('NOT_FOUND', 'No such alert.');
    return (await this.get(id))!;
  }
}
