import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  gate,
  Recorder,
  runBusContract,
  sleep,
  testEvents,
  waitFor,
} from '../../../test/support/bus-contract.js';
import { makeEvent, type VigilEvent } from '../../core/index.js';
import { createLogger, silentLogger } from '../log/index.js';
import { Deque } from './deque.js';
import { createBus } from './index.js';
import { MemoryBus } from './memory.js';

runBusContract('MemoryBus', async () => new MemoryBus({ logger: silentLogger() }), { settleMs: 300 });

/** A logger whose lines the test can read back. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

/** `gc()` without starting Node with --expose-gc, so heap figures measure live objects only. */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('MemoryBus back-pressure', () => {
  it('moves 20,000 events from fast publishers to a slow consumer: no loss, order kept, queue and heap bounded', {
    timeout: 120_000,
  }, async () => {
    const capacity = 100;
    const perPublisher = 10_000;
    const bus = new MemoryBus({ logger: silentLogger(), capacity });
    const gc = exposeGc();
    const lastSeq = new Map<string, number>();
    let received = 0;
    let outOfOrder = 0;
    let maxQueued = 0;
    const sample = () => {
      maxQueued = Math.max(maxQueued, bus.stats().queued);
    };
    gc();
    const baseHeap = process.memoryUsage().heapUsed;
    let maxHeapGrowth = 0;

    await bus.subscribe({
      group: 'slow',
      subjects: ['vigil.>'],
      batchSize: 20,
      handler: async (events) => {
        sample();
        for (const e of events) {
          const data = e.data as { pub: string; seq: number };
          if (data.seq !== (lastSeq.get(data.pub) ?? -1) + 1) outOfOrder++;
          lastSeq.set(data.pub, data.seq);
        }
        received += events.length;
        if (received % 2_000 < events.length) {
          gc();
          maxHeapGrowth = Math.max(maxHeapGrowth, process.memoryUsage().heapUsed - baseHeap);
        }
        await sleep(2);
      },
    });
    const sampler = setInterval(sample, 1);

    // Each publisher builds its events as it goes (1 KiB of unique payload each), so an unbounded
    // queue would have to hold most of the 20 MiB; a bounded one holds 100 events.
    const publisher = async (pub: string) => {
      for (let seq = 0; seq < perPublisher; seq += 50) {
        const batch: VigilEvent[] = [];
        for (let i = seq; i < seq + 50; i++) {
          batch.push(
            makeEvent({
              kind: 'test.load',
              source: pub,
              data: { pub, seq: i, pad: randomBytes(512).toString('hex') },
            }),
          );
        }
        await bus.publish(batch);
        sample();
      }
    };
    await Promise.all([publisher('a'), publisher('b')]);
    await waitFor(() => received === 2 * perPublisher, 'all 20,000 events', 100_000);
    await waitFor(() => bus.stats().queued === 0, 'the last batch to be acknowledged');
    clearInterval(sampler);

    expect(received).toBe(20_000);
    expect(outOfOrder).toBe(0);
    expect(lastSeq.get('a')).toBe(perPublisher - 1);
    expect(lastSeq.get('b')).toBe(perPublisher - 1);
    expect(maxQueued).toBeLessThanOrEqual(capacity);
    expect(maxQueued).toBeGreaterThanOrEqual(capacity / 2); // the publishers really were held back
    expect(maxHeapGrowth).toBeLessThan(8 * 1024 * 1024);
    expect(bus.stats()).toMatchObject({ published: 20_000, delivered: 20_000, redelivered: 0, queued: 0 });
    await bus.close();
  });

  it('holds a publisher until the group has room, and counts in-flight events against capacity', async () => {
    const bus = new MemoryBus({ logger: silentLogger(), capacity: 3 });
    const hold = gate();
    const rec = new Recorder();
    await bus.subscribe({
      group: 'g',
      subjects: ['vigil.>'],
      handler: async (events) => {
        await hold.promise;
        await rec.handler(events);
      },
    });
    let done = false;
    const publishing = bus.publish(testEvents(8)).then(() => {
      done = true;
    });
    await waitFor(() => bus.stats().queued === 3, 'the group to fill');
    await sleep(50);
    expect(done).toBe(false);
    expect(bus.stats().queued).toBe(3);
    hold.open();
    await publishing;
    await waitFor(() => rec.ids().length === 8, 'all 8 events');
    expect(rec.calls.flat().map((e) => e.data?.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await bus.close();
  });

  it('close() rejects a blocked publisher with a clear error, after which publish is refused', async () => {
    const bus = new MemoryBus({ logger: silentLogger(), capacity: 2 });
    const hold = gate();
    await bus.subscribe({ group: 'g', subjects: ['vigil.>'], handler: () => hold.promise });
    const blocked = bus.publish(testEvents(5));
    blocked.catch(() => undefined);
    await waitFor(() => bus.stats().queued === 2, 'the group to fill');
    const closing = bus.close();
    await expect(blocked).rejects.toThrow('the memory bus closed before the event could be queued');
    await expect(blocked).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    hold.open();
    await closing;
    await expect(bus.publish(testEvents(1))).rejects.toThrow('the memory bus is closed');
  });
});

describe('MemoryBus groups and failures', () => {
  it('logs one error line (ids and kinds, no contents) when it gives up after maxDeliver', async () => {
    const { logger, lines } = capturingLogger();
    const bus = new MemoryBus({ logger });
    const rec = new Recorder(() => true);
    await bus.subscribe({
      group: 'doomed',
      subjects: ['vigil.>'],
      maxDeliver: 2,
      retryDelayMs: 10,
      handler: rec.handler,
    });
    const events = testEvents(3, 'vault.record.read', { patientName: 'Jane Secret-Doe' });
    await bus.publish(events);
    await waitFor(() => lines.some((l) => l.level === 50), 'the give-up log line');
    await sleep(100);
    for (const e of events) expect(rec.deliveries(e.id)).toBe(2);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      group: 'doomed',
      maxDeliver: 2,
      count: 3,
      ids: events.map((e) => e.id),
      kinds: ['vault.record.read'],
      err: { message: 'handler failure staged by the test' },
    });
    expect(JSON.stringify(lines)).not.toContain('Jane Secret-Doe');
    expect(bus.stats().queued).toBe(0);
    await bus.close();
  });

  it('counts and discards events no group wants; a later group does not see them', async () => {
    const bus = new MemoryBus({ logger: silentLogger() });
    await bus.publish(testEvents(5));
    expect(bus.stats()).toMatchObject({ published: 5, queued: 0, delivered: 0 });
    const rec = new Recorder();
    await bus.subscribe({ group: 'late', subjects: ['vigil.>'], handler: rec.handler });
    const fresh = testEvents(2);
    await bus.publish(fresh);
    await waitFor(() => rec.ids().length === 2, 'the fresh events');
    await sleep(50);
    expect(rec.ids()).toEqual(fresh.map((e) => e.id));
    await bus.close();
  });

  it('drops a group with its last member, releasing its publishers, and warns how many it dropped', async () => {
    const { logger, lines } = capturingLogger();
    const bus = new MemoryBus({ logger, capacity: 2 });
    const hold = gate();
    const sub = await bus.subscribe({
      group: 'leaving',
      subjects: ['vigil.>'],
      batchSize: 1,
      handler: () => hold.promise,
    });
    const publishing = bus.publish(testEvents(4));
    await waitFor(() => bus.stats().queued === 2, 'the group to fill');
    const closing = sub.close();
    hold.open();
    await closing;
    await publishing; // released, not rejected: the group is gone
    expect(bus.stats().queued).toBe(0);
    // e0 was handled; e1 and e2 were queued; e3 was either queued or not yet published when it left.
    const warning = lines.find((l) => l.level === 40);
    expect(warning).toMatchObject({ group: 'leaving' });
    expect([2, 3]).toContain(warning?.dropped);
    await bus.close();
  });

  it('refuses a second member with other filters, and invalid options', async () => {
    const bus = new MemoryBus({ logger: silentLogger() });
    await bus.subscribe({ group: 'g', subjects: ['vigil.auth.>'], handler: async () => {} });
    await expect(
      bus.subscribe({ group: 'g', subjects: ['vigil.>'], handler: async () => {} }),
    ).rejects.toThrow(/already subscribes/);
    await expect(
      bus.subscribe({ group: 'h', subjects: ['vigil.>'], batchSize: 0, handler: async () => {} }),
    ).rejects.toThrow(/batchSize/);
    await expect(bus.subscribe({ group: 'h', subjects: [], handler: async () => {} })).rejects.toThrow(
      /subject/,
    );
    await expect(
      bus.subscribe({ group: 'h', subjects: ['vigil.>.x'], handler: async () => {} }),
    ).rejects.toThrow(/invalid subject/);
    expect(() => new MemoryBus({ logger: silentLogger(), capacity: 0 })).toThrow(/capacity/);
    await bus.close();
  });
});

