/**
 * Migration devices-0003 on every engine: rows stored with the old criticality scale
 * (life-critical, high, medium, low) read as the new one (life-sustaining, patient-care,
 * clinical-support, business), in the device table and in what people set by hand.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { devicesMigrations } from '../../src/devices/index.js';
import { runMigrations } from '../../src/platform/db/index.js';
import { testDatabases } from '../support/databases.js';

const OLD = devicesMigrations.filter((m) => m.id !== 'devices-0003-criticality-scale');
const T = '2026-11-30T10:00:00.000Z';

function device(id: string, criticality: string, rank: number) {
  return {
    id,
    key: `ip:10.0.0.${id.length}${rank}`,
    mac: null,
    ip: null,
    name: null,
    vendor: null,
    model: null,
    type: 'unknown',
    type_confidence: 0,
    type_reason: '{}',
    criticality,
    criticality_rank: rank,
    criticality_reason: 'test',
    first_seen: T,
    last_seen: T,
    updated_at: T,
  };
}

for (const engine of testDatabases()) {
  describe(`criticality scale migration on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('maps stored old values to the new scale, in devices and devices_manual', async () => {
      const db = await engine.open();
      try {
        expect(devicesMigrations.at(-1)!.id).toBe('devices-0003-criticality-scale');
        await runMigrations(db, OLD);
        // biome-ignore lint/suspicious/noExplicitAny: the tables as the old migrations left them
        const k = db.db as any;
        await k
          .insertInto('devices')
          .values([
            device('dev_a', 'life-critical', 4),
            device('dev_b', 'high', 3),
            device('dev_c', 'medium', 2),
            device('dev_d', 'low', 1),
          ])
          .execute();
        await k
          .insertInto('devices_manual')
          .values([
            {
              device_id: 'dev_a',
              type: null,
              criticality: 'low',
              owner: 'ICU',
              location: null,
              notes: null,
              updated_by: 'bea',
              updated_at: T,
            },
            {
              device_id: 'dev_b',
              type: 'pacs',
              criticality: null,
              owner: null,
              location: null,
              notes: null,
              updated_by: 'bea',
              updated_at: T,
            },
            {
              device_id: 'dev_c',
              type: null,
              criticality: 'life-critical',
              owner: null,
              location: null,
              notes: null,
              updated_by: 'bea',
              updated_at: T,
            },
          ])
          .execute();

        const result = await runMigrations(db, devicesMigrations);
        expect(result.applied).toEqual(['devices-0003-criticality-scale']);

        const devices = await k
          .selectFrom('devices')
          .select(['id', 'criticality', 'criticality_rank'])
          .orderBy('id')
          .execute();
        expect(
          devices.map((d: { criticality_rank: unknown }) => ({
            ...d,
            criticality_rank: Number(d.criticality_rank),
          })),
        ).toEqual([
          { id: 'dev_a', criticality: 'life-sustaining', criticality_rank: 4 },
          { id: 'dev_b', criticality: 'patient-care', criticality_rank: 3 },
          { id: 'dev_c', criticality: 'clinical-support', criticality_rank: 2 },
          { id: 'dev_d', criticality: 'business', criticality_rank: 1 },
        ]);
        const manual = await k
          .selectFrom('devices_manual')
          .select(['device_id', 'type', 'criticality', 'owner'])
          .orderBy('device_id')
          .execute();
        expect(manual).toEqual([
          { device_id: 'dev_a', type: null, criticality: 'business', owner: 'ICU' },
          { device_id: 'dev_b', type: 'pacs', criticality: null, owner: null },
          { device_id: 'dev_c', type: null, criticality: 'life-sustaining', owner: null },
        ]);
      } finally {
        await db.close();
      }
    });
  });
}
