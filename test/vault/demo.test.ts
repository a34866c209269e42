/**
 * The demo hospital's patient records: every demo clinician is linked to a Practitioner and finds
 * exactly the patients of their own Encounters; the records validate and the audit chain holds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/index.js';
import { vaultDemoSeed } from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { vaultOn } from './vault-fixture.js';

const [sqlite] = testDatabases();

describe('vault demo seed', () => {
  afterAll(() => sqlite!.cleanup());

  it('gives each demo clinician their own patients in care', async () => {
    const database = await sqlite!.open();
    const v = await vaultOn(database, { policy: 'care' });
    try {
      const clinicians = [
        { userId: 'u-a', name: 'Dr A' },
        { userId: 'u-b', name: 'Dr B' },
      ];
      const summary = await vaultDemoSeed(v.vault, clinicians, seededRng(7), () => {}, v.clock.now());
      expect(summary).toMatch(/24 synthetic patients, 2 clinicians/);
      const a = await v.vault.search({ id: 'u-a', role: 'clinician' }, 'Patient', []);
      const b = await v.vault.search({ id: 'u-b', role: 'clinician' }, 'Patient', []);
      expect(a.resources.map((r) => r.id)).toEqual([
        'demo-patient-01',
        'demo-patient-02',
        'demo-patient-03',
        'demo-patient-04',
      ]);
      expect(b.resources.map((r) => r.id)).toEqual([
        'demo-patient-04',
        'demo-patient-05',
        'demo-patient-06',
        'demo-patient-07',
      ]);
      await expect(
        v.vault.read({ id: 'u-a', role: 'clinician' }, 'Patient', 'demo-patient-07'),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect((await v.vault.verifyAudit()).ok).toBe(true);
    } finally {
      await v.close();
      await database.close();
    }
  }, 120_000);
});
