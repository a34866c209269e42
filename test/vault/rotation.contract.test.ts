/**
 * KEK rotation on every engine: every data key re-wrapped under the new KEK in batches, reads
 * continuing between and during batches, idempotent, resumable after an interruption, and never
 * bringing back a key shredded meanwhile.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/index.js';
import {
  DataKeyStore,
  type RewrapProgress,
  rewrapDataKeys,
  SealedResourceStore,
} from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { type VaultFixture, vaultFixture } from './fixture.js';

const PATIENTS = 25;

for (const engine of testDatabases()) {
  describe(`vault key rotation on ${engine.name}`, () => {
    let database: Database;
    let f: VaultFixture;

    beforeEach(async () => {
      database = await engine.open();
      f = await vaultFixture(database);
      for (let i = 0; i < PATIENTS; i++) {
        await f.resources.write({
          resourceType: 'Observation',
          id: `o${i}`,
          versionId: '1',
          patientId: `p${i}`,
          lastUpdated: 't',
          body: `{"i":${i}}`,
        });
      }
    });
    afterEach(async () => {
      await f.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    const kekCounts = async () =>
      (
        await sql<{
          kek_id: string | null;
          n: number | string;
        }>`select kek_id, count(*) as n from vault_data_keys group by kek_id order by kek_id`.execute(
          database.db,
        )
      ).rows
        .map((r) => [r.kek_id, Number(r.n)])
        // NULL sorts first on SQLite and last on PostgreSQL: order here instead.
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

    it('re-wraps every key in batches while reads (with no cache) keep succeeding', async () => {
      expect(await kekCounts()).toEqual([['0001', PATIENTS]]);
      expect(f.keys.rotate()).toBe('0002');
      // A reader that always unwraps from the database, as another process with a cold cache would.
      const coldKeys = new DataKeyStore(database.db, f.keys, { cacheSize: 1 });
      const reader = new SealedResourceStore(database.db, coldKeys);
      const readAll = async () => {
        for (let i = 0; i < PATIENTS; i++) {
          coldKeys.evict();
          const got = await reader.read({ resourceType: 'Observation', id: `o${i}` });
          expect(got?.body.toString()).toBe(`{"i":${i}}`);
        }
      };
      const progress: RewrapProgress[] = [];
      let concurrentReads = 0;
      // Reads run concurrently with the rotation and inside every progress callback.
      const background = (async () => {
        for (let r = 0; r < 3; r++) {
          await readAll();
          concurrentReads++;
        }
      })();
      const result = await rewrapDataKeys(
        database.db,
        f.keys,
        async (p) => {
          progress.push(p);
          await readAll();
        },
        { batchSize: 4 },
      );
      await background;
      expect(concurrentReads).toBe(3);
      expect(result).toEqual({ rewrapped: PATIENTS, total: PATIENTS, kekId: '0002' });
      expect(progress).toHaveLength(Math.ceil(PATIENTS / 4));
      expect(progress.map((p) => p.rewrapped)).toEqual([4, 8, 12, 16, 20, 24, 25]);
      expect(await kekCounts()).toEqual([['0002', PATIENTS]]);
      await readAll();
      // Idempotent: nothing left to do.
      expect(await rewrapDataKeys(database.db, f.keys)).toEqual({ rewrapped: 0, total: 0, kekId: '0002' });
      // New keys are wrapped under the new KEK directly.
      await f.dataKeys.keyFor('Patient/new');
      expect(await kekCounts()).toEqual([['0002', PATIENTS + 1]]);
    });

    it('resumes after an interruption and keeps data keys unchanged', async () => {
      const before = await f.dataKeys.keyFor('Patient/p3');
      f.keys.rotate();
      await expect(
        rewrapDataKeys(
          database.db,
          f.keys,
          (p) => {
            if (p.rewrapped >= 10) throw new Error('killed');
          },
          { batchSize: 5 },
        ),
      ).rejects.toThrow('killed');
      expect(await kekCounts()).toEqual([
        ['0001', PATIENTS - 10],
        ['0002', 10],
      ]);
      const again = await rewrapDataKeys(database.db, f.keys, undefined, { batchSize: 5 });
      expect(again.rewrapped).toBe(PATIENTS - 10);
      expect(await kekCounts()).toEqual([['0002', PATIENTS]]);
      const fresh = new DataKeyStore(database.db, f.keys);
      expect((await fresh.keyFor('Patient/p3')).equals(before)).toBe(true);
      // Two rotations in a row: everything ends under 0003.
      f.keys.rotate();
      await rewrapDataKeys(database.db, f.keys);
      expect(await kekCounts()).toEqual([['0003', PATIENTS]]);
    });

    it('does not bring back a key shredded during the rotation', async () => {
      f.keys.rotate();
      await rewrapDataKeys(
        database.db,
        f.keys,
        async (p) => {
          if (p.rewrapped === 2) await f.dataKeys.destroy('Patient/p9');
        },
        { batchSize: 2 },
      );
      const row = await sql<{
        wrapped_key: string | null;
      }>`select wrapped_key from vault_data_keys where owner = 'Patient/p9'`.execute(database.db);
      expect(row.rows[0]!.wrapped_key).toBeNull();
      expect(await kekCounts()).toEqual([
        ['0002', PATIENTS - 1],
        [null, 1],
      ]);
    });
  });
}
