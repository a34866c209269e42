/**
 * The delivery queue every output shares: bounded (when full, the oldest waiting delivery is
 * dropped, counted and logged, so a receiver that is down can never grow memory), one delivery at
 * a time in order, retries with exponential backoff for transient failures, and counters for the
 * API. Alerts stay in the database whatever happens here; an output is a notification.
 */
import type { Logger } from '../../platform/log/index.js';

/** How an output retries and how much it holds. */
export interface DeliveryOptions {
  /** Attempts per delivery, the first included. */
  maxAttempts: number;
  /** Wait before the first retry, in ms; doubled each time up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs?: number;
  /** Deliveries waiting at most; the oldest is dropped when a new one arrives. */
  queueSize: number;
}

/** What an output did since start-up. */
export interface OutputStats {
  name: string;
  kind: string;
  /** Waiting or in flight. */
  queued: number;
  sent: number;
  /** Given up after the last attempt or a permanent failure. */
  failed: number;
  /** Dropped because the queue was full. */
  dropped: number;
  retries: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastSentAt: string | null;
}

/** An error that retrying cannot fix (a 4xx answer, a message too large). */
export class PermanentDeliveryError extends Error {}

export class DeliveryQueue<T> {
  readonly #items: T[] = [];
  #busy = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #idle: Array<() => void> = [];
  readonly #stats: OutputStats;

  constructor(
    name: string,
    kind: string,
    private readonly deliver: (item: T) => Promise<void>,
    private readonly options: DeliveryOptions,
    private readonly logger?: Logger,
  ) {
    this.#stats = {
      name,
      kind,
      queued: 0,
      sent: 0,
      failed: 0,
      dropped: 0,
      retries: 0,
      lastError: null,
      lastErrorAt: null,
      lastSentAt: null,
    };
  }

  /** Queues a delivery (dropping the oldest waiting one when full). */
  push(item: T): void {
    if (this.#closed) return;
    if (this.#items.length >= this.options.queueSize) {
      this.#items.shift();
      this.#stats.dropped++;
      this.logger?.warn(
        { output: this.#stats.name, queueSize: this.options.queueSize },
        'alert output queue full; oldest delivery dropped',
      );
    }
    this.#items.push(item);
    void this.#pump();
  }

  stats(): OutputStats {
    return { ...this.#stats, queued: this.#items.length + (this.#busy ? 1 : 0) };
  }

  /** Resolves when nothing waits or is in flight (or after `timeoutMs`). */
  async idle(timeoutMs = 30_000): Promise<void> {
    if (!this.#busy && !this.#items.length) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref();
      this.#idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Stops: what is in flight may finish within `graceMs`; waiting deliveries are abandoned. */
  async close(graceMs = 2000): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.idle(graceMs);
    this.#items.length = 0;
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.#closed && this.#items.length) {
        const item = this.#items.shift()!;
        await this.#attempt(item);
      }
    } finally {
      this.#busy = false;
      if (!this.#items.length || this.#closed) for (const done of this.#idle.splice(0)) done();
    }
  }

  async #attempt(item: T): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deliver(item);
        this.#stats.sent++;
        this.#stats.lastSentAt = new Date().toISOString();
        return;
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        this.#stats.lastError = message.slice(0, 300);
        this.#stats.lastErrorAt = new Date().toISOString();
        const permanent = err instanceof PermanentDeliveryError;
        if (permanent || attempt >= this.options.maxAttempts || this.#closed) {
          this.#stats.failed++;
          this.logger?.warn(
            { output: this.#stats.name, attempts: attempt, err: this.#stats.lastError },
            'alert output gave up a delivery',
          );
          return;
        }
        this.#stats.retries++;
        const wait = Math.min(
          this.options.retryBaseMs * 2 ** (attempt - 1),
          this.options.retryMaxMs ?? 60_000,
        );
        await this.#sleep(wait);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        clearTimeout(this.#timer);
        this.#wake = undefined;
        resolve();
      };
      this.#timer = setTimeout(() => this.#wake?.(), ms);
      this.#timer.unref();
    });
  }
}