describe('createBus', () => {
  it('builds a memory bus whose group capacity is bus.queueSize', async () => {
    const config = {
      kind: 'memory',
      natsUrl: 'nats://127.0.0.1:4222',
      stream: 'VIGIL',
      queueSize: 4,
    } as const;
    const bus = await createBus(config, silentLogger());
    expect(bus).toBeInstanceOf(MemoryBus);
    expect(bus.kind).toBe('memory');
    const hold = gate();
    await bus.subscribe({ group: 'g', subjects: ['vigil.>'], handler: () => hold.promise });
    const publishing = bus.publish(testEvents(6));
    await waitFor(() => bus.stats().queued === 4, 'the group to fill');
    await sleep(30);
    expect(bus.stats().queued).toBe(4);
    hold.open();
    await publishing;
    await bus.close();
  });
});

describe('Deque', () => {
  it('keeps order through growth, wrap-around and unshift', () => {
    const d = new Deque<number>();
    const model: number[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 7 === 3) {
        expect(d.shift()).toBe(model.shift());
      } else if (i % 11 === 5) {
        d.unshift(-i);
        model.unshift(-i);
      } else {
        d.push(i);
        model.push(i);
      }
      expect(d.length).toBe(model.length);
    }
    expect(d.drain()).toEqual(model);
    expect(d.length).toBe(0);
    expect(d.shift()).toBeUndefined();
  });
});
