/**
 * @module activity
 * The event log: every event on the bus is kept for `events.retentionDays` (idempotently, by id,
 * because the bus delivers at least once), so the console can show what happened and an analyst
 * can look back. Counts by kind feed the Overview.
 */
import type { Kysely } from 'kysely';
import type { Clock, VigilEvent } from '../core/index.js';
import type { Bus, Subscription } from '../platform/bus/index.js';
import type { AnyDb, Migration } from '../platform/db/index.js';

type EventRow = {
  id: string;
  time: string;
  kind: string;
  source: string;
  severity: string | null;
  user_name: string | null;
  body: string;
};
type ActivityTables = { events: EventRow };

export const activityMigrations: Migration[] = [
  {
    id: 'activity-0001-events',
    async up(db) {
      await db.schema
        .createTable('events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('severity', 'text')
        .addColumn('user_name', 'text')
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_time').on('events').columns(['time', 'kind']).execute();
    },
  },
];

/**
 * Telemetry comes in volumes that an event log should not hold: network events (`net.*` from the
 * sensor, `zeek.*` from Zeek logs) and the gateway's per-request decisions (`access.decision`, kept
 * in the access domain's own table). They stay on the bus for detection; the devices, access and
 * detection domains keep their state and aggregates.
 */
export function isTelemetry(kind: string): boolean {
  return kind.startsWith('net.') || kind.startsWith('zeek.') || kind === 'access.decision';
}

export interface KindCount {
  kind: string;
  count: number;
}

export class ActivityLog {
  readonly #db: Kysely<ActivityTables>;
  constructor(
    db: AnyDb,
    private readonly clock: Clock,
  ) {
    this.#db = db.withTables<ActivityTables>();
  }

  /** Stores a batch in one statement; an event already stored (redelivery) is skipped. */
  async record(events: readonly VigilEvent[]): Promise<void> {
    const kept = events.filter((e) => !isTelemetry(e.kind));
    if (kept.length === 0) return;
    const rows = kept.map((e) => ({
      id: e.id,
      time: e.time,
      kind: e.kind,
      source: e.source,
      severity: e.severity ?? null,
      user_name: e.user?.name ?? null,
      body: JSON.stringify(e),
    }));
    // SQLite allows 32,766 bound parameters: 7 per row, chunks of 1,000 stay well below.
    for (let i = 0; i < rows.length; i += 1000) {
      await this.#db
        .insertInto('events')
        .values(rows.slice(i, i + 1000))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  }

  async countsSince(since: Date): Promise<KindCount[]> {
    const rows = await this.#db
      .selectFrom('events')
      .select(['kind', (eb) => eb.fn.countAll().as('n')])
      .where('time', '>=', since.toISOString())
      .groupBy('kind')
      .orderBy('kind')
      .execute();
    return rows.map((r) => ({ kind: r.kind, count: Number(r.n) }));
  }

  async recent(limit: number, kindPrefix?: string): Promise<VigilEvent[]> {
    let q = this.#db
      .selectFrom('events')
      .select('body')
      .orderBy('time', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(limit, 1), 500));
    if (kindPrefix) q = q.where('kind', 'like', `${kindPrefix.replace(/[%_\\]/g, '')}%`);
    const rows = await q.execute();
    return rows.map((r) => JSON.parse(r.body) as VigilEvent);
  }

  async prune(retentionDays: number): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - retentionDays * 86_400_000).toISOString();
    const res = await this.#db.deleteFrom('events').where('time', '<', cutoff).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Subscribes the log to every event on the bus, as the `activity` group. */
  attach(bus: Bus): Promise<Subscription> {
    return bus.subscribe({
      group: 'activity',
      subjects: ['vigil.>'],
      handler: (events) => this.record(events),
    });
  }
}
