/**
 * The alert store and its workflow.
 *
 * Recording: an alert is one rule firing on one entity (a user, an address, a correlation's
 * group). Occurrences of the same rule and entity within the deduplication window join the open
 * alert (its count and last-seen time grow, and its first events are kept as bounded evidence)
 * instead of raising a new one. Each (rule, event) is counted once, whatever the bus redelivers:
 * the `alert_occurrences` key (rule, event, entity) makes recording idempotent. The `open_key` column, unique, holds the
 * dedup key of the one alert that absorbs occurrences, so two workers can never open two alerts
 * for the same rule and entity; a conditional update on the count makes concurrent absorption
 * exact on PostgreSQL too.
 *
 * Workflow: status new → acknowledged → resolved or false positive (any move is allowed, each
 * recorded with who and when), an assignee (an active analyst or admin), append-only notes, and
 * bulk changes. Every change is written to the alert's timeline and published as a
 * `detect.alert.updated` event. A resolved or false-positive alert absorbs nothing more: the next
 * occurrence opens a new alert.
 */
import { type Kysely, type SelectQueryBuilder, sql, type Transaction } from 'kysely';
import { type Clock, newId, VigilError } from '../../core/index.js';
import type { AnyDb } from '../../platform/db/index.js';
import {
  type ActivityEntry,
  type Actor,
  activityOf,
  appendActivity,
  checkAssignee,
  checkNote,
  containsPattern,
  publishChanges,
  type WorkflowDeps,
} from './activity.js';
import { boundEvent, DEFAULT_EVIDENCE, type EvidenceLimits } from './evidence.js';
import { type AlertRow, type DetectTables, occurrenceKey } from './tables.js';

export { ALERT_LEVELS, type AlertLevel, detectMigrations, levelRank } from './tables.js';

/** Where an analyst is with an alert. */
export type AlertStatus = 'new' | 'acknowledged' | 'resolved' | 'false-positive';
export const ALERT_STATUSES = [
  'new',
  'acknowledged',
  'resolved',
  'false-positive',
] as const satisfies readonly AlertStatus[];
/** Statuses after which an alert absorbs no more occurrences. */
const CLOSED: ReadonlySet<string> = new Set(['resolved', 'false-positive']);

/** Most alerts changed by one bulk request. */
export const BULK_MAX = 500;

