/**
 * @module access/recorder
 * Every decision is published on the bus (`access.decision`) and kept in the table of recent
 * decisions. At thousands of checks a second, both happen in batches, off the request's path, in
 * slices small enough that the checks waiting meanwhile are not held up. The queue is bounded: when it is full, callers
 * wait for the flush (back-pressure), nothing is dropped.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { EVENT_VERSION, type VigilEvent } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { Logger } from '../platform/log/index.js';
import type { AccessStore } from './store.js';
import type { Decision, SignalResult } from './types.js';

const BATCH = 500;
const SLICE = 64;
const MAX_QUEUE = 20_000;

/**
 * The reasons an event carries (those that weigh), built once per list: a session's checks share
 * one list, so their events share one (frozen) copy.
 */
const publishedReasons = new WeakMap<readonly SignalResult[], readonly PublishedReason[]>();

type PublishedReason = Pick<SignalResult, 'signal' | 'score' | 'reason'>;

function reasonsOf(reasons: readonly SignalResult[]): readonly PublishedReason[] {
  let out = publishedReasons.get(reasons);
  if (!out) {
    out = Object.freeze(
      reasons
        .filter((r) => r.score > 0 || r.deny)
        .map((r) => Object.freeze({ signal: r.signal, score: r.score, reason: r.reason })),
    );
    publishedReasons.set(reasons, out);
  }
  return out;
}

/** The `access.decision` event of a decision (its id and time are the decision's). */
export function decisionEvent(d: Decision): VigilEvent {
  return {
    v: EVENT_VERSION,
    id: d.id,
    time: d.time,
    kind: 'access.decision',
    source: 'access',
    severity: d.decision === 'deny' ? 'medium' : d.decision === 'step-up' ? 'low' : 'info',
    ...(d.user ? { user: { id: d.user.id, name: d.user.name, role: d.user.roles.join(',') } } : {}),
    ...(d.sourceIp ? { net: { srcIp: d.sourceIp } } : {}),
    data: {
      decision: d.decision,
      risk: d.risk,
      app: d.app,
      host: d.host,
      path: d.path,
      method: d.method,
      reasons: reasonsOf(d.reasons),
    },
  };
}

export class DecisionRecorder {
  private queue: Decision[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: AccessStore,
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly intervalMs = 200,
  ) {}

  /** Queues a decision; resolves at once unless the queue is full. */
  async record(d: Decision): Promise<void> {
    this.queue.push(d);
    if (this.queue.length >= MAX_QUEUE) await this.flush();
    else if (this.queue.length >= BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Writes and publishes everything queued so far. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.flushing) await this.flushing;
    if (!this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
    if (this.queue.length) await this.flush();
  }

  /**
   * A batch goes out in slices of `SLICE`, each stored in its own transaction and published, with
   * a turn of the event loop between them: a flush never holds up the checks waiting behind it
   * for more than a slice's work.
   */
  private async write(batch: Decision[]): Promise<void> {
    for (let i = 0; i < batch.length; i += SLICE) {
      if (i > 0) await yieldToLoop();
      const slice = batch.slice(i, i + SLICE);
      try {
        await this.store.insertDecisions(slice);
      } catch (err) {
        this.logger.error(
          { err: (err as Error).message, n: slice.length },
          'could not store access decisions',
        );
      }
      try {
        await this.bus.publish(slice.map(decisionEvent));
      } catch (err) {
        this.logger.error(
          { err: (err as Error).message, n: slice.length },
          'could not publish access decisions',
        );
      }
    }
  }
}
