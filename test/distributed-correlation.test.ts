/**
 * Distributed correlation with real `vigil worker` processes on this machine's NATS JetStream and
 * PostgreSQL: one stream of events that several correlation rules watch (the hospital pack's
 * failed-login burst (event_count by user), burst-then-success (temporal_ordered of a correlation
 * and a rule) and host reaching many devices (value_count by source), plus a temporal rule and an
 * event_count by source of the test's own in the workers' rule directory) gives exactly the same
 * alerts, with the same occurrence counts, to one worker and to three workers sharing the durable
 * consumer, one of which is SIGKILLed mid-stream (its unacknowledged events are redelivered to the
 * others: none is lost, none is counted twice, no alert is raised twice).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type VigilEvent } from '../src/core/index.js';
import { NatsBus } from '../src/platform/bus/index.js';
import { silentLogger } from '../src/platform/log/index.js';
import { POSTGRES_URL } from './support/databases.js';
import {
  ensureBuilt,
  freshPostgresSchema,
  killAllVigil,
  spawnVigil,
  stopVigil,
  type VigilProcess,
  waitFor,
} from './support/vigil-process.js';

const NATS_URL = process.env.VIGIL_TEST_NATS_URL;
const ready = Boolean(POSTGRES_URL && NATS_URL);

/** Rules of the test's own, beside the pack: a temporal pair and a count by source. */
const LOCAL_RULES = `title: Test - Token issued
id: 5d0c1a00-0000-4000-8000-000000000001
name: test_token_issued
level: informational
logsource:
  product: vigil
  category: authentication
detection:
  selection:
    kind: auth.token.issued
  condition: selection
---
title: Test - Failed login then a token for one user
id: 5d0c1a00-0000-4000-8000-000000000002
level: high
correlation:
  type: temporal
  rules:
    - vigil_auth_login_failed
    - test_token_issued
  group-by:
    - user.name
  timespan: 5m
---
title: Test - Many failed logins from one address
id: 5d0c1a00-0000-4000-8000-000000000003
level: medium
correlation:
  type: event_count
  rules:
    - vigil_auth_login_failed
  group-by:
    - net.srcIp
  timespan: 2m
  condition:
    gte: 6
`;

const T0 = Date.parse('2026-06-02T09:00:00.000Z');
const TOTAL = 5_000;

/** A deterministic stream: sign-ins, tokens, scans, ordinary flows, in time order. */
function stream(): VigilEvent[] {
  let s = 42;
  const rnd = () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const out: VigilEvent[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const t = T0 + Math.floor((i / TOTAL) * 40 * 60_000); // 40 minutes of traffic
    const r = rnd();
    const user = `user${Math.floor(rnd() * 25)}`;
    const srcIp = `10.20.0.${Math.floor(rnd() * 8)}`;
    if (r < 0.008) {
      out.push(
        makeEvent({
          kind: 'auth.login.failed',
          source: 'identity',
          time: new Date(t),
          user: { name: user },
          net: { srcIp },
        }),
      );
    } else if (r < 0.016) {
      out.push(
        makeEvent({
          kind: 'auth.login.succeeded',
          source: 'identity',
          time: new Date(t),
          user: { name: user },
          net: { srcIp },
        }),
      );
    } else if (r < 0.02) {
      out.push(
        makeEvent({
          kind: 'auth.token.issued',
          source: 'identity',
          time: new Date(t),
          user: { name: user },
          net: { srcIp },
        }),
      );
    } else if (r < 0.07) {
      // A scanner (and two quieter probers) knocking on many internal addresses.
      const scanner = `10.30.0.${66 + Math.floor(rnd() * 3)}`;
      out.push(
        makeEvent({
          kind: 'net.flow',
          source: 'sensor',
          time: new Date(t),
          net: {
            srcIp: scanner,
            dstIp: `10.40.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 60)}`,
            dstPort: 443,
          },
          data: { transport: 'tcp', packetsToClient: 1, bytesToServer: 60 },
        }),
      );
    } else {
      out.push(
        makeEvent({
          kind: 'net.flow',
          source: 'sensor',
          time: new Date(t),
          net: { srcIp: `10.50.0.${Math.floor(rnd() * 30)}`, dstIp: '10.60.0.10', dstPort: 443 },
          data: { transport: 'tcp', packetsToClient: 12, bytesToServer: 4000 },
        }),
      );
    }
  }
  // A scan: one address probing 80 internal addresses in two minutes.
  for (let j = 0; j < 80; j++)
    out.push(
      makeEvent({
        kind: 'net.flow',
        source: 'sensor',
        time: new Date(T0 + 20 * 60_000 + j * 1500),
        net: { srcIp: '10.30.0.66', dstIp: `10.41.0.${j}`, dstPort: 443 },
        data: { transport: 'tcp', packetsToClient: 0, bytesToServer: 60 },
      }),
    );
  // Bursts: guessed passwords (a burst then a success), and one address trying many users.
  for (const [k, user] of ['nurse.ann', 'dr.bob', 'tech.cy'].entries()) {
    const start = T0 + (5 + k * 10) * 60_000;
    for (let j = 0; j < 7; j++)
      out.push(
        makeEvent({
          kind: 'auth.login.failed',
          source: 'identity',
          time: new Date(start + j * 15_000),
          user: { name: user },
          net: { srcIp: '10.20.9.9' },
        }),
      );
    if (k < 2)
      out.push(
        makeEvent({
          kind: 'auth.login.succeeded',
          source: 'identity',
          time: new Date(start + 4 * 60_000),
          user: { name: user },
          net: { srcIp: '10.20.9.9' },
        }),
      );
  }
  return out.sort((a, b) => a.time.localeCompare(b.time));
}