/** An alert as listed by the API. */
export interface Alert {
  id: string;
  /** Time of the first event (ISO 8601). */
  time: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  /** Tags of the rule (ATT&CK tactics and techniques as `attack.t1110`, …). */
  tags: string[];
  /** What the alert is about: a user, an address, a correlation group (`user.name=eve`). */
  entity: string;
  /** The first events' ids (as many as the evidence keeps). */
  eventIds: string[];
  /** Rule and entity: occurrences with the same key within the window join this alert. */
  dedupKey: string;
  /** Occurrences counted (each rule and event once). */
  count: number;
  firstSeen: string;
  lastSeen: string;
  status: AlertStatus;
  statusChangedAt: string | null;
  /** User id of who last changed the status. */
  statusChangedBy: string | null;
  /** User id of the analyst working on it. */
  assignee: string | null;
  caseId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** An alert with its evidence and timeline (status changes, assignments, notes). */
export interface AlertDetail extends Alert {
  evidence: unknown[];
  timeline: ActivityEntry[];
}

/** An alert to record, as the detector raises it. */
export interface NewAlert {
  time: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  /** The event behind it first (only the first counts for idempotency). */
  eventIds: string[];
  dedupKey: string;
  tags?: readonly string[];
  /** The event(s) behind it, kept bounded. */
  evidence?: readonly unknown[];
}

/** Filters and paging of the alert list. */
export interface AlertQuery {
  status?: AlertStatus | readonly AlertStatus[];
  level?: string;
  ruleId?: string;
  /** Text in the rule title or id, the entity or the alert id (case-insensitive). */
  q?: string;
  assignee?: string;
  caseId?: string;
  /** First seen at or after / before (ISO 8601). */
  since?: string;
  until?: string;
  limit?: number;
  offset?: number;
}

/** A change to one or many alerts; absent fields stay as they are. */
export interface AlertChange {
  status?: AlertStatus;
  /** A user id, or null to unassign. */
  assignee?: string | null;
}

/** Options of the store. */
export interface AlertStoreOptions extends Partial<WorkflowDeps> {
  /** Occurrences of one rule and entity within this many ms of the first join it (0: never). */
  dedupWindowMs?: number;
  evidence?: EvidenceLimits;
}

export const DEFAULT_DEDUP_WINDOW_MS = 60 * 60_000;

/** The entity part of a dedup key `rule|entity` (a correlation group's JSON as `k=v, …`). */
export function entityOf(ruleId: string, dedupKey: string): string {
  const rest = dedupKey.startsWith(`${ruleId}|`) ? dedupKey.slice(ruleId.length + 1) : dedupKey;
  if (rest.startsWith('{')) {
    try {
      const group = JSON.parse(rest) as Record<string, unknown>;
      return Object.entries(group)
        .map(([k, v]) => `${k}=${v ?? ''}`)
        .join(', ');
    } catch {
      return rest;
    }
  }
  return rest;
}

function fromRow(r: AlertRow): Alert {
  return {
    id: r.id,
    time: r.time,
    ruleId: r.rule_id,
    ruleTitle: r.rule_title,
    level: r.level,
    tags: JSON.parse(r.tags) as string[],
    entity: r.entity,
    eventIds: JSON.parse(r.event_ids) as string[],
    dedupKey: r.dedup_key,
    count: Number(r.count),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    status: r.status as AlertStatus,
    statusChangedAt: r.status_changed_at,
    statusChangedBy: r.status_changed_by,
    assignee: r.assignee,
    caseId: r.case_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const inserted = (r: { numInsertedOrUpdatedRows?: bigint } | undefined) =>
  Number(r?.numInsertedOrUpdatedRows ?? 0n) > 0;

type Trx = Transaction<DetectTables>;

/** Reads, records and changes alerts; see the module comment. */
export class AlertStore {
  readonly #db: Kysely<DetectTables>;
  readonly #deps: WorkflowDeps;
  readonly #windowMs: number;
  readonly #evidence: EvidenceLimits;

  constructor(db: AnyDb, clock: Clock, options: AlertStoreOptions = {}) {
    this.#db = db.withTables<DetectTables>();
    this.#deps = { clock, bus: options.bus, people: options.people, logger: options.logger };
    this.#windowMs = options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS;
    this.#evidence = options.evidence ?? DEFAULT_EVIDENCE;
  }

  /**
   * Records alerts in one transaction: each (rule, event) once; an occurrence joins the open
   * alert of its rule and entity within the window, or opens a new one. Returns the new alerts.
   */
  async record(alerts: readonly NewAlert[]): Promise<Alert[]> {
    if (!alerts.length) return [];
    // By key (then time): concurrent writers take their row locks in one order, never deadlocking.
    const ordered = [...alerts].sort((x, y) =>
      x.dedupKey < y.dedupKey ? -1 : x.dedupKey > y.dedupKey ? 1 : x.time.localeCompare(y.time),
    );
    return this.#db.transaction().execute(async (trx) => {
      const created: Alert[] = [];
      for (const a of ordered) {
        const eventId = a.eventIds[0] ?? newId();
        const key = occurrenceKey(eventId, a.dedupKey);
        const occ = await trx
          .insertInto('alert_occurrences')
          .values({ rule_id: a.ruleId, event_id: key, alert_id: '', time: a.time })
          .onConflict((oc) => oc.columns(['rule_id', 'event_id']).doNothing())
          .executeTakeFirst();
        if (!inserted(occ)) continue; // counted before (a redelivered batch)
        const alertId = await this.#absorbOrOpen(trx, a, eventId, key, created);
        await trx
          .updateTable('alert_occurrences')
          .set({ alert_id: alertId })
          .where('rule_id', '=', a.ruleId)
          .where('event_id', '=', key)
          .execute();
      }
      return created;
    });
  }

  async #absorbOrOpen(
    trx: Trx,
    a: NewAlert,
    eventId: string,
    key: string,
    created: Alert[],
  ): Promise<string> {
    const t = Date.parse(a.time);
    const evidence = (a.evidence ?? []).slice(0, 1).map((e) => boundEvent(e, this.#evidence));
    for (let attempt = 0; attempt < 50; attempt++) {
      if (this.#windowMs > 0) {
        const open = await trx
          .selectFrom('alerts')
          .selectAll()
          .where('open_key', '=', a.dedupKey)
          .executeTakeFirst();
        if (open && Math.abs(t - Date.parse(open.first_seen)) < this.#windowMs) {
          const ids = JSON.parse(open.event_ids) as string[];
          const kept = JSON.parse(open.evidence) as unknown[];
          const patch: Partial<AlertRow> = {
            count: Number(open.count) + 1,
            // ISO times of one format compare as strings.
            last_seen: [a.time, open.last_seen].sort()[1]!,
            first_seen: [a.time, open.first_seen].sort()[0]!,
            updated_at: this.#deps.clock.now().toISOString(),
          };
          if (ids.length < this.#evidence.events) patch.event_ids = JSON.stringify([...ids, eventId]);
          if (kept.length < this.#evidence.events && evidence.length)
            patch.evidence = JSON.stringify([...kept, ...evidence]);
          // Only if nobody counted meanwhile (another worker): otherwise read again and retry.
          const res = await trx
            .updateTable('alerts')
            .set(patch)
            .where('id', '=', open.id)
            .where('count', '=', Number(open.count))
            .where('open_key', '=', a.dedupKey)
            .executeTakeFirst();
          if (Number(res.numUpdatedRows) > 0) return open.id;
          continue;
        }
        // Its window is over: it keeps what it has and stops absorbing.
        if (open) await trx.updateTable('alerts').set({ open_key: null }).where('id', '=', open.id).execute();
      }
      const now = this.#deps.clock.now().toISOString();
      const row: AlertRow = {
        id: newId(),
        time: a.time,
        rule_id: a.ruleId,
        rule_title: a.ruleTitle,
        level: a.level,
        event_id: key,
        event_ids: JSON.stringify([eventId]),
        dedup_key: a.dedupKey,
        status: 'new',
        assignee: null,
        created_at: now,
        updated_at: now,
        entity: entityOf(a.ruleId, a.dedupKey).slice(0, 500),
        tags: JSON.stringify(a.tags ?? []),
        count: 1,
        first_seen: a.time,
        last_seen: a.time,
        evidence: JSON.stringify(evidence),
        open_key: this.#windowMs > 0 ? a.dedupKey : null,
        status_changed_at: null,
        status_changed_by: null,
        case_id: null,
      };
      const res = await trx
        .insertInto('alerts')
        .values(row)
        .onConflict((oc) => oc.column('open_key').doNothing())
        .executeTakeFirst();
      if (inserted(res)) {
        created.push(fromRow(row));
        return row.id;
      }
      // Another worker opened it first: join that one.
    }
    throw new Error(`could not record an alert for ${a.ruleId}: too much contention`);
  }

  /** Alerts, most recently seen first, with the total matching the filters. */
  async list(q: AlertQuery = {}): Promise<{ alerts: Alert[]; total: number }> {
    const base = this.#filtered(q);
    const rows = await this.#page(base, q);
    const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return { alerts: rows.map(fromRow), total: Number(total?.n ?? 0) };
  }

  /** Every alert matching the filters with its kept evidence, page by page (for exports). */
  async *each(
    q: Omit<AlertQuery, 'limit' | 'offset'> = {},
    pageSize = 500,
  ): AsyncGenerator<Alert & { evidence: unknown[] }> {
    const base = this.#filtered(q);
    for (let offset = 0; ; offset += pageSize) {
      const rows = await this.#page(base, { limit: pageSize, offset });
      for (const r of rows) yield { ...fromRow(r), evidence: JSON.parse(r.evidence) as unknown[] };
      if (rows.length < pageSize) return;
    }
  }

  #filtered(q: AlertQuery): SelectQueryBuilder<DetectTables, 'alerts', object> {
    let base = this.#db.selectFrom('alerts');
    const statuses = q.status === undefined ? [] : typeof q.status === 'string' ? [q.status] : [...q.status];
    if (statuses.length) base = base.where('status', 'in', statuses);
    if (q.level) base = base.where('level', '=', q.level);
    if (q.ruleId) base = base.where('rule_id', '=', q.ruleId);
    if (q.assignee) base = base.where('assignee', '=', q.assignee);
    if (q.caseId) base = base.where('case_id', '=', q.caseId);
    if (q.since) base = base.where('time', '>=', q.since);
    if (q.until) base = base.where('time', '<', q.until);
    if (q.q) {
      const p = containsPattern(q.q);
      const exact = q.q;
      base = base.where((eb) =>
        eb.or([
          sql<boolean>`lower(rule_title) like ${p} escape '!'`,
          sql<boolean>`lower(rule_id) like ${p} escape '!'`,
          sql<boolean>`lower(entity) like ${p} escape '!'`,
          eb('id', '=', exact),
        ]),
      );
    }
    return base;
  }

  #page(base: SelectQueryBuilder<DetectTables, 'alerts', object>, q: Pick<AlertQuery, 'limit' | 'offset'>) {
    return base
      .selectAll()
      .orderBy('last_seen', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(q.limit ?? 50, 1), 1000))
      .offset(Math.max(q.offset ?? 0, 0))
      .execute();
  }

  async get(id: string): Promise<Alert | undefined> {
    const r = await this.#db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRow(r) : undefined;
  }

  /** An alert with its evidence and timeline; NOT_FOUND when there is none. */
  async detail(id: string): Promise<AlertDetail> {
    const r = await this.#db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new VigilError('NOT_FOUND', 'No such alert.');
    return {
      ...fromRow(r),
      evidence: JSON.parse(r.evidence) as unknown[],
      timeline: await activityOf(this.#db, 'alert', id),
    };
  }

  /** The rules that raised alerts, with how many (for filters). */
  async rules(): Promise<Array<{ ruleId: string; ruleTitle: string; alerts: number }>> {
    const rows = await this.#db
      .selectFrom('alerts')
      .select((eb) => ['rule_id', eb.fn.max('rule_title').as('title'), eb.fn.countAll().as('n')])
      .groupBy('rule_id')
      .orderBy('rule_id')
      .limit(1000)
      .execute();
    return rows.map((r) => ({ ruleId: r.rule_id, ruleTitle: String(r.title), alerts: Number(r.n) }));
  }

  /**
   * Changes the status and/or assignee of alerts, all or none: NOT_FOUND (naming the missing ids)
   * when one does not exist. Each real change is written to the alert's timeline and published.
   */
  async update(ids: readonly string[], change: AlertChange, actor: Actor): Promise<Alert[]> {
    const unique = [...new Set(ids)];
    if (!unique.length || unique.length > BULK_MAX)
      throw new VigilError('BAD_REQUEST', `ids: 1 to ${BULK_MAX} alert ids`, { details: { field: 'ids' } });
    await checkAssignee(this.#deps.people, change.assignee);
    const now = this.#deps.clock.now().toISOString();
    const events: Array<Record<string, unknown>> = [];
    const rows = await this.#db.transaction().execute(async (trx) => {
      const found = await trx.selectFrom('alerts').selectAll().where('id', 'in', unique).execute();
      if (found.length !== unique.length) {
        const have = new Set(found.map((r) => r.id));
        const missing = unique.filter((id) => !have.has(id));
        throw new VigilError('NOT_FOUND', `No such alert: ${missing.slice(0, 5).join(', ')}`, {
          details: { missing },
        });
      }
      const entries: Parameters<typeof appendActivity>[2][number][] = [];
      const out: AlertRow[] = [];
      for (const row of found) {
        const patch: Partial<AlertRow> = {};
        if (change.status && change.status !== row.status) {
          Object.assign(patch, {
            status: change.status,
            status_changed_at: now,
            status_changed_by: actor.id,
            ...(CLOSED.has(change.status) ? { open_key: null } : {}),
          });
          const detail = { from: row.status, to: change.status };
          entries.push({ subject: 'alert', id: row.id, actor, action: 'status', detail });
          events.push({ alertId: row.id, action: 'status', ...detail });
        }
        if (change.assignee !== undefined && change.assignee !== row.assignee) {
          patch.assignee = change.assignee;
          const detail = { from: row.assignee, to: change.assignee };
          entries.push({ subject: 'alert', id: row.id, actor, action: 'assigned', detail });
          events.push({ alertId: row.id, action: 'assigned', ...detail });
        }
        if (Object.keys(patch).length) {
          patch.updated_at = now;
          await trx.updateTable('alerts').set(patch).where('id', '=', row.id).execute();
        }
        out.push({ ...row, ...patch });
      }
      await appendActivity(trx, this.#deps.clock, entries);
      return out;
    });
    await publishChanges(this.#deps, actor, 'detect.alert.updated', events);
    const byId = new Map(rows.map((r) => [r.id, fromRow(r)] as const));
    return unique.map((id) => byId.get(id)!);
  }

  /** Moves one alert to a status; NOT_FOUND when there is no such alert. */
  async setStatus(id: string, status: AlertStatus, actor: Actor): Promise<Alert> {
    return (await this.update([id], { status }, actor))[0]!;
  }

  /** Assigns one alert (null: unassigns). */
  async assign(id: string, assignee: string | null, actor: Actor): Promise<Alert> {
    return (await this.update([id], { assignee }, actor))[0]!;
  }

  /** Appends a note to an alert's timeline (notes are never edited nor deleted). */
  async addNote(id: string, text: string, actor: Actor): Promise<ActivityEntry> {
    const note = checkNote(text);
    const entry = await this.#db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('alerts')
        .set({ updated_at: this.#deps.clock.now().toISOString() })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new VigilError('NOT_FOUND', 'No such alert.');
      const [e] = await appendActivity(trx, this.#deps.clock, [
        { subject: 'alert', id, actor, action: 'note', detail: { text: note } },
      ]);
      return e!;
    });
    await publishChanges(this.#deps, actor, 'detect.alert.updated', [
      { alertId: id, action: 'note', noteId: entry.id, length: note.length },
    ]);
    return entry;
  }
}
