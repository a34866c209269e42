/**
 * The contract every {@link Bus} implementation passes: the memory bus in its unit tests, NATS in
 * `test/bus-nats.test.ts`. It pins down what domains may rely on, whatever the deployment.
 *
 * Idempotency: delivery is AT LEAST ONCE. A handler may see an event again (its batch failed, its
 * member died before acknowledging, a publisher retried on the memory bus), so consumers dedupe by
 * event id. The contract guarantees what makes that possible: a redelivered event has the same id
 * and the same content as the first delivery; and while handlers succeed, a group sees each
 * event once (an overlap between members is only allowed up to the redelivery count).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent, type VigilEvent } from '../../src/core/index.js';
import type { Bus, Subscription } from '../../src/platform/bus/index.js';

export interface BusContractOptions {
  /**
   * How long an unacknowledged event may take to come back (memory: the retry delay; NATS: ack_wait
   * plus margin). The contract waits this long before asserting that nothing more arrives.
   */
  settleMs: number;
  /** Upper bound for any expected delivery to arrive (default 20 s; machines are slow and shared). */
  timeoutMs?: number;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `cond` holds; fails with `what` after `timeoutMs`. Never relies on a fixed delay. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Fresh, valid events of one kind, numbered in `data.seq`. */
export function testEvents(
  count: number,
  kind = 'test.bus.event',
  data: Record<string, unknown> = {},
): VigilEvent[] {
  return Array.from({ length: count }, (_, seq) =>
    makeEvent({ kind, source: 'bus-contract', severity: 'info', data: { ...data, seq } }),
  );
}

/** Records every handler call (ids per call); `fail` decides whether a call throws. */
export class Recorder {
  readonly calls: VigilEvent[][] = [];
  readonly failedCalls: VigilEvent[][] = [];
  constructor(private readonly fail: (callIndex: number, events: VigilEvent[]) => boolean = () => false) {}

  readonly handler = async (events: VigilEvent[]): Promise<void> => {
    const index = this.calls.length + this.failedCalls.length;
    if (this.fail(index, events)) {
      this.failedCalls.push(events);
      throw new Error('handler failure staged by the test');
    }
    this.calls.push(events);
  };

  /** Ids of successfully handled events, in order of handling. */
  ids(): string[] {
    return this.calls.flat().map((e) => e.id);
  }

  unique(): Set<string> {
    return new Set(this.ids());
  }

  /** Deliveries of one id, failed ones included. */
  deliveries(id: string): number {
    return [...this.calls, ...this.failedCalls].flat().filter((e) => e.id === id).length;
  }
}

const ids = (events: readonly VigilEvent[]) => events.map((e) => e.id);
const token = () => randomBytes(4).toString('hex');

