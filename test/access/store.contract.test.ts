/**
 * The gateway's tables on every engine: decisions in batches and back with their reasons, gateway
 * sessions and their revocation, known devices, learned hours, blocks, learned places and the
 * sign-in before a session's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accessMigrations } from '../../src/access/index.js';
import { AccessStore } from '../../src/access/store.js';
import { openDatabase, runMigrations } from '../../src/platform/db/index.js';
import { testDatabases } from '../support/databases.js';

for (const engine of testDatabases()) {
  describe(`access store (${engine.name})`, () => {
    afterAll(() => engine.cleanup());

    it('keeps each distinct reason list once; prunes the lists no decision uses', async () => {
      const database = await engine.open();
      try {
        await runMigrations(database, accessMigrations);
        const store = new AccessStore(database.db);
        const reasonsOf = (i: number) => [
          { signal: 'zone', score: 0, reason: 'network zone lan' },
          {
            signal: 'device',
            score: i % 3 === 0 ? 25 : 0,
            reason: i % 3 === 0 ? 'new device' : 'known device',
          },
        ];
        const decision = (i: number, day: string) => ({
          id: `r${day}${String(i).padStart(4, '0')}`,
          time: `2026-06-${day}T08:00:${String(i % 60).padStart(2, '0')}.000Z`,
          decision: 'allow' as const,
          risk: 0,
          app: 'ehr',
          user: { id: 'u1', name: 'alice', roles: ['clinician' as const] },
          sourceIp: '10.0.0.1',
          host: 'ehr.test',
          path: '/x',
          method: 'GET',
          reasons: reasonsOf(i),
        });
        await store.insertDecisions(Array.from({ length: 30 }, (_, i) => decision(i, '01')));
        // A decision written before reason sets existed keeps its reasons inline.
        await database.db
          .withTables<{ access_decisions: Record<string, unknown> }>()
          .insertInto('access_decisions')
          .values({
            id: 'legacy',
            time: '2026-06-01T07:00:00.000Z',
            user_id: 'u1',
            username: 'alice',
            app: 'ehr',
            decision: 'deny',
            risk: 100,
            reasons: JSON.stringify([{ signal: 'zone', score: 100, reason: 'zone internet denied' }]),
            source_ip: '10.0.0.9',
            host: 'ehr.test',
            path: '/',
            method: 'GET',
          })
          .execute();
        const sets = () =>
          database.db
            .withTables<{ access_reason_sets: { hash: string } }>()
            .selectFrom('access_reason_sets')
            .select('hash')
            .execute();
        expect(await sets()).toHaveLength(2);
        const all = await store.recentDecisions({ limit: 100 });
        expect(all).toHaveLength(31);
        for (const d of all.filter((x) => x.id !== 'legacy'))
          expect(d.reasons).toEqual(reasonsOf(Number(d.id.slice(3))));
        expect(all.find((d) => d.id === 'legacy')!.reasons[0]!.reason).toBe('zone internet denied');

        // Day 3 uses only the "known device" list: pruning day 1 removes the other list, keeps this one.
        await store.insertDecisions([decision(1, '03')]);
        expect(await store.pruneDecisions('2026-06-02T00:00:00.000Z')).toBe(31);
        expect(await sets()).toHaveLength(1);
        const left = await store.recentDecisions({ limit: 10 });
        expect(left.map((d) => d.id)).toEqual(['r030001']);
        expect(left[0]!.reasons).toEqual(reasonsOf(1));
      } finally {
        await database.close();
      }
    });

    it('keeps decisions, sessions, devices, hours and blocks', async () => {
      const database = await engine.open();
      try {
        await runMigrations(database, accessMigrations);
        const store = new AccessStore(database.db);
        const decisions = Array.from({ length: 450 }, (_, i) => ({
          id: `d${String(i).padStart(4, '0')}`,
          time: new Date(Date.parse('2026-06-01T08:00:00Z') + i * 1000).toISOString(),
          decision: (i % 2 ? 'allow' : 'deny') as 'allow' | 'deny',
          risk: i % 100,
          app: 'ehr',
          user: { id: 'u1', name: 'alice', roles: ['clinician' as const] },
          sourceIp: '10.0.0.1',
          host: 'ehr.test',
          path: '/x',
          method: 'GET',
          reasons: [{ signal: 'zone', score: 0, reason: 'network zone lan' }],
        }));
        await store.insertDecisions(decisions);
        const recent = await store.recentDecisions({ limit: 3, userId: 'u1', decision: 'deny' });
        expect(recent.map((d) => d.id)).toEqual(['d0448', 'd0446', 'd0444']);
        expect(recent[0]!.reasons[0]!.reason).toBe('network zone lan');
        expect(await store.pruneDecisions('2026-06-01T08:01:00.000Z')).toBe(60);

        await store.insertSession({
          id: 's1',
          user_id: 'u1',
          device_id: 'dev',
          ip: '10.0.0.1',
          created_at: '2026-06-01T08:00:00Z',
          mfa_at: null,
          mfa_device_id: null,
          mfa_ip: null,
          revoked_at: null,
        });
        expect((await store.sessions({ limit: 10 })).map((s) => s.id)).toEqual(['s1']);
        expect(await store.revokeSession('s1', '2026-06-01T09:00:00Z')).toBe('u1');
        expect(await store.revokeSession('nope', '2026-06-01T09:00:00Z')).toBeNull();
        expect((await store.session('s1'))?.revoked_at).toBe('2026-06-01T09:00:00Z');
        expect(await store.sessions({ limit: 10 })).toEqual([]);

        await store.rememberDevice('u1', 'dev', '2026-06-01T08:00:00Z');
        await store.rememberDevice('u1', 'dev', '2026-06-02T08:00:00Z');
        expect(await store.knownDevices('u1')).toEqual(['dev']);

        const hours = Array.from({ length: 24 }, (_, i) => i);
        await store.saveHours('u1', hours, '2026-06-01T08:00:00Z');
        await store.saveHours(
          'u1',
          hours.map((h) => h + 1),
          '2026-06-01T09:00:00Z',
        );
        expect((await store.hours('u1'))[0]).toBe(1);
        expect((await store.hours('u2')).every((n) => n === 0)).toBe(true);

        await store.addBlock({
          id: 'b1',
          cidr: '203.0.113.0/24',
          reason: 'scan',
          created_by: 'ada',
          created_at: '2026-06-01T08:00:00Z',
        });
        expect((await store.blocks()).map((b) => b.cidr)).toEqual(['203.0.113.0/24']);

        // Places learned from MFA sign-ins, and the sign-in before a session's.
        await store.rememberPlace('u1', 'country', 'NL', '2026-06-01T08:00:00Z');
        await store.rememberPlace('u1', 'country', 'NL', '2026-06-02T08:00:00Z');
        await store.rememberPlace('u1', 'asn', '1103', '2026-06-01T08:00:00Z');
        await store.rememberPlace('u1', 'network', '145.100.0.0/24', '2026-06-01T08:00:00Z');
        const places = await store.knownPlaces('u1');
        expect([...places.countries]).toEqual(['NL']);
        expect([...places.asns]).toEqual([1103]);
        expect([...places.networks]).toEqual(['145.100.0.0/24']);
        expect((await store.knownPlaces('u2')).countries.size).toBe(0);
        await store.recordLogin({
          session_id: 's1',
          user_id: 'u1',
          ip: '10.0.0.1',
          at: '2026-06-01T08:00:00Z',
        });
        await store.recordLogin({
          session_id: 's2',
          user_id: 'u1',
          ip: '145.100.0.9',
          at: '2026-06-01T10:00:00Z',
        });
        // Recorded once: a later sight of the same session changes nothing.
        await store.recordLogin({
          session_id: 's2',
          user_id: 'u1',
          ip: '192.0.2.1',
          at: '2026-06-01T11:00:00Z',
        });
        expect(await store.previousLogin('u1', '2026-06-01T10:00:00Z', 's2')).toEqual({
          ip: '10.0.0.1',
          at: '2026-06-01T08:00:00Z',
        });
        expect(await store.previousLogin('u1', '2026-06-01T12:00:00Z', 'x')).toEqual({
          ip: '145.100.0.9',
          at: '2026-06-01T10:00:00Z',
        });
        expect(await store.previousLogin('u1', '2026-06-01T07:00:00Z', 'x')).toBeUndefined();
        await store.pruneLogins('2026-06-01T09:00:00Z');
        expect(await store.previousLogin('u1', '2026-06-01T10:00:00Z', 's2')).toBeUndefined();
      } finally {
        await database.close();
      }
    });
  });
}

describe('access store with the writer thread (a server on SQLite)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-access-writer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes decisions off the event loop and reads back the same as in the thread', async () => {
    const database = await openDatabase({
      sqliteFile: path.join(dir, 'v.sqlite'),
      backgroundCheckpoints: true,
    });
    try {
      await runMigrations(database, accessMigrations);
      expect(database.offThread).toBeDefined();
      const offThread = new AccessStore(database.db, database.offThread);
      const inThread = new AccessStore(database.db);
      const decision = (id: string, i: number) => ({
        id,
        time: `2026-06-01T08:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(3, '0')}Z`,
        decision: (i % 4 === 0 ? 'deny' : 'allow') as 'deny' | 'allow',
        risk: i % 4 === 0 ? 100 : 10,
        app: 'ehr',
        user: { id: 'u1', name: 'alice', roles: ['clinician' as const] },
        sourceIp: '10.0.0.1',
        host: 'ehr.test',
        path: `/chart/${i}`,
        method: 'GET',
        reasons: [
          {
            signal: 'zone',
            score: i % 4 === 0 ? 100 : 0,
            reason: `zone ${i % 4 === 0 ? 'internet' : 'lan'}`,
          },
        ],
      });
      await offThread.insertDecisions(
        Array.from({ length: 1200 }, (_, i) => decision(`a${String(i).padStart(4, '0')}`, i)),
      );
      await inThread.insertDecisions(
        Array.from({ length: 1200 }, (_, i) => decision(`b${String(i).padStart(4, '0')}`, i)),
      );
      const all = await inThread.recentDecisions({ limit: 5000 });
      expect(all).toHaveLength(2400);
      const strip = (d: (typeof all)[number]) => ({ ...d, id: d.id.slice(1) });
      const a = all.filter((d) => d.id.startsWith('a')).map(strip);
      const b = all.filter((d) => d.id.startsWith('b')).map(strip);
      expect(a.sort((x, y) => x.id.localeCompare(y.id))).toEqual(b.sort((x, y) => x.id.localeCompare(y.id)));
    } finally {
      await database.close();
    }
  });
});
