/**
 * One member of a NATS consumer group: pulls from a durable JetStream consumer and hands batches
 * to the handler.
 *
 * Two loops share a small buffer. The reader keeps one pull request (`fetch`) of up to `batchSize`
 * messages open and buffers messages as they arrive; the processor hands over whatever has arrived
 * (up to `batchSize`) at once, rather than waiting for a full batch. The reader asks for more only
 * once the processor has taken the buffer, so a member never holds more than two batches: messages
 * held longer would outlive `ack_wait` and be redelivered to other members for nothing.
 */
import type { ConsumerMessages, Consumer as JsConsumer, JsMsg } from '@nats-io/jetstream';
import { eventSchema, type VigilEvent } from '../../core/index.js';
import type { Logger } from '../log/index.js';
import { type Subscription, subjectMatches } from './bus.js';
import { batchLogFields, errorLogFields, type ResolvedSubscribeOptions } from './common.js';

/** Counters shared with the bus for `stats()`. */
export interface NatsCounters {
  published: number;
  delivered: number;
  redelivered: number;
}

export interface NatsSubscriptionDeps {
  consumer: JsConsumer;
  options: ResolvedSubscribeOptions;
  /** Filters the client applies itself when the server cannot (several filters on NATS < 2.10), else null. */
  clientFilters: readonly string[] | null;
  /** How long an idle pull request waits on the server before it is renewed. */
  fetchExpiresMs: number;
  counters: NatsCounters;
  logger: Logger;
  isConnectionClosed: () => boolean;
  onClosed: (sub: NatsSubscription) => void;
}

/** Wakes whoever waits; a waiter re-checks its condition, so spurious wake-ups are harmless. */
class Signal {
  private waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export class NatsSubscription implements Subscription {
  private readonly buffer: JsMsg[] = [];
  private readonly arrived = new Signal();
  private readonly taken = new Signal();
  private pull: ConsumerMessages | undefined;
  private stopping = false;
  private closed: Promise<void> | undefined;
  private readonly loops: Promise<void>;

  constructor(private readonly deps: NatsSubscriptionDeps) {
    const log = (err: unknown) =>
      deps.logger.error({ group: deps.options.group, err: errorLogFields(err) }, 'bus: consumer loop failed');
    this.loops = Promise.all([this.readLoop().catch(log), this.processLoop().catch(log)]).then(
      () => undefined,
    );
  }

  /** Stops pulling, lets the batch in the handler finish (and be acked), and hands back the rest. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      // Not awaited: the pull's close settles through its iterator, which the read loop drives.
      this.pull?.close().catch(() => undefined);
      this.arrived.notify();
      this.taken.notify();
      await this.loops;
      // Buffered but never handled: give them back now instead of letting ack_wait expire.
      for (const m of this.buffer.splice(0)) settle(() => m.nak());
      this.deps.onClosed(this);
    })();
    return this.closed;
  }

  private async readLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (this.buffer.length > 0) {
        await this.taken.wait();
        continue;
      }
      const started = Date.now();
      let received = 0;
      try {
        const pull = await this.deps.consumer.fetch({
          max_messages: this.deps.options.batchSize,
          expires: this.deps.fetchExpiresMs,
        });
        this.pull = pull;
        if (this.stopping) {
          pull.close().catch(() => undefined);
          break;
        }
        for await (const m of pull) {
          received++;
          this.buffer.push(m);
          this.arrived.notify();
        }
        failures = 0;
        // A pull normally waits on the server until it expires; one that ends at once, empty,
        // means the server turned it down: do not spin.
        if (received === 0 && Date.now() - started < 250) await this.pause(250);
      } catch (err) {
        if (this.stopping || this.deps.isConnectionClosed()) break;
        failures++;
        this.deps.logger.warn(
          { group: this.deps.options.group, failures, err: errorLogFields(err) },
          'bus: pulling from the NATS consumer failed; retrying',
        );
        await this.pause(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
      } finally {
        this.pull = undefined;
      }
      if (this.deps.isConnectionClosed()) break;
    }
    this.arrived.notify();
  }

  private async processLoop(): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      if (this.buffer.length === 0) {
        if (this.deps.isConnectionClosed()) return;
        await this.arrived.wait();
        continue;
      }
      const batch = this.buffer.splice(0, this.deps.options.batchSize);
      this.taken.notify();
      await this.handle(batch);
    }
  }

  private async handle(messages: JsMsg[]): Promise<void> {
    const { options, counters, logger, clientFilters } = this.deps;
    const events: VigilEvent[] = [];
    const accepted: JsMsg[] = [];
    for (const m of messages) {
      if (clientFilters !== null && !clientFilters.some((f) => subjectMatches(f, m.subject))) {
        settle(() => m.ack());
        continue;
      }
      const event = decode(m);
      if (event === null) {
        logger.warn(
          { group: options.group, subject: m.subject, seq: m.info.streamSequence },
          'bus: dropping a message that is not a valid event',
        );
        settle(() => m.term());
        continue;
      }
      events.push(event);
      accepted.push(m);
    }
    if (events.length === 0) return;
    counters.delivered += events.length;
    for (const m of accepted) if (m.info.deliveryCount > 1) counters.redelivered++;
    try {
      await options.handler(events);
      for (const m of accepted) settle(() => m.ack());
    } catch (err) {
      const spent: VigilEvent[] = [];
      accepted.forEach((m, i) => {
        if (m.info.deliveryCount >= options.maxDeliver) {
          spent.push(events[i]!);
          settle(() => m.term());
        } else {
          settle(() => m.nak(options.retryDelayMs));
        }
      });
      if (spent.length > 0) {
        logger.error(
          {
            group: options.group,
            maxDeliver: options.maxDeliver,
            ...batchLogFields(spent),
            err: errorLogFields(err),
          },
          'bus: handler failed on the last allowed delivery; events dropped',
        );
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, ms))), this.taken.wait()]);
    clearTimeout(timer);
  }
}

/** Parses and validates a message; null when it is not a Vigil event. */
function decode(m: JsMsg): VigilEvent | null {
  try {
    const parsed = eventSchema.safeParse(JSON.parse(m.string()));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Acks, naks and terms are fire-and-forget; on a closed connection they throw. The message then
 * stays unacknowledged and JetStream redelivers it after `ack_wait`, which is the right outcome.
 * (Terms carry no reason: servers before 2.10.4 ignore a TERM with a reason and redeliver.)
 */
function settle(action: () => void): void {
  try {
    action();
  } catch {
    // See above: redelivery covers it.
  }
}