interface AlertLine {
  rule_id: string;
  entity: string;
  count: number;
}

/** One run: a schema, a stream, `workers` worker processes; returns the alerts once all is handled. */
async function runWorkers(
  workers: number,
  events: readonly VigilEvent[],
  root: string,
  options: { kill?: boolean } = {},
): Promise<{ alerts: AlertLine[]; redelivered: number; inputs: number }> {
  const tag = `${workers}${options.kill ? 'k' : ''}_${process.pid}_${Date.now().toString(36)}`;
  const streamName = `VIGIL_DCORR_${tag}`;
  const db = await freshPostgresSchema(POSTGRES_URL!, 'vigil_dcorr');
  const dir = path.join(root, tag);
  const procs: VigilProcess[] = [];
  const nc = await connect({ servers: NATS_URL! });
  const jsm = await jetstreamManager(nc);
  let bus: NatsBus | undefined;
  try {
    for (let i = 0; i < workers; i++) {
      const dataDir = path.join(dir, `w${i}`);
      mkdirSync(path.join(dataDir, 'rules'), { recursive: true });
      writeFileSync(path.join(dataDir, 'rules', 'test-correlations.yml'), LOCAL_RULES);
      const env = {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_KEYS_DIR: path.join(dir, 'keys'),
        VIGIL_DATABASE_URL: db.url,
        VIGIL_BUS_KIND: 'nats',
        VIGIL_BUS_NATS_URL: NATS_URL!,
        VIGIL_BUS_STREAM: streamName,
        VIGIL_LOG_LEVEL: 'warn',
      };
      // One after the other: the first creates the keys and runs the migrations.
      const p = spawnVigil(['worker'], env, dataDir);
      procs.push(p);
      await waitFor(() => (p.stdout().includes('consuming from') ? true : undefined), 'the worker to start', {
        proc: p,
        timeoutMs: 90_000,
      });
    }
    bus = await NatsBus.connect({ url: NATS_URL!, stream: streamName, logger: silentLogger() });
    const consumer = () => jsm.consumers.info(streamName, 'detect');
    // Events travel several to a message (see platform/bus/nats.ts): progress is counted in messages.
    const lastSeq = async () => (await jsm.streams.info(streamName)).state.last_seq;
    if (options.kill) {
      const half = Math.floor(events.length / 2);
      // Stop one worker while its pull request waits on the server: JetStream hands it messages of
      // the backlog that it will never acknowledge. (A pull expires after 10 s; the publish is quick.)
      await waitFor(
        async () => ((await consumer()).num_waiting >= workers ? true : undefined),
        'every worker to wait for events',
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      procs[1]!.child.kill('SIGSTOP');
      await bus.publish(events.slice(0, half));
      // Every message of the first half delivered, some of them to the stopped worker: kill it.
      await waitFor(
        async () => ((await consumer()).num_pending === 0 ? true : undefined),
        'the first half to be delivered',
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      procs[1]!.child.kill('SIGKILL');
      await procs[1]!.exited;
      await bus.publish(events.slice(half));
    } else {
      await bus.publish(events);
    }
    // Every event acknowledged (after a kill, once ack_wait has sent its batches to the others).
    const stored = await lastSeq();
    await waitFor(
      async () => {
        const c = await consumer();
        return c.num_pending === 0 && c.num_ack_pending === 0 && c.ack_floor.stream_seq >= stored
          ? true
          : undefined;
      },
      'every event to be handled',
      { timeoutMs: 300_000, intervalMs: 250 },
    );
    // Deliveries beyond one per stored message: the redeliveries of the run.
    const c = await consumer();
    const redelivered = c.delivered.consumer_seq - (await jsm.streams.info(streamName)).state.messages;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const alerts = await client.query<AlertLine>(
        'select rule_id, entity, count from alerts order by rule_id, entity, first_seen',
      );
      const inputs = await client.query<{ n: string }>('select count(*) as n from detect_correlation_inputs');
      return {
        alerts: alerts.rows.map((r) => ({ ...r, count: Number(r.count) })),
        redelivered,
        inputs: Number(inputs.rows[0]!.n),
      };
    } finally {
      await client.end();
    }
  } finally {
    for (const p of procs) await stopVigil(p, 15_000);
    await bus?.close();
    await jsm.streams.delete(streamName).catch(() => undefined);
    await nc.close();
    await db.drop();
  }
}

describe.skipIf(!ready)(
  ready
    ? 'correlation across vigil worker processes on NATS and PostgreSQL'
    : 'distributed correlation (skipped: set VIGIL_TEST_POSTGRES_URL and VIGIL_TEST_NATS_URL)',
  () => {
    const root = mkdtempSync(path.join(tmpdir(), 'vigil-dcorr-'));
    const events = stream();
    let single: Awaited<ReturnType<typeof runWorkers>>;

    beforeAll(async () => {
      ensureBuilt();
      single = await runWorkers(1, events, root);
    }, 400_000);

    afterAll(async () => {
      await killAllVigil();
      rmSync(root, { recursive: true, force: true });
    });

    it('raises the alerts the rules call for with one worker', () => {
      const rules = new Set(single.alerts.map((a) => a.rule_id));
      // Failed-login burst, burst then success, host reaching many devices, and the local rules.
      for (const id of [
        '6f1f4b52-2f0e-4c1c-9a51-0c7d3a1e0a03',
        '6f1f4b52-2f0e-4c1c-9a51-0c7d3a1e0a04',
        '7b2c4d1e-8f90-4a1b-9c2d-3e4f5a6b7c05',
        '5d0c1a00-0000-4000-8000-000000000002',
        '5d0c1a00-0000-4000-8000-000000000003',
      ])
        expect(rules, id).toContain(id);
      const burst = single.alerts.filter((a) => a.rule_id === '6f1f4b52-2f0e-4c1c-9a51-0c7d3a1e0a04');
      // The two planted bursts followed by a success; tech.cy's burst had none.
      const entities = burst.map((a) => a.entity);
      expect(entities).toEqual(expect.arrayContaining(['user.name=dr.bob', 'user.name=nurse.ann']));
      expect(entities).not.toContain('user.name=tech.cy');
      expect(single.alerts.find((a) => a.rule_id === '7b2c4d1e-8f90-4a1b-9c2d-3e4f5a6b7c05')?.entity).toBe(
        'net.srcIp=10.30.0.66',
      );
    });

    it('gives exactly the same alerts with three workers, one of them SIGKILLed mid-stream', async () => {
      const three = await runWorkers(3, events, root, { kill: true });
      // Same alerts, same occurrence counts: nothing lost, nothing counted or raised twice.
      expect(three.alerts).toEqual(single.alerts);
      expect(three.inputs).toBe(single.inputs);
      // The killed worker held batches: JetStream delivered them again to the others.
      expect(three.redelivered).toBeGreaterThan(0);
    }, 600_000);
  },
);
