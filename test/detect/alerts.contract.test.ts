/**
 * Detection alerts and cases on every database engine: deduplication by rule and entity within
 * the window (count and last seen grow, evidence stays bounded, redelivery counts nothing twice,
 * two writers at once open one alert), the analyst workflow (status with who and when, assignee
 * checked, append-only notes, all-or-none bulk changes, each change on the bus), filters, cases
 * (severity from the alerts, membership, conflicts, timeline), the upgrade of alerts recorded
 * before, and the pipeline on a real MemoryBus.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, makeEvent, type VigilEvent } from '../../src/core/index.js';
import {
  type Actor,
  AlertStore,
  CaseStore,
  Detector,
  detectMigrations,
  HOSPITAL_RULE_PACK,
  type NewAlert,
  type People,
} from '../../src/detect/index.js';
import type { Bus } from '../../src/platform/bus/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { testDatabases } from '../support/databases.js';

const T0 = Date.parse('2026-06-02T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const MIN = 60;

const ANA = '0190a000-0000-7000-8000-00000000000a';
const BEN = '0190a000-0000-7000-8000-00000000000b';
const SAM = '0190a000-0000-7000-8000-00000000000c';
const ana: Actor = { id: ANA, name: 'ana.analyst' };
const people: People = {
  find: async (id) =>
    ({
      [ANA]: { id: ANA, username: 'ana.analyst', role: 'analyst', status: 'active' },
      [BEN]: { id: BEN, username: 'ben.admin', role: 'admin', status: 'disabled' },
      [SAM]: { id: SAM, username: 'sam.staff', role: 'staff', status: 'active' },
    })[id],
};

/** A bus that keeps what is published. */
function recordingBus(): Bus & { events: VigilEvent[] } {
  const events: VigilEvent[] = [];
  return {
    kind: 'memory',
    events,
    publish: async (evs) => {
      events.push(...evs);
    },
    subscribe: () => Promise.reject(new Error('not used')),
    stats: () => ({ published: events.length, delivered: 0, redelivered: 0, queued: 0 }),
    ready: async () => true,
    close: async () => {},
  };
}

let seq = 0;
function occurrence(
  s: number,
  over: Partial<NewAlert> & { entity?: string } = {},
): NewAlert & { eventIds: string[] } {
  const eventId = `e-${++seq}`;
  const ruleId = over.ruleId ?? 'rule-a';
  return {
    time: at(s),
    ruleId,
    ruleTitle: over.ruleTitle ?? 'Rule A',
    level: over.level ?? 'medium',
    eventIds: [eventId],
    dedupKey: `${ruleId}|${over.entity ?? 'eve'}`,
    tags: over.tags ?? ['attack.credential-access', 'attack.t1110'],
    evidence: over.evidence ?? [
      { id: eventId, kind: 'auth.login.failed', time: at(s), user: { name: 'eve' } },
    ],
  };
}

async function setup(db: Database, options: { windowMin?: number; events?: number } = {}) {
  await runMigrations(db, detectMigrations);
  const clock = new ManualClock('2026-06-02T12:00:00.000Z');
  const bus = recordingBus();
  const alerts = new AlertStore(db.db, clock, {
    dedupWindowMs: (options.windowMin ?? 60) * 60_000,
    evidence: { events: options.events ?? 3, eventBytes: 512 },
    bus,
    people,
  });
  const cases = new CaseStore(db.db, alerts, { clock, bus, people });
  return { clock, bus, alerts, cases };
}

