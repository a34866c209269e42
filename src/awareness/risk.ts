/**
 * @module awareness/risk
 * Each person's awareness risk, 0 to 100, with its reasons, from what they did rather than who
 * they are: overdue training, a failed quiz not yet passed, and recent phishing clicks and
 * submissions (halving every 90 days, so an old mistake fades), lowered by reporting. A change is
 * published as `awareness.risk.changed`; the access gateway reads {@link RiskView.stateOf}
 * synchronously on its hot path, so the view keeps the latest state in memory.
 */
import type { Kysely } from 'kysely';
import type { AwarenessSignals, AwarenessState } from '../access/index.js';
import type { Clock } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { AnyDb } from '../platform/db/index.js';
import { AWARENESS_EVENTS, publishAll } from './events.js';
import type { AwarenessTables } from './tables.js';

/** One reason and the points it adds (negative: lowers the risk). */
export type RiskReason = { code: string; points: number; text: string };

/** A person's risk. */
export type PersonRisk = { personId: string; score: number; reasons: RiskReason[]; state: AwarenessState };

/** The weights, in one place so a reviewer sees the whole model. */
export const RISK_WEIGHTS = {
  overdueCourse: 25,
  overdueMax: 50,
  failedQuiz: 10,
  click: 30,
  submit: 45,
  report: -10,
  reportMin: -30,
  halfLifeDays: 90,
  horizonDays: 365,
  /** A click or submission younger than this is a "recent phishing failure" for the gateway. */
  recentFailureDays: 30,
} as const;

const DAY = 86_400_000;

/** The input of the model for one person, read from the tables. */
export interface RiskInput {
  overdue: number;
  failedNotPassed: number;
  /** Times of person (not scanner) clicks without a submit, submissions and reports. */
  clicks: string[];
  submits: string[];
  reports: string[];
}

/** The pure model: score and reasons from the input at `now`. */
export function computeRisk(
  input: RiskInput,
  now: Date,
): { score: number; reasons: RiskReason[]; state: AwarenessState } {
  const w = RISK_WEIGHTS;
  const reasons: RiskReason[] = [];
  const decay = (t: string) => {
    const age = (now.getTime() - Date.parse(t)) / DAY;
    return age > w.horizonDays || age < 0 ? 0 : 0.5 ** (age / w.halfLifeDays);
  };
  if (input.overdue)
    reasons.push({
      code: 'training-overdue',
      points: Math.min(w.overdueMax, w.overdueCourse * input.overdue),
      text: `${input.overdue} training course(s) overdue`,
    });
  if (input.failedNotPassed)
    reasons.push({
      code: 'quiz-failed',
      points: w.failedQuiz * input.failedNotPassed,
      text: `${input.failedNotPassed} quiz(zes) failed and not yet passed`,
    });
  const sum = (times: string[], weight: number) => times.reduce((s, t) => s + weight * decay(t), 0);
  const clicks = Math.round(sum(input.clicks, w.click));
  if (clicks > 0)
    reasons.push({
      code: 'phishing-click',
      points: clicks,
      text: `clicked ${input.clicks.length} simulated phishing link(s) recently`,
    });
  const submits = Math.round(sum(input.submits, w.submit));
  if (submits > 0)
    reasons.push({
      code: 'phishing-submit',
      points: submits,
      text: `entered data on ${input.submits.length} simulated phishing page(s) recently`,
    });
  const reports = Math.max(w.reportMin, Math.round(sum(input.reports, w.report)));
  if (reports < 0)
    reasons.push({
      code: 'phishing-reported',
      points: reports,
      text: `reported ${input.reports.length} simulated phishing message(s)`,
    });
  const score = Math.max(
    0,
    Math.min(
      100,
      reasons.reduce((s, r) => s + r.points, 0),
    ),
  );
  const recent = (t: string) => now.getTime() - Date.parse(t) <= w.recentFailureDays * DAY;
  return {
    score,
    reasons,
    state: {
      overdueTraining: input.overdue > 0,
      recentPhishingFailure: [...input.clicks, ...input.submits].some(recent),
    },
  };
}

/** Computes, stores and publishes risk, and answers the gateway from memory. */
export class RiskView implements AwarenessSignals {
  readonly #db: Kysely<AwarenessTables>;
  /** Console user id → state, for the gateway. */
  readonly #byUser = new Map<string, AwarenessState>();

