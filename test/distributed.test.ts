/**
 * Distributed mode: two Vigil instances on one PostgreSQL database and one NATS JetStream stream.
 * Their activity logs form one consumer group, so every event is stored exactly once whichever
 * instance published it, and a session made on one instance is valid on the other.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../src/core/index.js';
import type { Subscription } from '../src/platform/bus/index.js';
import { NatsBus } from '../src/platform/bus/index.js';
import { validateConfig } from '../src/platform/config/index.js';
import { silentLogger } from '../src/platform/log/index.js';
import { createServices, type Services } from '../src/server/index.js';
import { POSTGRES_URL } from './support/databases.js';

const NATS_URL = process.env.VIGIL_TEST_NATS_URL;
const ready = Boolean(POSTGRES_URL && NATS_URL);

describe.skipIf(!ready)(
  ready
    ? 'two instances on PostgreSQL and NATS'
    : 'distributed mode (skipped: set VIGIL_TEST_POSTGRES_URL and VIGIL_TEST_NATS_URL)',
  () => {
    const run = randomBytes(4).toString('hex');
    const schema = `vigil_dist_${run}`;
    const stream = `VIGIL_DIST_${run}`;
    const keysDir = mkdtempSync(path.join(tmpdir(), 'vigil-dist-'));
    const instances: Array<{ services: Services; sub: Subscription }> = [];

    beforeAll(async () => {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      const url = new URL(POSTGRES_URL!);
      url.searchParams.set('options', `-c search_path=${schema}`);
      for (let i = 0; i < 2; i++) {
        // Both instances share the database and the key directory, as workers of one site do.
        const config = validateConfig({
          dataDir: path.join(keysDir, `node${i}`),
          keys: { dir: path.join(keysDir, 'keys') },
          database: { url: url.toString(), poolSize: 4 },
        });
        const bus = await NatsBus.connect({
          url: NATS_URL!,
          stream,
          subjectPrefix: `d${run}`,
          ackWaitMs: 5000,
          logger: silentLogger(),
        });
        const services = await createServices(config, silentLogger(), { bus });
        instances.push({ services, sub: await services.activity.attach(bus) });
      }
    });

    afterAll(async () => {
      for (const { services, sub } of instances) {
        await sub.close();
        await services.close();
      }
      const nc = await connect({ servers: NATS_URL! });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {});
      await nc.close();
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
      rmSync(keysDir, { recursive: true, force: true });
    });

    it('stores every event exactly once, whichever instance published it', async () => {
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
      const events = Array.from({ length: 400 }, (_, i) =>
        makeEvent({ kind: 'test.distributed', source: `node${i % 2}`, data: { i } }),
      );
      await Promise.all([
        a.services.bus.publish(events.filter((_, i) => i % 2 === 0)),
        b.services.bus.publish(events.filter((_, i) => i % 2 === 1)),
      ]);
      // Publishing the same events again (a retried publish) must not duplicate them.
      await a.services.bus.publish(events.slice(0, 50));
      let counts: Array<{ kind: string; count: number }> = [];
      for (let i = 0; i < 150; i++) {
        counts = await a.services.activity.countsSince(new Date(Date.now() - 3_600_000));
        if (counts.find((c) => c.kind === 'test.distributed')?.count === 400) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(counts.find((c) => c.kind === 'test.distributed')?.count).toBe(400);
    });

    it('accepts on one instance a session made on the other, and a revocation on one ends it on both', async () => {
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
      const { oneTimePassword } = await a.services.identity.users.create({
        username: `nurse.${run}`,
        displayName: 'Nurse',
        role: 'clinician',
      });
      const session = await a.services.identity.auth.login(`nurse.${run}`, oneTimePassword, {});
      expect((await b.services.identity.sessions.authenticate(session.token))?.username).toBe(`nurse.${run}`);
      await a.services.identity.users.setStatus(`nurse.${run}`, 'disabled');
      expect(await b.services.identity.sessions.authenticate(session.token)).toBeNull();
    });
  },
);