for (const engine of testDatabases()) {
  describe(`alerts on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('deduplicates by rule and entity within the window, with bounded evidence', async () => {
      const db = await engine.open();
      try {
        const { alerts } = await setup(db, { windowMin: 10, events: 3 });
        const first = occurrence(0);
        const created = await alerts.record([first]);
        expect(created).toHaveLength(1);
        expect(created[0]).toMatchObject({
          count: 1,
          entity: 'eve',
          status: 'new',
          tags: ['attack.credential-access', 'attack.t1110'],
          firstSeen: at(0),
          lastSeen: at(0),
        });

        // Four more for eve within 10 minutes, one hostile: they join, nothing new is created.
        const hostile = occurrence(120, {
          evidence: [{ id: 'huge', kind: 'x.y', blob: 'A'.repeat(1_000_000), deep: nest(200) }],
        });
        const more = [occurrence(60), hostile, occurrence(180), occurrence(240)];
        expect(await alerts.record(more)).toEqual([]);
        // Another entity and another rule are their own alerts.
        expect(await alerts.record([occurrence(30, { entity: 'mallory' })])).toHaveLength(1);
        expect(await alerts.record([occurrence(30, { ruleId: 'rule-b' })])).toHaveLength(1);

        const { alerts: eve } = await alerts.list({ ruleId: 'rule-a', q: 'eve' });
        expect(eve).toHaveLength(1);
        const a = eve[0]!;
        expect(a).toMatchObject({ count: 5, firstSeen: at(0), lastSeen: at(240) });
        const detail = await alerts.detail(a.id);
        // The first three events are kept; each within the byte bound even when hostile.
        expect(detail.eventIds).toEqual([first.eventIds[0], more[0]!.eventIds[0], hostile.eventIds[0]]);
        expect(detail.evidence).toHaveLength(3);
        for (const e of detail.evidence)
          expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThanOrEqual(512);
        expect(JSON.stringify(detail.evidence[2])).toContain('huge');

        // A redelivered batch counts nothing again.
        expect(await alerts.record([first, ...more])).toEqual([]);
        expect((await alerts.get(a.id))!.count).toBe(5);

        // Past the window a new alert opens; the old one keeps what it had.
        const late = await alerts.record([occurrence(11 * MIN)]);
        expect(late).toHaveLength(1);
        expect(late[0]!.id).not.toBe(a.id);
        expect((await alerts.get(a.id))!.count).toBe(5);
        expect(await alerts.record([occurrence(12 * MIN)])).toEqual([]);
        expect((await alerts.get(late[0]!.id))!.count).toBe(2);

        // A resolved alert absorbs nothing more: the next occurrence is a new alert.
        await alerts.setStatus(late[0]!.id, 'resolved', ana);
        expect(await alerts.record([occurrence(13 * MIN)])).toHaveLength(1);
      } finally {
        await db.close();
      }
    });

    it('opens one alert when two writers record the same rule and entity at once', async () => {
      const db = await engine.open();
      try {
        const { alerts, clock } = await setup(db);
        const other = new AlertStore(db.db, clock, { dedupWindowMs: 3_600_000 });
        const batches = Array.from({ length: 8 }, (_, i) =>
          Array.from({ length: 5 }, (_, j) => occurrence(i * 5 + j, { ruleId: 'race', entity: 'host-1' })),
        );
        const created = await Promise.all(batches.map((b, i) => (i % 2 ? other : alerts).record(b)));
        expect(created.flat()).toHaveLength(1);
        const { alerts: list } = await alerts.list({ ruleId: 'race' });
        expect(list).toHaveLength(1);
        expect(list[0]!.count).toBe(40);
      } finally {
        await db.close();
      }
    });

    it('raises one rule on two entities of the same event as two alerts', async () => {
      const db = await engine.open();
      try {
        const { alerts } = await setup(db);
        const a = occurrence(0, { ruleId: 'new-port', entity: 'pump' });
        const b = { ...a, dedupKey: 'new-port|server' };
        expect((await alerts.record([a, b])).map((x) => x.entity).sort()).toEqual(['pump', 'server']);
        expect(await alerts.record([b, a])).toEqual([]);
      } finally {
        await db.close();
      }
    });

    it('records each alert once per event without deduplication when the window is 0', async () => {
      const db = await engine.open();
      try {
        const { alerts } = await setup(db, { windowMin: 0 });
        const batch = Array.from({ length: 10 }, (_, i) =>
          occurrence(i, { ruleId: `r${i % 2}`, level: i < 3 ? 'high' : 'low', entity: 'u' }),
        );
        expect(await alerts.record(batch)).toHaveLength(10);
        expect(await alerts.record(batch.slice(0, 5))).toHaveLength(0); // redelivery
        const all = await alerts.list();
        expect(all.total).toBe(10);
        expect(all.alerts[0]!.lastSeen > all.alerts[9]!.lastSeen).toBe(true);
        expect((await alerts.list({ level: 'high' })).total).toBe(3);
        expect((await alerts.list({ limit: 4, offset: 8 })).alerts).toHaveLength(2);
      } finally {
        await db.close();
      }
    });

    it('filters by status, level, rule, text (escaping LIKE), assignee and time', async () => {
      const db = await engine.open();
      try {
        const { alerts } = await setup(db);
        await alerts.record([
          occurrence(0, { ruleId: 'r-smb', ruleTitle: 'SMB from a pump', level: 'high', entity: '10.0.0.5' }),
          occurrence(1, {
            ruleId: 'r-pct',
            ruleTitle: '100% of records read',
            level: 'critical',
            entity: 'dr_who',
          }),
          occurrence(2, {
            ruleId: 'r-lock',
            ruleTitle: 'Account locked out',
            level: 'medium',
            entity: 'eve',
          }),
        ]);
        const ids = Object.fromEntries((await alerts.list()).alerts.map((a) => [a.ruleId, a.id]));
        await alerts.update([ids['r-smb']!], { status: 'acknowledged', assignee: ANA }, ana);
        await alerts.setStatus(ids['r-lock']!, 'false-positive', ana);

        const titles = async (q: Parameters<AlertStore['list']>[0]) =>
          (await alerts.list(q)).alerts.map((a) => a.ruleId).sort();
        expect(await titles({ status: ['new', 'acknowledged'] })).toEqual(['r-pct', 'r-smb']);
        expect(await titles({ status: 'false-positive' })).toEqual(['r-lock']);
        expect(await titles({ level: 'critical' })).toEqual(['r-pct']);
        expect(await titles({ q: 'smb FROM' })).toEqual(['r-smb']); // case-insensitive
        expect(await titles({ q: '10.0.0' })).toEqual(['r-smb']); // the entity
        expect(await titles({ q: '100%' })).toEqual(['r-pct']);
        expect(await titles({ q: '%' })).toEqual(['r-pct']); // a literal %, not a wildcard
        expect(await titles({ q: 'dr_' })).toEqual(['r-pct']);
        expect(await titles({ q: '_' })).toEqual(['r-pct']);
        expect(await titles({ q: ids['r-lock'] })).toEqual(['r-lock']);
        expect(await titles({ assignee: ANA })).toEqual(['r-smb']);
        expect(await titles({ since: at(1), until: at(2) })).toEqual(['r-pct']);
        expect((await alerts.rules()).map((r) => r.ruleId)).toEqual(['r-lock', 'r-pct', 'r-smb']);
      } finally {
        await db.close();
      }
    });

    it('records who changed what and when, checks assignees, keeps notes, bulk is all or none', async () => {
      const db = await engine.open();
      try {
        const { alerts, clock, bus } = await setup(db);
        await alerts.record([
          occurrence(0, { entity: 'a' }),
          occurrence(1, { entity: 'b' }),
          occurrence(2, { entity: 'c' }),
        ]);
        const [x, y, z] = (await alerts.list()).alerts;
        clock.advance(60_000);
        const acked = await alerts.setStatus(x!.id, 'acknowledged', ana);
        expect(acked).toMatchObject({
          status: 'acknowledged',
          statusChangedBy: ANA,
          statusChangedAt: '2026-06-02T12:01:00.000Z',
        });
        // The same status again changes nothing and records nothing.
        await alerts.setStatus(x!.id, 'acknowledged', ana);

        // Only active analysts and admins can be assigned.
        await expect(alerts.assign(x!.id, SAM, ana)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        await expect(alerts.assign(x!.id, BEN, ana)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        await expect(alerts.assign(x!.id, 'nobody', ana)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        expect(await alerts.assign(x!.id, ANA, ana)).toMatchObject({ assignee: ANA });

        const note = await alerts.addNote(x!.id, '  Called the ward: the pump was being serviced.  ', ana);
        expect(note).toMatchObject({
          action: 'note',
          actor: ana,
          detail: { text: 'Called the ward: the pump was being serviced.' },
        });
        await expect(alerts.addNote(x!.id, '   ', ana)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        await expect(alerts.addNote(x!.id, 'x'.repeat(4001), ana)).rejects.toMatchObject({
          code: 'BAD_REQUEST',
        });
        await expect(alerts.addNote('nope', 'hello', ana)).rejects.toMatchObject({ code: 'NOT_FOUND' });

        // Bulk: one unknown id and nothing changes.
        await expect(alerts.update([y!.id, 'missing-id'], { status: 'resolved' }, ana)).rejects.toMatchObject(
          {
            code: 'NOT_FOUND',
            details: { missing: ['missing-id'] },
          },
        );
        expect((await alerts.get(y!.id))!.status).toBe('new');
        const bulk = await alerts.update([y!.id, z!.id, y!.id], { status: 'resolved', assignee: ANA }, ana);
        expect(bulk.map((a) => [a.id, a.status, a.assignee])).toEqual([
          [y!.id, 'resolved', ANA],
          [z!.id, 'resolved', ANA],
        ]);
        await expect(alerts.update([], { status: 'resolved' }, ana)).rejects.toMatchObject({
          code: 'BAD_REQUEST',
        });

        const detail = await alerts.detail(x!.id);
        expect(detail.timeline.map((e) => [e.action, e.actor?.name, e.detail])).toEqual([
          ['status', 'ana.analyst', { from: 'new', to: 'acknowledged' }],
          ['assigned', 'ana.analyst', { from: null, to: ANA }],
          ['note', 'ana.analyst', { text: 'Called the ward: the pump was being serviced.' }],
        ]);
        const changes = bus.events.filter((e) => e.kind === 'detect.alert.updated');
        expect(changes.map((e) => e.data?.action)).toEqual([
          'status',
          'assigned',
          'note',
          'status',
          'assigned',
          'status',
          'assigned',
        ]);
        expect(changes[0]).toMatchObject({
          user: { id: ANA, name: 'ana.analyst' },
          data: { alertId: x!.id, from: 'new', to: 'acknowledged' },
        });
        // The note's text is in the timeline, not on the bus.
        expect(JSON.stringify(changes)).not.toContain('serviced');
      } finally {
        await db.close();
      }
    });

    it('groups alerts in cases with a severity from them, a timeline and notes', async () => {
      const db = await engine.open();
      try {
        const { alerts, cases, bus } = await setup(db);
        await alerts.record([
          occurrence(0, { entity: 'a', level: 'low' }),
          occurrence(1, { entity: 'b', level: 'high' }),
          occurrence(2, { entity: 'c', level: 'critical' }),
        ]);
        const byEntity = Object.fromEntries((await alerts.list()).alerts.map((a) => [a.entity, a.id]));
        const c = await cases.create(
          { title: '  Pump 7 incident ', alertIds: [byEntity.a!, byEntity.b!] },
          ana,
        );
        expect(c).toMatchObject({
          title: 'Pump 7 incident',
          severity: 'high',
          severityAuto: true,
          status: 'open',
          alertCount: 2,
        });
        expect(c.alerts.map((a) => a.entity).sort()).toEqual(['a', 'b']);
        expect((await alerts.get(byEntity.a!))!.caseId).toBe(c.id);

        // Adding the critical one raises the severity; adding one twice changes nothing.
        let d = await cases.addAlerts(c.id, [byEntity.c!, byEntity.a!], ana);
        expect(d).toMatchObject({ severity: 'critical', alertCount: 3 });
        // An alert in a case cannot be taken by another one.
        const other = await cases.create({ title: 'Other' }, ana);
        expect(other).toMatchObject({ severity: 'informational', alertCount: 0 });
        await expect(cases.addAlerts(other.id, [byEntity.c!], ana)).rejects.toMatchObject({
          code: 'CONFLICT',
        });
        await expect(cases.addAlerts(other.id, ['nope'], ana)).rejects.toMatchObject({ code: 'NOT_FOUND' });

        d = await cases.removeAlert(c.id, byEntity.c!, ana);
        expect(d).toMatchObject({ severity: 'high', alertCount: 2 });
        await expect(cases.removeAlert(c.id, byEntity.c!, ana)).rejects.toMatchObject({ code: 'NOT_FOUND' });

        // A set severity sticks until set back to auto.
        d = await cases.update(c.id, { severity: 'low', status: 'in-progress', assignee: ANA }, ana);
        expect(d).toMatchObject({
          severity: 'low',
          severityAuto: false,
          status: 'in-progress',
          assignee: ANA,
        });
        d = await cases.addAlerts(c.id, [byEntity.c!], ana);
        expect(d.severity).toBe('low');
        d = await cases.update(c.id, { severity: 'auto' }, ana);
        expect(d).toMatchObject({ severity: 'critical', severityAuto: true });
        await expect(cases.update(c.id, { assignee: SAM }, ana)).rejects.toMatchObject({
          code: 'BAD_REQUEST',
        });
        await expect(cases.update(c.id, { title: ' ' }, ana)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        await expect(cases.update('nope', { status: 'closed' }, ana)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        });

        await cases.addNote(c.id, 'Isolated the pump VLAN.', ana);
        d = await cases.update(c.id, { status: 'closed' }, ana);
        expect(d.timeline.map((e) => e.action)).toEqual([
          'created',
          'alerts-added',
          'alerts-added',
          'alert-removed',
          'status',
          'assigned',
          'severity',
          'alerts-added',
          'severity',
          'note',
          'status',
        ]);
        expect(d.timeline.every((e) => e.actor?.id === ANA)).toBe(true);
        // The alert's own timeline shows its case membership.
        expect((await alerts.detail(byEntity.c!)).timeline.map((e) => [e.action, e.detail])).toEqual([
          ['case', { from: null, to: c.id }],
          ['case', { from: c.id, to: null }],
          ['case', { from: null, to: c.id }],
        ]);

        const listed = await cases.list({ status: 'closed' });
        expect(listed.cases.map((x) => [x.id, x.alertCount])).toEqual([[c.id, 3]]);
        expect((await cases.list({ q: 'other' })).cases.map((x) => x.id)).toEqual([other.id]);
        expect((await alerts.list({ caseId: c.id })).total).toBe(3);
        expect(bus.events.filter((e) => e.kind === 'detect.case.created')).toHaveLength(2);
        expect(bus.events.filter((e) => e.kind === 'detect.case.updated').length).toBeGreaterThanOrEqual(6);
      } finally {
        await db.close();
      }
    });

    it('upgrades alerts recorded before (open → new, closed → resolved, counted once)', async () => {
      const db = await engine.open();
      try {
        await runMigrations(db, detectMigrations.slice(0, 1));
        const old = (id: string, eventId: string, status: string) =>
          ({
            id,
            time: at(0),
            rule_id: 'rule-a',
            rule_title: 'Rule A',
            level: 'high',
            event_id: eventId,
            event_ids: JSON.stringify([eventId]),
            dedup_key: 'rule-a|eve',
            status,
            assignee: null,
            created_at: at(0),
            updated_at: at(0),
          }) as never;
        await db.db
          .insertInto('alerts' as never)
          .values([old('old-1', 'ev-1', 'open'), old('old-2', 'ev-2', 'closed')])
          .execute();
        const { alerts } = await setup(db);
        const list = (await alerts.list()).alerts;
        expect(list.map((a) => [a.id, a.status, a.count, a.firstSeen, a.entity]).sort()).toEqual([
          ['old-1', 'new', 1, at(0), ''],
          ['old-2', 'resolved', 1, at(0), ''],
        ]);
        // The events they were raised for count nothing again.
        const again = { ...occurrence(5), eventIds: ['ev-1'] };
        expect(await alerts.record([again])).toEqual([]);
        expect((await alerts.list()).total).toBe(2);
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
        const lockout = makeEvent(
          { kind: 'auth.lockout', source: 'identity', user: { name: 'eve' } },
          new Date(T0),
        );
        const noise = makeEvent(
          { kind: 'auth.logout', source: 'identity', user: { name: 'eve' } },
          new Date(T0 + 1000),
        );
        await bus.publish([lockout, noise]);
        await bus.publish([lockout]); // delivered again
        // A redelivered batch handled directly, as a bus retry would.
        await detector.handle([lockout, noise]);
        for (let i = 0; i < 200 && published.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100));
        const { alerts: list } = await alerts.list();
        expect(list.map((a) => a.ruleTitle)).toEqual(['Vigil - Account locked out']);
        expect(list[0]).toMatchObject({
          eventIds: [lockout.id],
          entity: 'eve',
          tags: ['attack.credential-access', 'attack.t1110'],
          count: 1,
        });
        expect((await alerts.detail(list[0]!.id)).evidence).toEqual([lockout]);
        expect(published.map((e) => e.kind)).toEqual(['detect.alert']);
        expect(published[0]!.data).toMatchObject({ alertId: list[0]!.id, level: 'medium' });

        // A second lockout for eve within the hour joins the alert: no new detect.alert event.
        const again = makeEvent(
          { kind: 'auth.lockout', source: 'identity', user: { name: 'eve' } },
          new Date(T0 + 60_000),
        );
        await detector.handle([again]);
        expect((await alerts.list()).alerts.map((a) => a.count)).toEqual([2]);
        expect(published).toHaveLength(1);
        await sub.close();
        await watch.close();
      } finally {
        await bus.close();
        await db.close();
      }
    });
  });
}

/** An object nested `depth` levels deep. */
function nest(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { v };
  return v;
}
