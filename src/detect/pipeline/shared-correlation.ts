/**
 * Correlation state shared by every worker (distributed mode).
 *
 * `vigil worker` processes (and the server) share one durable JetStream consumer, so the matches
 * of one correlation group land on whichever worker pulled each batch. Rather than give each group
 * to one worker (partition ownership, leases and hand-over when a worker dies), the state lives
 * where every worker already writes its alerts: the database, partitioned by correlation and
 * group-by key. Each row is one match (`detect_correlation_inputs`, keyed by correlation, group,
 * event id and rule position), so:
 *
 * - a redelivered event (its worker was killed before acknowledging) inserts nothing new: a
 *   correlation never counts an event twice;
 * - a worker that dies holds no state: nothing to hand over or rebuild;
 * - a match fires when the condition holds over the window that ends with it, a pure function of
 *   the stored matches (sigma/correlation-window.ts), so the result does not depend on which worker
 *   saw what or in which order. After inserting its batch's matches a worker judges every match
 *   of the touched groups from its earliest new match to its latest plus the timespan. Of two
 *   workers inserting matches of one window at once, the one that reads last sees both (each
 *   reads after its own insert has committed), so no window is judged only on partial data;
 * - each firing match is one occurrence of the correlation's alert, recorded under its event id:
 *   the alert store counts an occurrence once and deduplicates by rule and group, so judging a
 *   window again (on a redelivery, or by two workers) raises nothing twice.
 *
 * The cost is one insert and one range read per correlation per batch, and only for events that
 * match a rule a correlation references. Rows older than the longest window (plus a margin for
 * late events) are deleted as the stream moves on. Correlations of correlations are fed the same
 * way with the firing match (its id suffixed with the inner correlation's id).
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnyDb, Migration } from '../../platform/db/index.js';
import type { CorrelationAlert, Correlator } from '../sigma/correlation.js';
import { firingEntries, sortEntries, type WindowEntry } from '../sigma/correlation-window.js';
import type { CorrelationRule, SigmaEvent } from '../sigma/types.js';

type InputRow = {
  correlation_id: string;
  /** A hash of the group-by values (bounded, whatever the event carried). */
  group_key: string;
  /** JSON object of the group-by values. */
  group_values: string;
  event_id: string;
  pos: number;
  /** Event time, ms since the epoch. */
  t: number | string;
  value: string | null;
};
type Tables = { detect_correlation_inputs: InputRow };

/** The shared correlation table (appended to the detection domain's migrations). */
export const correlationMigrations: Migration[] = [
  {
    id: 'detect-0201-correlation-inputs',
    async up(db) {
      await db.schema
        .createTable('detect_correlation_inputs')
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('group_values', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('pos', 'integer', (c) => c.notNull())
        .addColumn('t', 'bigint', (c) => c.notNull())
        .addColumn('value', 'text')
        .addPrimaryKeyConstraint('detect_correlation_inputs_pk', [
          'correlation_id',
          'group_key',
          'event_id',
          'pos',
        ])
        .execute();
      await db.schema
        .createIndex('detect_correlation_inputs_window')
        .on('detect_correlation_inputs')
        .columns(['correlation_id', 'group_key', 't'])
        .execute();
      await db.schema
        .createIndex('detect_correlation_inputs_age')
        .on('detect_correlation_inputs')
        .columns(['correlation_id', 't'])
        .execute();
    },
  },
];

/** A detection rule's match, to feed the correlations that reference the rule. */
export interface CorrelationMatch {
  ruleId: string;
  event: SigmaEvent;
  /** Event time, ms. */
  time: number;
  eventId: string;
}

/** A match whose window satisfied a correlation: one occurrence of its alert. */
export interface SharedFiring {
  alert: CorrelationAlert;
  /** The firing match's event id (or, chained, the inner firing's id with the correlation's). */
  eventId: string;
}

export interface SharedCorrelationOptions {
  /** Rows kept beyond a correlation's timespan, for late events (default 1 hour). */
  lateMs?: number;
  /** Least wall time between two clean-ups of old rows (default 60 s). */
  pruneEveryMs?: number;
  /** Chained correlations followed at most this deep (default 8, as the Correlator). */
  maxDepth?: number;
}

/** Longest stored value: longer ones are kept as a hash (distinct values stay distinct). */
const MAX_VALUE = 256;
const INSERT_CHUNK = 500;
const READ_CHUNK = 400;

function hashed(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 32);
}

interface Pending {
  rule: CorrelationRule;
  /** group key → values, earliest and latest new match. */
  groups: Map<string, { values: Record<string, string | null>; min: number; max: number }>;
  rows: InputRow[];
}

/** Correlation over the shared table; see the module comment. */
export class SharedCorrelations {
  readonly #db: Kysely<Tables>;
  readonly #correlator: Correlator;
  readonly #lateMs: number;
  readonly #pruneEveryMs: number;
  readonly #maxDepth: number;
  /** Latest event time seen per correlation, and when old rows were last deleted. */
  readonly #latest = new Map<string, number>();
  #lastPrune = 0;

