/**
 * NatsBus against a real NATS JetStream server (`VIGIL_TEST_NATS_URL`, e.g. nats://127.0.0.1:4222).
 * Each run uses its own stream and subject prefix, so runs (and a real Vigil stream on the same
 * server) never see each other's events; the stream is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../src/core/index.js';
import { consumerName, NatsBus, type NatsBusOptions } from '../src/platform/bus/index.js';
import { supportsMultipleFilters } from '../src/platform/bus/nats.js';
import { createLogger, silentLogger } from '../src/platform/log/index.js';
import { gate, Recorder, runBusContract, sleep, testEvents, waitFor } from './support/bus-contract.js';

const url = process.env.VIGIL_TEST_NATS_URL;
const run = randomBytes(4).toString('hex');
const stream = `VIGIL_TEST_${run}`;
const subjectPrefix = `t${run}`;
const ACK_WAIT_MS = 1500;
/** Long enough for an unacknowledged message to come back (ack_wait) on a slow shared machine. */
const SETTLE_MS = ACK_WAIT_MS + 1500;

const busOptions = (extra: Partial<NatsBusOptions> = {}): NatsBusOptions => ({
  stream,
  subjectPrefix,
  ackWaitMs: ACK_WAIT_MS,
  logger: silentLogger(),
  ...extra,
});

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

describe('NATS naming helpers', () => {
  it('turns a group into a valid, collision-free durable consumer name', () => {
    expect(consumerName('detect-rules_v2')).toBe('detect-rules_v2');
    const dotted = consumerName('detect.rules');
    expect(dotted).toMatch(/^detect_rules_[0-9a-f]{10}$/);
    expect(consumerName('detect_rules')).not.toBe(dotted);
    expect(consumerName('a b/c*>')).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(consumerName('x'.repeat(300)).length).toBeLessThanOrEqual(64);
  });

  it('knows which servers take several filters per consumer', () => {
    expect(supportsMultipleFilters('2.9.10')).toBe(false);
    expect(supportsMultipleFilters('2.10.0')).toBe(true);
    expect(supportsMultipleFilters('v2.11.3')).toBe(true);
    expect(supportsMultipleFilters(undefined)).toBe(false);
  });
});

