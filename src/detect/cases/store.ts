/**
 * Cases: an analyst groups alerts that belong to one incident. A case has a title, a description,
 * a severity (by default the highest of its alerts, until an analyst sets one), a status (open →
 * in progress → closed), an assignee, notes and a timeline of every change. An alert belongs to
 * at most one case; adding one that is in another case is refused (CONFLICT) so no alert is
 * silently moved. Every change is written to the case's timeline (and, for membership, to the
 * alert's) and published as `detect.case.created` / `detect.case.updated`.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { newId, VigilError } from '../../core/index.js';
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
} from '../alerts/activity.js';
import { type Alert, type AlertStore, BULK_MAX } from '../alerts/store.js';
import {
  ALERT_LEVELS,
  type AlertLevel,
  type CaseRow,
  type DetectTables,
  levelRank,
} from '../alerts/tables.js';

export type CaseStatus = 'open' | 'in-progress' | 'closed';
export const CASE_STATUSES = ['open', 'in-progress', 'closed'] as const satisfies readonly CaseStatus[];

/** A case as listed. */
export interface Case {
  id: string;
  title: string;
  description: string;
  severity: AlertLevel;
  /** True while the severity follows the highest of its alerts. */
  severityAuto: boolean;
  status: CaseStatus;
  assignee: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  alertCount: number;
}

/** A case with its alerts and timeline. */
export interface CaseDetail extends Case {
  alerts: Alert[];
  timeline: ActivityEntry[];
}

export interface NewCase {
  title: string;
  description?: string;
  alertIds?: readonly string[];
  /** A level, or absent for the highest of the alerts. */
  severity?: AlertLevel;
  assignee?: string | null;
}

export interface CaseChange {
  title?: string;
  description?: string;
  status?: CaseStatus;
  /** A level, or `auto` to follow the alerts again. */
  severity?: AlertLevel | 'auto';
  assignee?: string | null;
}

export interface CaseQuery {
  status?: CaseStatus;
  q?: string;
  limit?: number;
  offset?: number;
}

const TITLE_MAX = 200;
const DESCRIPTION_MAX = 4000;

function toCase(r: CaseRow, alertCount: number): Case {
  return {
    id: r.id,
    title: r.title,
    description: r.description,
    severity: r.severity as AlertLevel,
    severityAuto: r.severity_auto === 1,
    status: r.status as CaseStatus,
    assignee: r.assignee,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    alertCount,
  };
}

function checkText(
  field: 'title' | 'description',
  value: string | undefined,
  max: number,
): string | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  if ((field === 'title' && !t) || t.length > max)
    throw new VigilError('BAD_REQUEST', `${field}: ${field === 'title' ? 1 : 0} to ${max} characters`, {
      details: { field },
    });
  return t;
}

/** The highest level among alerts ('informational' for none). */
function highest(levels: readonly string[]): AlertLevel {
  let best = 0;
  for (const l of levels) best = Math.max(best, levelRank(l));
  return levels.length ? ALERT_LEVELS[best]! : 'informational';
}

/** Reads and changes cases; see the module comment. */
export class CaseStore {
  readonly #db: Kysely<DetectTables>;

  constructor(
    db: AnyDb,
    private readonly alerts: AlertStore,
    private readonly deps: WorkflowDeps,
  ) {
    this.#db = db.withTables<DetectTables>();
  }

