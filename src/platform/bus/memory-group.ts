/**
 * One consumer group of the memory bus: a bounded queue shared by the group's members.
 *
 * Capacity counts every event the group holds, whether it waits in the queue, is in a handler or
 * waits for a retry, so memory is bounded even when handlers fail. A slot frees only when the event
 * is acknowledged or given up. Publishers that find the group full wait in line (FIFO) and their
 * event is handed straight into a freed slot, so a newcomer can never overtake a waiting publisher.
 */
import type { VigilEvent } from '../../core/index.js';
import { subjectMatches } from './bus.js';
import { Deque } from './deque.js';

/** An event held by a group, with how many times it has been handed to a handler. */
export interface Entry {
  readonly event: VigilEvent;
  deliveries: number;
}

interface BlockedPublish {
  readonly event: VigilEvent;
  resolve(): void;
  reject(err: Error): void;
}

export class MemoryGroup {
  private readonly ready = new Deque<Entry>();
  private readonly blocked = new Deque<BlockedPublish>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private idle: (() => void)[] = [];
  /** Events taken by a handler or waiting for a retry: they still occupy their slot. */
  private held = 0;
  private discarded = false;

  constructor(
    readonly name: string,
    readonly filters: readonly string[],
    private readonly capacity: number,
  ) {}

  /** Events the group holds (queued, in a handler, or waiting for a retry); never above capacity. */
  get size(): number {
    return this.ready.length + this.held;
  }

  get isDiscarded(): boolean {
    return this.discarded;
  }

  matches(subject: string): boolean {
    return this.filters.some((f) => subjectMatches(f, subject));
  }

  /** Queues an event if a slot is free and no publisher is waiting; false means "call `enqueue`". */
  offer(event: VigilEvent): boolean {
    if (this.discarded) return true;
    if (this.blocked.length > 0 || this.size >= this.capacity) return false;
    this.ready.push({ event, deliveries: 0 });
    this.wake();
    return true;
  }

  /** Waits in line for a slot (back-pressure); resolves once the event is queued. */
  enqueue(event: VigilEvent): Promise<void> {
    if (this.discarded) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.blocked.push({ event, resolve, reject });
      this.admit();
    });
  }

  /** Takes up to `max` events for a handler; they keep their slots until `release` or `retry`. */
  take(max: number): Entry[] {
    const batch: Entry[] = [];
    while (batch.length < max) {
      const entry = this.ready.shift();
      if (entry === undefined) break;
      entry.deliveries++;
      batch.push(entry);
    }
    this.held += batch.length;
    return batch;
  }

  /** Frees the slots of events that were acknowledged or given up. */
  release(count: number): void {
    if (this.discarded) return;
    this.held -= count;
    this.admit();
  }

  /** Puts a failed batch back at the front of the queue after `delayMs`; the slots stay taken meanwhile. */
  retry(batch: readonly Entry[], delayMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.discarded) return;
      this.held -= batch.length;
      for (let i = batch.length - 1; i >= 0; i--) this.ready.unshift(batch[i]!);
      this.wake();
    }, delayMs);
    this.retryTimers.add(timer);
  }

  /** Resolves when there may be work (or on `wakeAll`); callers re-check with `take`. */
  waitForWork(): Promise<void> {
    if (this.ready.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Wakes every waiting member, e.g. so one that is closing can notice. */
  wakeAll(): void {
    this.wake();
  }

  /** Rejects every publisher waiting for a slot (the bus is closing). */
  rejectBlocked(err: Error): void {
    for (const b of this.blocked.drain()) b.reject(err);
  }

  /**
   * The last member left: drops what the group holds and lets waiting publishers go (their event is
   * discarded for this group, as if the group never existed). Returns how many events were dropped.
   */
  discard(): number {
    this.discarded = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    const dropped = this.ready.length + this.held + this.blocked.length;
    this.ready.drain();
    this.held = 0;
    for (const b of this.blocked.drain()) b.resolve();
    this.wake();
    return dropped;
  }

  private admit(): void {
    let admitted = false;
    while (this.blocked.length > 0 && this.size < this.capacity) {
      const b = this.blocked.shift()!;
      this.ready.push({ event: b.event, deliveries: 0 });
      b.resolve();
      admitted = true;
    }
    if (admitted) this.wake();
  }

  private wake(): void {
    if (this.idle.length === 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }
}
