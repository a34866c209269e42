/**
 * One member of a NATS consumer group: pulls from a durable JetStream consumer and hands batches
 * to the handler.
 *
 * Two loops share a small buffer. The reader keeps one pull request (`fetch`) open for a few
 * batches of events and buffers messages as they arrive; the processor hands over whatever has
 * arrived (up to `batchSize` events, in whole messages) at once, rather than waiting for a full
 * batch. The reader asks for more only once the buffer is empty, so a member never holds more
 * than a few batches: messages held longer would outlive `ack_wait` and be redelivered to other
 * members for nothing.
 *
 * A message holds one event (a JSON object) or several of one subject (a JSON array; see nats.ts).
 * A message is acknowledged once the handler took all its events; the handler gets whole messages
 * (a message of more than `batchSize` events comes alone). The pull asks for as many messages as
 * make a few batches of events, by the average size of the messages seen so far.
 */
import type { ConsumerMessages, Consumer as JsConsumer, JsMsg } from '@nats-io/jetstream';
import { type VigilEvent, validEvent } from '../../core/index.js';
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

/**
 * Batches of events asked for in one pull: each pull costs the server far more than a message
 * (on one machine, pulls of 8 messages cost it 2.7 times what pulls of 200 did per message), so a
 * pull asks for a few batches' worth; with `ack_wait` at 30 s that is still far from a redelivery.
 */
const PULL_BATCHES = 4;

/** A message taken from the buffer, decoded. */
interface Decoded {
  msg: JsMsg;
  events: VigilEvent[];
}

export class NatsSubscription implements Subscription {
  private readonly buffer: JsMsg[] = [];
  /** Average events per message seen (sizes the pulls). */
  private eventsPerMessage = 1;
  /** The first message of the buffer, decoded, when it did not fit in the last batch. */
  private head: Decoded | undefined;
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
      if (this.head) {
        const m = this.head.msg;
        settle(() => m.nak());
        this.head = undefined;
      }
      for (const m of this.buffer.splice(0)) settle(() => m.nak());
      this.deps.onClosed(this);
    })();
    return this.closed;
  }

  private async readLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (this.buffer.length > 0 || this.head) {
        await this.taken.wait();
        continue;
      }
      const started = Date.now();
      let received = 0;
      try {
        const { batchSize } = this.deps.options;
        const pull = await this.deps.consumer.fetch({
          max_messages: Math.max(
            1,
            Math.min(batchSize, Math.round((PULL_BATCHES * batchSize) / this.eventsPerMessage)),
          ),
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
      if (this.buffer.length === 0 && !this.head) {
        if (this.deps.isConnectionClosed()) return;
        await this.arrived.wait();
        continue;
      }
      const batch = this.take();
      this.taken.notify();
      if (batch.length) await this.handle(batch);
    }
  }

  /** Whole messages from the buffer, decoded, up to `batchSize` events (at least one message). */
  private take(): Decoded[] {
    const { options, logger, clientFilters } = this.deps;
    const out: Decoded[] = [];
    let events = 0;
    let messages = 0;
    for (;;) {
      let d = this.head;
      this.head = undefined;
      if (!d) {
        const m = this.buffer.shift();
        if (!m) break;
        if (clientFilters !== null && !clientFilters.some((f) => subjectMatches(f, m.subject))) {
          settle(() => m.ack());
          continue;
        }
        const decoded = decode(m, (index) =>
          logger.warn(
            { group: options.group, subject: m.subject, seq: m.info.streamSequence, index },
            'bus: dropping a message that is not a valid event',
          ),
        );
        if (decoded.length === 0) {
          settle(() => m.term());
          continue;
        }
        d = { msg: m, events: decoded };
      }
      if (out.length > 0 && events + d.events.length > options.batchSize) {
        this.head = d; // the next batch starts with it
        break;
      }
      out.push(d);
      events += d.events.length;
      messages++;
      if (events >= options.batchSize) break;
    }
    if (messages > 0) this.eventsPerMessage = 0.8 * this.eventsPerMessage + 0.2 * (events / messages);
    return out;
  }

  private async handle(batch: Decoded[]): Promise<void> {
    const { options, counters, logger } = this.deps;
    const events: VigilEvent[] = [];
    for (const d of batch) for (const e of d.events) events.push(e);
    counters.delivered += events.length;
    for (const d of batch) if (d.msg.info.deliveryCount > 1) counters.redelivered += d.events.length;
    try {
      await options.handler(events);
      for (const d of batch) settle(() => d.msg.ack());
    } catch (err) {
      const spent: VigilEvent[] = [];
      for (const d of batch) {
        if (d.msg.info.deliveryCount >= options.maxDeliver) {
          spent.push(...d.events);
          settle(() => d.msg.term());
        } else {
          settle(() => d.msg.nak(options.retryDelayMs));
        }
      }
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

/**
 * Parses and validates a message: one event (an object) or several (an array). What is not a
 * valid Vigil event is left out and reported to `invalid` (index in the array, or -1 for the
 * whole message).
 */
function decode(m: JsMsg, invalid: (index: number) => void): VigilEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(m.string());
  } catch {
    invalid(-1);
    return [];
  }
  if (!Array.isArray(body)) {
    const event = validEvent(body);
    if (event) return [event];
    invalid(-1);
    return [];
  }
  const out: VigilEvent[] = [];
  body.forEach((x, i) => {
    const event = validEvent(x);
    if (event) out.push(event);
    else invalid(i);
  });
  return out;
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