describe.skipIf(!url)('NatsBus on a real JetStream server (set VIGIL_TEST_NATS_URL to run)', () => {
  const natsUrl = url ?? '';
  const makeBus = () => NatsBus.connect({ url: natsUrl, ...busOptions() });
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const opened: NatsBus[] = [];
  const newBus = async (extra: Partial<NatsBusOptions> = {}) => {
    const bus = await NatsBus.connect({ url: natsUrl, ...busOptions(extra) });
    opened.push(bus);
    return bus;
  };
  const storedMessages = async () => (await jsm.streams.info(stream)).state.messages;

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await Promise.all(opened.map((b) => b.close()));
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  runBusContract('NatsBus', makeBus, { settleMs: SETTLE_MS, timeoutMs: 20_000 });

  it('creates the stream with file storage and the configured age, and updates the age later', async () => {
    await newBus({ maxAgeMs: 3_600_000 });
    let info = await jsm.streams.info(stream);
    expect(info.config.storage).toBe('file');
    expect(info.config.subjects).toEqual([`${subjectPrefix}.vigil.>`]);
    expect(info.config.max_age).toBe(nanos(3_600_000));
    await newBus({ maxAgeMs: 7_200_000 });
    info = await jsm.streams.info(stream);
    expect(info.config.max_age).toBe(nanos(7_200_000));
    await newBus(); // back to the default: 7 days
    info = await jsm.streams.info(stream);
    expect(info.config.max_age).toBe(nanos(7 * 24 * 3_600_000));
  });

  it('keeps a group durable: events published while no member runs arrive when one returns', {
    timeout: 60_000,
  }, async () => {
    const group = `durable-${run}`;
    const first = await newBus();
    const before = new Recorder();
    const sub = await first.subscribe({ group, subjects: ['vigil.test.>'], handler: before.handler });
    const early = testEvents(3, 'test.durable');
    await first.publish(early);
    await waitFor(() => before.unique().size === 3, 'the first member to get 3 events');
    await sub.close();
    await first.close();

    const publisher = await newBus();
    const missed = testEvents(20, 'test.durable');
    await publisher.publish(missed);

    const second = await newBus();
    const after = new Recorder();
    await second.subscribe({ group, subjects: ['vigil.test.>'], handler: after.handler });
    await waitFor(() => after.unique().size === 20, 'the returning member to catch up on 20 events', 30_000);
    await sleep(SETTLE_MS);
    expect(after.unique()).toEqual(new Set(missed.map((e) => e.id)));
    expect(after.ids().filter((id) => early.some((e) => e.id === id))).toEqual([]);
  });

  it('redelivers to another member what a member that died without acknowledging had taken', {
    timeout: 60_000,
  }, async () => {
    const group = `death-${run}`;
    const ncA = await connect({ servers: natsUrl });
    const busA = await NatsBus.fromConnection(ncA, busOptions());
    const stuck = gate();
    const gotA: string[] = [];
    await busA.subscribe({
      group,
      subjects: ['vigil.test.>'],
      batchSize: 1,
      handler: async (events) => {
        gotA.push(...events.map((e) => e.id));
        await stuck.promise; // never acknowledges while the connection lives
      },
    });
    const [event] = testEvents(1, 'test.death');
    const publisher = await newBus();
    await publisher.publish([event!]);
    await waitFor(() => gotA.length === 1, 'member A to take the event');

    const busB = await newBus();
    const gotB: VigilEvent[] = [];
    await busB.subscribe({
      group,
      subjects: ['vigil.test.>'],
      handler: async (events) => {
        gotB.push(...events);
      },
    });
    await ncA.close(); // A dies: no ack, no drain

    await waitFor(() => gotB.length >= 1, 'member B to get the event after ack_wait', 30_000);
    expect(gotA).toEqual([event!.id]);
    expect(gotB[0]).toEqual(event);
    expect(busB.stats().redelivered).toBeGreaterThanOrEqual(1);
    stuck.open();
    await busA.close(); // on a dead connection: finishes without throwing
  });

  it('stores a re-published event id once', { timeout: 60_000 }, async () => {
    const bus = await newBus();
    const rec = new Recorder();
    await bus.subscribe({ group: `dedup-${run}`, subjects: ['vigil.test.>'], handler: rec.handler });
    const [event] = testEvents(1, 'test.dedup');
    const before = await storedMessages();
    await bus.publish([event!]);
    await bus.publish([event!, event!]);
    expect(await storedMessages()).toBe(before + 1);
    await waitFor(() => rec.ids().length === 1, 'the event');
    await sleep(SETTLE_MS);
    expect(rec.ids()).toEqual([event!.id]);
  });

  it('drops malformed messages with a warning and keeps consuming', { timeout: 60_000 }, async () => {
    const { logger, lines } = capturingLogger();
    const bus = await newBus({ logger });
    const rec = new Recorder();
    await bus.subscribe({ group: `malformed-${run}`, subjects: ['vigil.test.>'], handler: rec.handler });
    const js = jetstream(nc);
    const good1 = testEvents(2, 'test.malformed');
    await bus.publish(good1);
    await js.publish(`${subjectPrefix}.vigil.test.malformed`, 'not json {');
    await js.publish(
      `${subjectPrefix}.vigil.test.malformed`,
      JSON.stringify({ v: 1, id: 'x', secret: 'LEAK-ME' }),
    );
    const good2 = testEvents(3, 'test.malformed');
    await bus.publish(good2);
    await waitFor(() => rec.unique().size === 5, 'the 5 valid events');
    await sleep(SETTLE_MS);
    expect(rec.ids()).toEqual([...good1, ...good2].map((e) => e.id));
    const warnings = lines.filter(
      (l) => l.level === 40 && l.msg === 'bus: dropping a message that is not a valid event',
    );
    expect(warnings).toHaveLength(2); // termed: not redelivered after ack_wait
    expect(JSON.stringify(lines)).not.toContain('LEAK-ME');
    expect(bus.stats().delivered).toBe(5);
  });

  it('reports ready, and fails clearly when NATS cannot be reached', async () => {
    const bus = await newBus();
    expect(await bus.ready()).toBe(true);
    await expect(NatsBus.connect({ url: 'nats://127.0.0.1:1', ...busOptions() })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: 'cannot connect to NATS at nats://127.0.0.1:1',
    });
  });
});