  /** @param correlator gives each match's group and value (its own state is not used) */
  constructor(db: AnyDb, correlator: Correlator, options: SharedCorrelationOptions = {}) {
    this.#db = db.withTables<Tables>();
    this.#correlator = correlator;
    this.#lateMs = options.lateMs ?? 60 * 60_000;
    this.#pruneEveryMs = options.pruneEveryMs ?? 60_000;
    this.#maxDepth = options.maxDepth ?? 8;
  }

  /** Stores the matches and returns the correlations they make fire (chained ones included). */
  async process(matches: readonly CorrelationMatch[]): Promise<SharedFiring[]> {
    const out: SharedFiring[] = [];
    let wave = matches;
    for (let depth = 0; wave.length && depth <= this.#maxDepth; depth++) {
      const fired = await this.#round(wave);
      out.push(...fired);
      wave = fired.map((f) => ({
        ruleId: f.alert.correlationId,
        event: f.alert.group,
        time: f.alert.lastTime,
        eventId: `${f.eventId}@${f.alert.correlationId}`,
      }));
    }
    await this.#prune();
    return out;
  }

  async #round(matches: readonly CorrelationMatch[]): Promise<SharedFiring[]> {
    const pending = new Map<string, Pending>();
    for (const m of matches) {
      for (const input of this.#correlator.inputsOf(m.ruleId, m.event)) {
        const rule = input.correlation;
        let p = pending.get(rule.id);
        if (!p) {
          p = { rule, groups: new Map(), rows: [] };
          pending.set(rule.id, p);
        }
        const key = hashed(input.key);
        const g = p.groups.get(key);
        if (g) {
          g.min = Math.min(g.min, m.time);
          g.max = Math.max(g.max, m.time);
        } else p.groups.set(key, { values: input.group, min: m.time, max: m.time });
        const v = input.value === null ? null : String(input.value);
        p.rows.push({
          correlation_id: rule.id,
          group_key: key,
          group_values: JSON.stringify(input.group),
          event_id: m.eventId,
          pos: input.pos,
          t: m.time,
          value: v !== null && v.length > MAX_VALUE ? `#${hashed(v)}` : v,
        });
        this.#latest.set(rule.id, Math.max(this.#latest.get(rule.id) ?? m.time, m.time));
      }
    }
    if (!pending.size) return [];
    // Insert everything first (each statement commits), then read: see the module comment.
    for (const p of pending.values()) {
      for (let i = 0; i < p.rows.length; i += INSERT_CHUNK) {
        await this.#db
          .insertInto('detect_correlation_inputs')
          .values(p.rows.slice(i, i + INSERT_CHUNK))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    }
    const out: SharedFiring[] = [];
    for (const p of pending.values()) out.push(...(await this.#judge(p)));
    return out;
  }

  /** Reads the touched groups' windows and returns the matches that fire. */
  async #judge(p: Pending): Promise<SharedFiring[]> {
    const span = p.rule.timespanMs;
    const numeric = p.rule.type === 'value_sum' || p.rule.type === 'value_avg';
    const keys = [...p.groups.keys()];
    const out: SharedFiring[] = [];
    for (let i = 0; i < keys.length; i += READ_CHUNK) {
      const chunk = keys.slice(i, i + READ_CHUNK);
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const k of chunk) {
        const g = p.groups.get(k)!;
        lo = Math.min(lo, g.min - span);
        hi = Math.max(hi, g.max + span);
      }
      const rows = await this.#db
        .selectFrom('detect_correlation_inputs')
        .select(['group_key', 'event_id', 'pos', 't', 'value'])
        .where('correlation_id', '=', p.rule.id)
        .where('group_key', 'in', chunk)
        .where('t', '>=', lo)
        .where('t', '<=', hi)
        .execute();
      const byGroup = new Map<string, WindowEntry[]>();
      for (const r of rows) {
        let list = byGroup.get(r.group_key);
        if (!list) {
          list = [];
          byGroup.set(r.group_key, list);
        }
        const value = r.value === null ? null : numeric ? Number(r.value) : r.value;
        list.push({
          t: Number(r.t),
          id: r.event_id,
          pos: Number(r.pos),
          value: typeof value === 'number' && !Number.isFinite(value) ? null : value,
        });
      }
      for (const [key, entries] of byGroup) {
        const g = p.groups.get(key)!;
        for (const f of firingEntries(p.rule, sortEntries(entries), g.min, g.max + span)) {
          const alert: CorrelationAlert = {
            correlationId: p.rule.id,
            title: p.rule.title,
            type: p.rule.type,
            group: g.values,
            value: f.value,
            firstTime: f.firstTime,
            lastTime: f.entry.t,
          };
          if (p.rule.level !== undefined) alert.level = p.rule.level;
          out.push({ alert, eventId: f.entry.id });
        }
      }
    }
    return out;
  }

  /** Deletes rows that no window can need any more (at most once per `pruneEveryMs`). */
  async #prune(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastPrune < this.#pruneEveryMs) return;
    this.#lastPrune = now;
    for (const [id, latest] of this.#latest) {
      const rule = this.#correlator.rule(id);
      if (!rule) continue;
      await this.#db
        .deleteFrom('detect_correlation_inputs')
        .where('correlation_id', '=', id)
        .where('t', '<', latest - 2 * rule.timespanMs - this.#lateMs)
        .execute();
    }
  }
}
