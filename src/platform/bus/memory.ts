/**
 * @module platform/bus/memory
 * The in-process bus, Vigil's default on a single server. Every group has a bounded queue; when it
 * is full, `publish` waits (back-pressure) instead of dropping events or growing without bound, so a
 * slow consumer slows its producers and memory stays flat under any load.
 *
 * Nothing is durable: events are only kept for groups that exist when they are published, and a
 * group that loses its last member drops what it held (a warning says how many).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { subjectOf, VigilError, type VigilEvent } from '../../core/index.js';
import type { Logger } from '../log/index.js';
import type { Bus, BusStats, SubscribeOptions, Subscription } from './bus.js';
import {
  batchLogFields,
  errorLogFields,
  type ResolvedSubscribeOptions,
  resolveSubscribeOptions,
} from './common.js';
import { type Entry, MemoryGroup } from './memory-group.js';

/** Events a group may hold before publishers wait (the `bus.queueSize` setting). */
export const DEFAULT_MEMORY_CAPACITY = 10_000;

export interface MemoryBusOptions {
  /** Receives give-up errors and discard warnings (ids and kinds only). */
  logger: Logger;
  /** Events each group may hold (queued, in a handler or waiting for a retry); default 10,000. */
  capacity?: number;
}

interface Counters {
  published: number;
  delivered: number;
  redelivered: number;
}

/** Bounded, in-process {@link Bus} with competing consumers per group. */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private readonly capacity: number;
  private readonly logger: Logger;
  private readonly groups = new Map<string, MemoryGroup>();
  private readonly members = new Set<MemorySubscription>();
  /** Subject -> groups that want it; cleared whenever the set of groups changes. */
  private readonly routes = new Map<string, MemoryGroup[]>();
  private readonly counters: Counters = { published: 0, delivered: 0, redelivered: 0 };
  private closing: Promise<void> | undefined;

  constructor(options: MemoryBusOptions) {
    const capacity = options.capacity ?? DEFAULT_MEMORY_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error('MemoryBus: capacity must be a positive integer');
    this.capacity = capacity;
    this.logger = options.logger;
  }

  /**
   * Queues each event for every group whose filters match its subject, in order. Resolves once all
   * are queued; waits while a group is full. Rejects if the bus closes while it waits.
   */
  async publish(events: readonly VigilEvent[]): Promise<void> {
    if (this.closing) throw closedError('the memory bus is closed');
    for (const event of events) {
      for (const group of this.route(subjectOf(event.kind))) {
        if (group.offer(event)) continue;
        if (this.closing) throw closedError('the memory bus closed before the event could be queued');
        await group.enqueue(event);
      }
      this.counters.published++;
    }
  }

  /**
   * Joins (or creates) a group. Members of one group share its queue; every group sees every
   * matching event published after it was created. Members of a group must use the same filters.
   */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closing) throw closedError('the memory bus is closed');
    const resolved = resolveSubscribeOptions(options);
    let group = this.groups.get(resolved.group);
    if (group === undefined) {
      group = new MemoryGroup(resolved.group, resolved.subjects, this.capacity);
      this.groups.set(group.name, group);
      this.routes.clear();
    } else if (!sameFilters(group.filters, resolved.subjects)) {
      throw new Error(
        `MemoryBus: group ${JSON.stringify(resolved.group)} already subscribes to ${group.filters.join(', ')}`,
      );
    }
    const member = new MemorySubscription(group, resolved, this.counters, this.logger, (m) => this.leave(m));
    this.members.add(member);
    return member;
  }

  /**
   * `delivered` counts events handed to handlers (redeliveries included), `redelivered` the part of
   * them that had been handed over before. `queued` counts every event held by a group: waiting, in a
   * handler, or waiting for a retry; it never exceeds capacity times the number of groups.
   */
  stats(): BusStats {
    let queued = 0;
    for (const g of this.groups.values()) queued += g.size;
    return { ...this.counters, queued };
  }

  async ready(): Promise<boolean> {
    return this.closing === undefined;
  }

  /** Rejects waiting publishers at once, then waits for in-flight batches and stops every member. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const err = closedError('the memory bus closed before the event could be queued');
      for (const g of this.groups.values()) g.rejectBlocked(err);
      await Promise.all([...this.members].map((m) => m.close()));
    })();
    return this.closing;
  }

  private route(subject: string): MemoryGroup[] {
    let groups = this.routes.get(subject);
    if (groups === undefined) {
      groups = [...this.groups.values()].filter((g) => g.matches(subject));
      if (this.routes.size >= 4096) this.routes.clear();
      this.routes.set(subject, groups);
    }
    return groups;
  }

  private leave(member: MemorySubscription): void {
    this.members.delete(member);
    const group = member.group;
    if ([...this.members].some((m) => m.group === group)) return;
    this.groups.delete(group.name);
    this.routes.clear();
    const dropped = group.discard();
    if (dropped > 0) {
      this.logger.warn(
        { group: group.name, dropped },
        'bus: last member of the group left; its queued events were dropped',
      );
    }
  }
}

/** One member of a group: takes batches from the group's queue and hands them to the handler. */
class MemorySubscription implements Subscription {
  private stopping = false;
  private closed: Promise<void> | undefined;
  private readonly loop: Promise<void>;

  constructor(
    readonly group: MemoryGroup,
    private readonly options: ResolvedSubscribeOptions,
    private readonly counters: Counters,
    private readonly logger: Logger,
    private readonly onClosed: (member: MemorySubscription) => void,
  ) {
    this.loop = this.run().catch((err: unknown) => {
      this.logger.error({ group: group.name, err: errorLogFields(err) }, 'bus: member loop failed');
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      this.group.wakeAll();
      await this.loop;
      this.onClosed(this);
    })();
    return this.closed;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const batch = this.group.take(this.options.batchSize);
      if (batch.length === 0) {
        await this.group.waitForWork();
        // The handler runs in a turn of the event loop of its own, not in the publisher's: the
        // publisher's work and each group's handling are separate slices, with I/O between them.
        await yieldToLoop();
      } else await this.deliver(batch);
    }
  }

  private async deliver(batch: Entry[]): Promise<void> {
    this.counters.delivered += batch.length;
    for (const e of batch) if (e.deliveries > 1) this.counters.redelivered++;
    try {
      await this.options.handler(batch.map((e) => e.event));
      this.group.release(batch.length);
    } catch (err) {
      const { maxDeliver, retryDelayMs } = this.options;
      const spent = batch.filter((e) => e.deliveries >= maxDeliver);
      const again = batch.filter((e) => e.deliveries < maxDeliver);
      if (spent.length > 0) {
        this.logger.error(
          {
            group: this.group.name,
            maxDeliver,
            ...batchLogFields(spent.map((e) => e.event)),
            err: errorLogFields(err),
          },
          'bus: handler failed on the last allowed delivery; events dropped',
        );
        this.group.release(spent.length);
      }
      if (again.length > 0) this.group.retry(again, retryDelayMs);
    }
  }
}

function sameFilters(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

function closedError(message: string): VigilError {
  return new VigilError('UNAVAILABLE', message);
}
