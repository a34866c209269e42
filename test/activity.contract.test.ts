/**
 * The event log on every engine: idempotent by event id (the bus delivers at least once), counts
 * by kind over a window, recent events, retention.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ActivityLog, activityMigrations } from '../src/activity/index.js';
import { ManualClock, makeEvent } from '../src/core/index.js';
import { MemoryBus } from '../src/platform/bus/index.js';
import { runMigrations } from '../src/platform/db/index.js';
import { silentLogger } from '../src/platform/log/index.js';
import { testDatabases } from './support/databases.js';

for (const engine of testDatabases()) {
  describe(`activity log on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('stores each event once, counts by kind, lists recent ones and prunes old ones', async () => {
      const db = await engine.open();
      try {
        await runMigrations(db, activityMigrations);
        const clock = new ManualClock('2026-06-02T12:00:00.000Z');
        const log = new ActivityLog(db.db, clock);
        const old = makeEvent({ kind: 'auth.login.failed', source: 't' }, new Date('2026-05-01T00:00:00Z'));
        const batch = [
          old,
          ...Array.from({ length: 1500 }, (_, i) =>
            makeEvent(
              {
                kind: i % 3 ? 'auth.login.failed' : 'auth.login.succeeded',
                source: 't',
                user: { name: `u${i}` },
              },
              new Date('2026-06-02T11:00:00Z'),
            ),
          ),
        ];
        await log.record(batch);
        await log.record(batch.slice(0, 700)); // redelivery
        const counts = await log.countsSince(new Date('2026-06-01T12:00:00Z'));
        expect(counts).toEqual([
          { kind: 'auth.login.failed', count: 1000 },
          { kind: 'auth.login.succeeded', count: 500 },
        ]);
        const recent = await log.recent(5, 'auth.login.s');
        expect(recent).toHaveLength(5);
        expect(recent.every((e) => e.kind === 'auth.login.succeeded')).toBe(true);
        expect(await log.recent(3, "x%' or 1=1 --")).toEqual([]);
        expect(await log.prune(30)).toBe(1);
        expect((await log.recent(500)).some((e) => e.id === old.id)).toBe(false);
      } finally {
        await db.close();
      }
    });

    it('records what is published on the bus', async () => {
      const db = await engine.open();
      const bus = new MemoryBus({ logger: silentLogger() });
      try {
        await runMigrations(db, activityMigrations);
        const log = new ActivityLog(db.db, new ManualClock());
        const sub = await log.attach(bus);
        const events = Array.from({ length: 300 }, () => makeEvent({ kind: 'user.created', source: 't' }));
        await bus.publish(events);
        for (let i = 0; i < 200 && (await log.recent(500)).length < 300; i++)
          await new Promise((r) => setTimeout(r, 20));
        expect((await log.recent(500)).length).toBe(300);
        await sub.close();
      } finally {
        await bus.close();
        await db.close();
      }
    });
  });
}
