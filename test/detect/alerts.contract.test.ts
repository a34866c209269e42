/**
 * Detection alerts on every database engine, and the pipeline on a real MemoryBus: events
 * published on the bus raise alerts from the hospital rule pack, once each even when a batch is
 * delivered again, and each new alert is published as `detect.alert`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, makeEvent, type VigilEvent } from '../../src/core/index.js';
import { AlertStore, Detector, detectMigrations, HOSPITAL_RULE_PACK } from '../../src/detect/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { runMigrations } from '../../src/platform/db/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { testDatabases } from '../support/databases.js';

const T0 = Date.parse('2026-06-02T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);

for (const engine of testDatabases()) {
  describe(`alerts on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('records an alert once per rule and event, lists with filters and paging, moves status', async () => {
      const db = await engine.open();
      try {
        await runMigrations(db, detectMigrations);
        const store = new AlertStore(db.db, new ManualClock('2026-06-02T12:00:00.000Z'));
        const mk = (i: number, level: string) => ({
          time: at(i).toISOString(),
          ruleId: `r${i % 2}`,
          ruleTitle: 'A rule',
          level,
          eventIds: [`e${i}`],
          dedupKey: `r${i % 2}|u`,
        });
        const batch = Array.from({ length: 10 }, (_, i) => mk(i, i < 3 ? 'high' : 'low'));
        expect(await store.record(batch)).toHaveLength(10);
        expect(await store.record(batch.slice(0, 5))).toHaveLength(0); // redelivery
        const all = await store.list();
        expect(all.total).toBe(10);
        expect(all.alerts[0]!.time > all.alerts[9]!.time).toBe(true);
        const high = await store.list({ level: 'high' });
        expect(high.total).toBe(3);
        const page = await store.list({ limit: 4, offset: 8 });
        expect(page.alerts).toHaveLength(2);
        const a = all.alerts[0]!;
        const acked = await store.setStatus(a.id, 'acknowledged', 'ana');
        expect(acked).toMatchObject({ status: 'acknowledged', assignee: 'ana' });
        expect((await store.list({ status: 'acknowledged' })).alerts.map((x) => x.id)).toEqual([a.id]);
        expect((await store.list({ status: 'open' })).total).toBe(9);
        await expect(store.setStatus('nope', 'closed')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      } finally {
        await db.close();
      }
    });

    it('raises alerts from events on the bus, once even when a batch is redelivered', async () => {
      const db = await engine.open();
      const bus = new MemoryBus({ logger: silentLogger() });
      try {
        await runMigrations(db, detectMigrations);
        const clock = new ManualClock('2026-06-02T12:00:00.000Z');
        const alerts = new AlertStore(db.db, clock);
        const detector = new Detector([HOSPITAL_RULE_PACK], { alerts, bus, clock });
        expect(detector.loaded.report.errors).toEqual([]);
        const published: VigilEvent[] = [];
        const watch = await bus.subscribe({
          group: 'watch',
          subjects: ['vigil.detect.>'],
          handler: async (evs) => {
            published.push(...evs);
          },
        });
        const sub = await detector.attach();
        const lockout = makeEvent({ kind: 'auth.lockout', source: 'identity', user: { name: 'eve' } }, at(0));
        const noise = makeEvent({ kind: 'auth.logout', source: 'identity', user: { name: 'eve' } }, at(1));
        await bus.publish([lockout, noise]);
        await bus.publish([lockout]); // delivered again
        // A redelivered batch handled directly, as a bus retry would.
        await detector.handle([lockout, noise]);
        for (let i = 0; i < 200 && published.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100));
        const { alerts: list } = await alerts.list();
        expect(list.map((a) => a.ruleTitle)).toEqual(['Vigil - Account locked out']);
        expect(list[0]!.eventIds).toEqual([lockout.id]);
        expect(published.map((e) => e.kind)).toEqual(['detect.alert']);
        expect(published[0]!.data).toMatchObject({ alertId: list[0]!.id, level: 'medium' });
        await sub.close();
        await watch.close();
      } finally {
        await bus.close();
        await db.close();
      }
    });
  });
}
