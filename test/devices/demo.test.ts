/**
 * The demo seeder builds a plausible hospital network through the real ingest: a few hundred
 * devices of every main type, each classified with a reason, and the same result every time.
 */
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/index.js';
import { devicesDemoSeed } from '../../src/devices/index.js';
import { testDatabases } from '../support/databases.js';
import { hasIeee, openInventory } from './fixture.js';

describe('devices demo seed', () => {
  it('seeds a few hundred classified devices', { timeout: 120_000 }, async () => {
    const engine = testDatabases()[0]!;
    const inv = await openInventory(engine);
    try {
      const summary = await devicesDemoSeed(
        inv.devices,
        seededRng(1),
        () => {},
        new Date('2026-06-02T12:00:00Z'),
      );
      const list = await inv.devices.queries.list({ limit: 1 });
      expect(list.total).toBeGreaterThan(300);
      expect(summary).toContain(`${list.total} devices`);
      const t = list.counts.byType;
      expect(t['imaging-modality']).toBe(40);
      expect(t['infusion-pump']).toBe(80);
      expect(t['patient-monitor']).toBe(120);
      expect(t['lab-analyser']).toBe(12);
      expect(t.pacs).toBe(1);
      expect(t['hl7-interface-engine']).toBeGreaterThanOrEqual(1);
      expect(t.workstation).toBe(60);
      if (hasIeee) expect(t['network-gear']).toBeGreaterThanOrEqual(4);
      expect(list.counts.byCriticality['life-sustaining']).toBe(200);
      expect((await inv.devices.queries.findings({ kind: 'medical-device-public-address' })).length).toBe(1);
    } finally {
      await inv.close();
      await engine.cleanup();
    }
  });
});