export function runBusContract(name: string, makeBus: () => Promise<Bus>, opts: BusContractOptions): void {
  const timeout = opts.timeoutMs ?? 20_000;
  const testTimeout = timeout * 2 + opts.settleMs * 4;

  describe(`${name} satisfies the bus contract`, () => {
    const open: Bus[] = [];
    const newBus = async () => {
      const bus = await makeBus();
      open.push(bus);
      return bus;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('delivers a published batch intact and in order to a subscriber', {
      timeout: testTimeout,
    }, async () => {
      const bus = await newBus();
      const rec = new Recorder();
      await bus.subscribe({ group: `rt-${token()}`, subjects: ['vigil.test.>'], handler: rec.handler });
      const events = testEvents(25, 'test.roundtrip', { note: 'x' });
      await bus.publish(events);
      await waitFor(() => rec.ids().length >= 25, '25 events', timeout);
      expect(rec.ids()).toEqual(ids(events));
      expect(rec.calls.flat()).toEqual(events);
      const stats = bus.stats();
      expect(stats.published).toBe(25);
      expect(stats.delivered).toBe(25);
      expect(stats.redelivered).toBe(0);
    });

    it('gives every group every event', { timeout: testTimeout }, async () => {
      const bus = await newBus();
      const a = new Recorder();
      const b = new Recorder();
      await bus.subscribe({ group: `ga-${token()}`, subjects: ['vigil.test.>'], handler: a.handler });
      await bus.subscribe({ group: `gb-${token()}`, subjects: ['vigil.test.>'], handler: b.handler });
      const events = testEvents(40, 'test.fanout');
      await bus.publish(events.slice(0, 20));
      await bus.publish(events.slice(20));
      await waitFor(() => a.unique().size === 40 && b.unique().size === 40, 'both groups to get 40', timeout);
      await sleep(opts.settleMs);
      expect(a.ids()).toEqual(ids(events));
      expect(b.ids()).toEqual(ids(events));
    });

    it('splits a group between its members, losing nothing', { timeout: testTimeout }, async () => {
      const bus = await newBus();
      const group = `split-${token()}`;
      const slow = (rec: Recorder) => async (events: VigilEvent[]) => {
        await sleep(15);
        await rec.handler(events);
      };
      const m1 = new Recorder();
      const m2 = new Recorder();
      await bus.subscribe({ group, subjects: ['vigil.test.>'], batchSize: 5, handler: slow(m1) });
      await bus.subscribe({ group, subjects: ['vigil.test.>'], batchSize: 5, handler: slow(m2) });
      const events = testEvents(120, 'test.split');
      for (let i = 0; i < events.length; i += 20) await bus.publish(events.slice(i, i + 20));
      const union = () => new Set([...m1.ids(), ...m2.ids()]);
      await waitFor(() => union().size === 120, 'all 120 events across both members', timeout);
      await sleep(opts.settleMs);
      expect(union()).toEqual(new Set(ids(events)));
      expect(m1.ids().length).toBeGreaterThan(0);
      expect(m2.ids().length).toBeGreaterThan(0);
      const both = m1.ids().filter((id) => m2.unique().has(id));
      expect(both.length).toBeLessThanOrEqual(bus.stats().redelivered);
      expect(m1.ids().length + m2.ids().length).toBe(120 + bus.stats().redelivered);
    });

    it('filters by subject: vigil.auth.> sees auth events only', { timeout: testTimeout }, async () => {
      const bus = await newBus();
      const auth = new Recorder();
      const devNet = new Recorder();
      await bus.subscribe({ group: `auth-${token()}`, subjects: ['vigil.auth.>'], handler: auth.handler });
      await bus.subscribe({
        group: `devnet-${token()}`,
        subjects: ['vigil.device.>', 'vigil.net.flow'],
        handler: devNet.handler,
      });
      const authEvents = [...testEvents(3, 'auth.login.failed'), ...testEvents(2, 'auth.mfa.passed')];
      const devNetEvents = [...testEvents(3, 'device.seen'), ...testEvents(2, 'net.flow')];
      const others = [...testEvents(3, 'net.flow.extra'), ...testEvents(3, 'awareness.quiz.done')];
      await bus.publish([...others.slice(0, 3), ...authEvents, ...devNetEvents, ...others.slice(3)]);
      await waitFor(
        () => auth.unique().size === 5 && devNet.unique().size === 5,
        'filtered deliveries',
        timeout,
      );
      await sleep(opts.settleMs);
      expect(auth.unique()).toEqual(new Set(ids(authEvents)));
      expect(devNet.unique()).toEqual(new Set(ids(devNetEvents)));
      expect(auth.ids()).toHaveLength(5);
      expect(devNet.ids()).toHaveLength(5);
    });

    it('redelivers a failed batch (same ids, same content) until it is acknowledged', {
      timeout: testTimeout,
    }, async () => {
      const bus = await newBus();
      const rec = new Recorder((call) => call === 0);
      await bus.subscribe({
        group: `retry-${token()}`,
        subjects: ['vigil.test.>'],
        retryDelayMs: 100,
        handler: rec.handler,
      });
      const events = testEvents(6, 'test.retry');
      await bus.publish(events);
      await waitFor(() => rec.unique().size === 6, 'all events handled after a failure', timeout);
      await sleep(opts.settleMs);
      const failed = rec.failedCalls[0] ?? [];
      expect(failed.length).toBeGreaterThan(0);
      // Acknowledged: each event was handled successfully exactly once, none came back after.
      expect(rec.ids().sort()).toEqual(ids(events).sort());
      for (const e of failed) {
        expect(rec.deliveries(e.id)).toBe(2);
        expect(rec.calls.flat().find((x) => x.id === e.id)).toEqual(e);
      }
      expect(bus.stats().redelivered).toBe(failed.length);
    });

    it('gives up on an event after maxDeliver failed deliveries', { timeout: testTimeout }, async () => {
      const bus = await newBus();
      const rec = new Recorder(() => true);
      await bus.subscribe({
        group: `giveup-${token()}`,
        subjects: ['vigil.test.>'],
        maxDeliver: 3,
        retryDelayMs: 50,
        handler: rec.handler,
      });
      const events = testEvents(2, 'test.giveup');
      await bus.publish(events);
      await waitFor(() => events.every((e) => rec.deliveries(e.id) >= 3), '3 deliveries each', timeout);
      await sleep(opts.settleMs + 300);
      for (const e of events) expect(rec.deliveries(e.id)).toBe(3);
      expect(rec.calls).toHaveLength(0);
    });

    it('closing a subscription waits for the batch in its handler, then stops delivery', {
      timeout: testTimeout,
    }, async () => {
      const bus = await newBus();
      const hold = gate();
      const seen: string[] = [];
      let finished = 0;
      const sub: Subscription = await bus.subscribe({
        group: `close-${token()}`,
        subjects: ['vigil.test.>'],
        handler: async (events) => {
          seen.push(...ids(events));
          await hold.promise;
          finished++;
        },
      });
      const [first] = testEvents(1, 'test.close');
      await bus.publish([first!]);
      await waitFor(() => seen.length === 1, 'the handler to start', timeout);
      let closed = false;
      const closing = sub.close().then(() => {
        closed = true;
      });
      await sleep(150);
      expect(closed).toBe(false);
      hold.open();
      await closing;
      expect(finished).toBe(1);
      await bus.publish(testEvents(2, 'test.close'));
      await sleep(opts.settleMs);
      expect(seen).toEqual([first!.id]);
    });

    it('is ready while open; refuses publish and subscribe once closed', {
      timeout: testTimeout,
    }, async () => {
      const bus = await newBus();
      expect(await bus.ready()).toBe(true);
      await bus.close();
      expect(await bus.ready()).toBe(false);
      await expect(bus.publish(testEvents(1))).rejects.toThrow(/closed/);
      await expect(
        bus.subscribe({ group: 'late', subjects: ['vigil.>'], handler: async () => {} }),
      ).rejects.toThrow(/closed/);
      await bus.close(); // closing twice is harmless
    });
  });
}
