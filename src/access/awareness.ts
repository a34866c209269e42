/**
 * @module access/awareness
 * How the awareness domain tells the gateway that a person is a risk right now (overdue training,
 * a recent phishing failure): step-up until resolved. The gateway asks synchronously on the hot
 * path, so an implementation keeps its own in-memory view. Until the awareness domain provides
 * one, the neutral implementation reports nothing.
 */
import type { SignalResult } from './types.js';

/** What awareness knows about a user; null when it knows nothing. */
export interface AwarenessState {
  overdueTraining: boolean;
  recentPhishingFailure: boolean;
}

/** Implemented by the awareness domain (or a test fake). */
export interface AwarenessSignals {
  stateOf(userId: string): AwarenessState | null;
}

/** Reports nothing: the default until the awareness domain is wired in. */
export const neutralAwareness: AwarenessSignals = { stateOf: () => null };

/** 40 each: enough on its own to reach the default step-up threshold (40). */
export function awarenessSignal(state: AwarenessState | null): SignalResult {
  if (!state)
    return { signal: 'awareness', score: 0, unknown: true, reason: 'no awareness data for this user' };
  const problems: string[] = [];
  if (state.overdueTraining) problems.push('security training overdue');
  if (state.recentPhishingFailure) problems.push('recent phishing simulation failure');
  if (!problems.length) return { signal: 'awareness', score: 0, reason: 'training up to date' };
  return { signal: 'awareness', score: Math.min(80, 40 * problems.length), reason: problems.join('; ') };
}
