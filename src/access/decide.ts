/**
 * @module access/decide
 * The decision: a hard verdict denies; otherwise the scores add up to the risk (capped at 100),
 * and the application's thresholds turn it into allow, step-up or deny. A step-up already done
 * recently on this device and address counts as done.
 */
import type { AppPolicy, DecisionKind, SignalResult } from './types.js';

export interface Verdict {
  decision: DecisionKind;
  risk: number;
}

/** Sums the scores; a `deny` signal wins at once. `stepUpDone` turns a step-up into an allow. */
export function decide(
  app: Pick<AppPolicy, 'stepUpRisk' | 'denyRisk'>,
  signals: readonly SignalResult[],
  stepUpDone: boolean,
): Verdict {
  let risk = 0;
  for (const s of signals) {
    if (s.deny) return { decision: 'deny', risk: 100 };
    risk += s.score;
  }
  risk = Math.min(100, Math.max(0, Math.round(risk)));
  if (risk >= app.denyRisk) return { decision: 'deny', risk };
  if (risk >= app.stepUpRisk) return { decision: stepUpDone ? 'allow' : 'step-up', risk };
  return { decision: 'allow', risk };
}
