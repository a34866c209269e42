/**
 * @module platform/bus
 * The event bus. Producers publish batches of events; consumers subscribe as a named group and
 * acknowledge. Two implementations: `memory` (in-process, bounded, back-pressure) and `nats`
 * (JetStream streams and durable consumers). Delivery is at least once: consumers are idempotent
 * by event id.
 */
import type { VigilEvent } from '../../core/index.js';

export interface SubscribeOptions {
  /** Durable group name: members of a group share the work; each group sees every event once. */
  group: string;
  /** Subject filters with NATS wildcards, e.g. `vigil.auth.>` or `vigil.>`. */
  subjects: readonly string[];
  /**
   * Called with a batch of events. Resolving acknowledges the whole batch; throwing makes the
   * batch redelivered later (after `retryDelayMs`), up to `maxDeliver` times, then it is logged and dropped.
   */
  handler: (events: VigilEvent[]) => Promise<void>;
  /** Largest batch handed to the handler (default 256). */
  batchSize?: number;
  /** Redelivery delay after a failed batch, in ms (default 1000). */
  retryDelayMs?: number;
  /** Deliveries before an event is given up (default 10). */
  maxDeliver?: number;
}

export interface Subscription {
  /** Stops receiving; in-flight batches finish first. */
  close(): Promise<void>;
}

export interface BusStats {
  published: number;
  delivered: number;
  redelivered: number;
  /** Events waiting in memory queues (memory bus); 0 for nats. */
  queued: number;
}

export interface Bus {
  readonly kind: 'memory' | 'nats';
  /** Publishes a batch; resolves when the bus has accepted it (memory: queued; nats: stored by JetStream). */
  publish(events: readonly VigilEvent[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  stats(): BusStats;
  /** True when the bus can accept events (for /readyz). */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** Does a NATS-style filter (`*` one token, `>` the rest) match a subject? */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const tok = f[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return f.length === s.length;
}