  constructor(private readonly deps: { db: AnyDb; bus: Bus; clock: Clock }) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** The gateway's question: what awareness knows about a console user (null: nothing). */
  stateOf(userId: string): AwarenessState | null {
    return this.#byUser.get(userId) ?? null;
  }

  async #input(personId: string, now: Date): Promise<RiskInput> {
    const nowIso = now.toISOString();
    const enrolments = await this.#db
      .selectFrom('awareness_enrolments')
      .select(['course_id', 'status', 'due_at'])
      .where('person_id', '=', personId)
      .execute();
    const open = enrolments.filter((e) => e.status !== 'passed');
    const attempts = await this.#db
      .selectFrom('awareness_attempts')
      .select(['course_id', 'passed'])
      .where('person_id', '=', personId)
      .execute();
    const failedCourses = new Set(attempts.filter((a) => Number(a.passed) === 0).map((a) => a.course_id));
    for (const a of attempts) if (Number(a.passed) === 1) failedCourses.delete(a.course_id);
    const since = new Date(now.getTime() - RISK_WEIGHTS.horizonDays * DAY).toISOString();
    const recipients = await this.#db
      .selectFrom('awareness_recipients')
      .select(['clicked_at', 'submitted_at', 'reported_at'])
      .where('person_id', '=', personId)
      .where('modified_at', '>=', since)
      .execute();
    return {
      overdue: open.filter((e) => e.due_at < nowIso).length,
      failedNotPassed: failedCourses.size,
      clicks: recipients.filter((r) => r.clicked_at && !r.submitted_at).map((r) => r.clicked_at!),
      submits: recipients.flatMap((r) => (r.submitted_at ? [r.submitted_at] : [])),
      reports: recipients.flatMap((r) => (r.reported_at ? [r.reported_at] : [])),
    };
  }

  /** Recomputes one person's risk; stores it and publishes `awareness.risk.changed` if it changed. */
  async recompute(personId: string, now: Date = this.deps.clock.now()): Promise<PersonRisk> {
    const result = computeRisk(await this.#input(personId, now), now);
    const person = await this.#db
      .selectFrom('awareness_people')
      .select(['console_user_id'])
      .where('id', '=', personId)
      .executeTakeFirst();
    if (person?.console_user_id) this.#byUser.set(person.console_user_id, result.state);
    const before = await this.#db
      .selectFrom('awareness_risk')
      .selectAll()
      .where('person_id', '=', personId)
      .executeTakeFirst();
    const reasons = JSON.stringify(result.reasons);
    const at = now.toISOString();
    if (!before)
      await this.#db
        .insertInto('awareness_risk')
        .values({ person_id: personId, score: result.score, reasons, computed_at: at })
        .onConflict((oc) =>
          oc.column('person_id').doUpdateSet({ score: result.score, reasons, computed_at: at }),
        )
        .execute();
    else
      await this.#db
        .updateTable('awareness_risk')
        .set({ score: result.score, reasons, computed_at: at })
        .where('person_id', '=', personId)
        .execute();
    if ((before?.score ?? 0) !== result.score)
      await publishAll(
        this.deps.bus,
        [
          {
            kind: AWARENESS_EVENTS.riskChanged,
            severity: result.score >= 60 ? 'medium' : 'info',
            ...(person?.console_user_id ? { user: { id: person.console_user_id } } : {}),
            data: {
              personId,
              score: result.score,
              previous: before?.score ?? 0,
              reasons: result.reasons,
              ...result.state,
            },
          },
        ],
        now,
      );
    return { personId, ...result };
  }

  /** Recomputes everyone (a daily job: decay and new overdue courses change scores over time). */
  async recomputeAll(now: Date = this.deps.clock.now()): Promise<number> {
    const people = await this.#db
      .selectFrom('awareness_people')
      .select('id')
      .where('status', '!=', 'terminated')
      .execute();
    for (const p of people) await this.recompute(p.id, now);
    return people.length;
  }

  /** Stored risk of people (as last computed), highest first. */
  async list(
    personIds?: string[],
  ): Promise<Array<{ personId: string; score: number; reasons: RiskReason[]; computedAt: string }>> {
    let q = this.#db.selectFrom('awareness_risk').selectAll();
    if (personIds) {
      if (!personIds.length) return [];
      q = q.where('person_id', 'in', personIds);
    }
    const rows = await q.orderBy('score', 'desc').limit(5000).execute();
    return rows.map((r) => ({
      personId: r.person_id,
      score: Number(r.score),
      reasons: JSON.parse(r.reasons) as RiskReason[],
      computedAt: r.computed_at,
    }));
  }
}