  /** Opens a case, with alerts if given (all must exist and be in no other case). */
  async create(input: NewCase, actor: Actor): Promise<CaseDetail> {
    const title = checkText('title', input.title, TITLE_MAX)!;
    const description = checkText('description', input.description ?? '', DESCRIPTION_MAX)!;
    await checkAssignee(this.deps.people, input.assignee);
    const ids = [...new Set(input.alertIds ?? [])];
    if (ids.length > BULK_MAX)
      throw new VigilError('BAD_REQUEST', `alertIds: at most ${BULK_MAX}`, {
        details: { field: 'alertIds' },
      });
    const now = this.deps.clock.now();
    const id = newId();
    await this.#db.transaction().execute(async (trx) => {
      const row: CaseRow = {
        id,
        title,
        description,
        severity: input.severity ?? 'informational',
        severity_auto: input.severity ? 0 : 1,
        status: 'open',
        assignee: input.assignee ?? null,
        created_by: actor.id,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      await trx.insertInto('alert_cases').values(row).execute();
      await appendActivity(trx, this.deps.clock, [
        { subject: 'case', id, actor, action: 'created', detail: { title } },
        ...(row.assignee
          ? [
              {
                subject: 'case' as const,
                id,
                actor,
                action: 'assigned',
                detail: { from: null, to: row.assignee },
              },
            ]
          : []),
      ]);
      if (ids.length) await this.#attach(trx, row, ids, actor);
    });
    await publishChanges(this.deps, actor, 'detect.case.created', [{ caseId: id, title, alertIds: ids }]);
    return this.get(id);
  }

  /** Cases, most recently changed first, with their alert counts and the total. */
  async list(q: CaseQuery = {}): Promise<{ cases: Case[]; total: number }> {
    let base = this.#db.selectFrom('alert_cases');
    if (q.status) base = base.where('status', '=', q.status);
    if (q.q) {
      const p = containsPattern(q.q);
      base = base.where((eb) =>
        eb.or([sql<boolean>`lower(title) like ${p} escape '!'`, eb('id', '=', q.q!)]),
      );
    }
    const rows = await base
      .selectAll()
      .select((eb) =>
        eb
          .selectFrom('alerts')
          .whereRef('alerts.case_id', '=', 'alert_cases.id')
          .select(eb.fn.countAll().as('n'))
          .as('alert_count'),
      )
      .orderBy('updated_at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(q.limit ?? 50, 1), 500))
      .offset(Math.max(q.offset ?? 0, 0))
      .execute();
    const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return {
      cases: rows.map((r) => toCase(r, Number(r.alert_count ?? 0))),
      total: Number(total?.n ?? 0),
    };
  }

  /** A case with its alerts and timeline; NOT_FOUND when there is none. */
  async get(id: string): Promise<CaseDetail> {
    const row = await this.#db.selectFrom('alert_cases').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new VigilError('NOT_FOUND', 'No such case.');
    // The first 1,000 alerts are shown; the count is all of them.
    const { alerts, total } = await this.alerts.list({ caseId: id, limit: 1000 });
    return { ...toCase(row, total), alerts, timeline: await activityOf(this.#db, 'case', id) };
  }

  /** Changes title, description, status, severity or assignee; each real change is recorded. */
  async update(id: string, change: CaseChange, actor: Actor): Promise<CaseDetail> {
    const title = checkText('title', change.title, TITLE_MAX);
    const description = checkText('description', change.description, DESCRIPTION_MAX);
    await checkAssignee(this.deps.people, change.assignee);
    const events: Array<Record<string, unknown>> = [];
    await this.#db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('alert_cases').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new VigilError('NOT_FOUND', 'No such case.');
      const patch: Partial<CaseRow> = {};
      const entries: Parameters<typeof appendActivity>[2][number][] = [];
      const note = (action: string, from: unknown, to: unknown) => {
        entries.push({ subject: 'case', id, actor, action, detail: { from, to } });
        events.push({ caseId: id, action, from, to });
      };
      if (title !== undefined && title !== row.title) {
        patch.title = title;
        note('title', row.title, title);
      }
      if (description !== undefined && description !== row.description) {
        patch.description = description;
        note('description', null, null);
      }
      if (change.status && change.status !== row.status) {
        patch.status = change.status;
        note('status', row.status, change.status);
      }
      if (change.assignee !== undefined && change.assignee !== row.assignee) {
        patch.assignee = change.assignee;
        note('assigned', row.assignee, change.assignee);
      }
      if (change.severity === 'auto' && row.severity_auto !== 1) {
        const levels = await trx.selectFrom('alerts').select('level').where('case_id', '=', id).execute();
        patch.severity_auto = 1;
        patch.severity = highest(levels.map((l) => l.level));
        note('severity', row.severity, `${patch.severity} (from its alerts)`);
      } else if (
        change.severity &&
        change.severity !== 'auto' &&
        (change.severity !== row.severity || row.severity_auto)
      ) {
        patch.severity_auto = 0;
        patch.severity = change.severity;
        note('severity', row.severity, change.severity);
      }
      if (!entries.length) return;
      patch.updated_at = this.deps.clock.now().toISOString();
      await trx.updateTable('alert_cases').set(patch).where('id', '=', id).execute();
      await appendActivity(trx, this.deps.clock, entries);
    });
    await publishChanges(this.deps, actor, 'detect.case.updated', events);
    return this.get(id);
  }

  /** Adds alerts to a case (those already in it are left; one in another case is a CONFLICT). */
  async addAlerts(id: string, alertIds: readonly string[], actor: Actor): Promise<CaseDetail> {
    const ids = [...new Set(alertIds)];
    if (!ids.length || ids.length > BULK_MAX)
      throw new VigilError('BAD_REQUEST', `alertIds: 1 to ${BULK_MAX} alert ids`, {
        details: { field: 'alertIds' },
      });
    const added = await this.#db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('alert_cases').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new VigilError('NOT_FOUND', 'No such case.');
      return this.#attach(trx, row, ids, actor);
    });
    if (added.length)
      await publishChanges(this.deps, actor, 'detect.case.updated', [
        { caseId: id, action: 'alerts-added', alertIds: added },
      ]);
    return this.get(id);
  }

  /** Takes an alert out of a case; NOT_FOUND when the alert is not in it. */
  async removeAlert(id: string, alertId: string, actor: Actor): Promise<CaseDetail> {
    await this.#db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('alert_cases').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new VigilError('NOT_FOUND', 'No such case.');
      const res = await trx
        .updateTable('alerts')
        .set({ case_id: null, updated_at: this.deps.clock.now().toISOString() })
        .where('id', '=', alertId)
        .where('case_id', '=', id)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0)
        throw new VigilError('NOT_FOUND', 'That alert is not in this case.');
      await appendActivity(trx, this.deps.clock, [
        { subject: 'case', id, actor, action: 'alert-removed', detail: { alertId } },
        { subject: 'alert', id: alertId, actor, action: 'case', detail: { from: id, to: null } },
      ]);
      await this.#refreshSeverity(trx, row);
    });
    await publishChanges(this.deps, actor, 'detect.case.updated', [
      { caseId: id, action: 'alert-removed', alertId },
    ]);
    return this.get(id);
  }

  /** Appends a note to the case's timeline. */
  async addNote(id: string, text: string, actor: Actor): Promise<ActivityEntry> {
    const note = checkNote(text);
    const entry = await this.#db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('alert_cases')
        .set({ updated_at: this.deps.clock.now().toISOString() })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new VigilError('NOT_FOUND', 'No such case.');
      const [e] = await appendActivity(trx, this.deps.clock, [
        { subject: 'case', id, actor, action: 'note', detail: { text: note } },
      ]);
      return e!;
    });
    await publishChanges(this.deps, actor, 'detect.case.updated', [
      { caseId: id, action: 'note', noteId: entry.id, length: note.length },
    ]);
    return entry;
  }

  async #attach(
    trx: Transaction<DetectTables>,
    row: CaseRow,
    ids: readonly string[],
    actor: Actor,
  ): Promise<string[]> {
    const found = await trx.selectFrom('alerts').select(['id', 'case_id']).where('id', 'in', ids).execute();
    if (found.length !== ids.length) {
      const have = new Set(found.map((r) => r.id));
      const missing = ids.filter((x) => !have.has(x));
      throw new VigilError('NOT_FOUND', `No such alert: ${missing.slice(0, 5).join(', ')}`, {
        details: { missing },
      });
    }
    const elsewhere = found.filter((r) => r.case_id !== null && r.case_id !== row.id);
    if (elsewhere.length)
      throw new VigilError(
        'CONFLICT',
        `${elsewhere.length === 1 ? 'An alert is' : `${elsewhere.length} alerts are`} in another case already; remove ${elsewhere.length === 1 ? 'it' : 'them'} there first.`,
        { details: { alerts: elsewhere.map((r) => ({ id: r.id, caseId: r.case_id })) } },
      );
    const added = found.filter((r) => r.case_id === null).map((r) => r.id);
    if (!added.length) return [];
    const now = this.deps.clock.now().toISOString();
    await trx
      .updateTable('alerts')
      .set({ case_id: row.id, updated_at: now })
      .where('id', 'in', added)
      .execute();
    await appendActivity(trx, this.deps.clock, [
      { subject: 'case', id: row.id, actor, action: 'alerts-added', detail: { alertIds: added } },
      ...added.map((alertId) => ({
        subject: 'alert' as const,
        id: alertId,
        actor,
        action: 'case',
        detail: { from: null, to: row.id },
      })),
    ]);
    await this.#refreshSeverity(trx, row);
    return added;
  }

  /** Follows the highest alert level when the severity is automatic. */
  async #refreshSeverity(trx: Transaction<DetectTables>, row: CaseRow): Promise<void> {
    const levels = await trx.selectFrom('alerts').select('level').where('case_id', '=', row.id).execute();
    const patch: Partial<CaseRow> = { updated_at: this.deps.clock.now().toISOString() };
    if (row.severity_auto === 1) patch.severity = highest(levels.map((l) => l.level));
    await trx.updateTable('alert_cases').set(patch).where('id', '=', row.id).execute();
  }
}
