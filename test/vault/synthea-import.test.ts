/**
 * Bulk import of the real Synthea export (../shared/data/fhir-synthea-10): every resource imports,
 * reads back equal (ignoring `meta`), a second run changes nothing, and the audit trail verifies.
 * Skips, saying why, when the data folder is absent (a fresh clone); CI always has it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/index.js';
import { type FhirResource, importNdjson, type VaultPrincipal } from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { vaultOn } from './vault-fixture.js';

const DIR = path.resolve(fileURLToPath(import.meta.url), '../../../../shared/data/fhir-synthea-10');
const present = existsSync(DIR);
if (!present)
  console.warn(
    `synthea import test skipped: ${DIR} is absent (the shared data folder is not beside the project)`,
  );

const clinician: VaultPrincipal = { id: 'u-clinician', role: 'clinician' };
const withoutMeta = ({ meta: _m, ...rest }: FhirResource) => rest;

for (const engine of testDatabases()) {
  describe.skipIf(!present)(`Synthea bulk import on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('imports every resource, reads each back equal, and re-runs idempotently', async () => {
      const database: Database = await engine.open();
      const v = await vaultOn(database);
      try {
        const first = await importNdjson(v.vault, DIR, { batchSize: 250 });
        const files = readdirSync(DIR).filter((f) => f.endsWith('.ndjson'));
        const expected = files.flatMap((f) =>
          readFileSync(path.join(DIR, f), 'utf8')
            .split('\n')
            .filter((l) => l.trim())
            .map((l) => JSON.parse(l) as FhirResource),
        );
        expect(first).toMatchObject({
          files: files.length,
          lines: expected.length,
          created: expected.length,
        });
        for (const r of expected) {
          const got = await v.vault.read(clinician, r.resourceType, r.id!);
          expect(withoutMeta(got.resource)).toEqual(withoutMeta(r));
        }
        const second = await importNdjson(v.vault, DIR, { batchSize: 1000 });
        expect(second).toMatchObject({ created: 0, updated: 0, unchanged: expected.length });
        const patients = expected.filter((r) => r.resourceType === 'Patient');
        const page = await v.vault.search(clinician, 'Encounter', [
          ['patient', patients[0]!.id!],
          ['_count', '1000'],
        ]);
        const direct = expected.filter(
          (r) =>
            r.resourceType === 'Encounter' &&
            (r.subject as { reference: string }).reference === `Patient/${patients[0]!.id}`,
        );
        expect(page.resources.map((x) => x.id).sort()).toEqual(direct.map((x) => x.id).sort());
        expect(await v.vault.verifyAudit()).toMatchObject({ ok: true });
        console.info(
          `synthea on ${engine.name}: ${expected.length} resources in ${files.length} files; ` +
            `first run created ${first.created}, second run unchanged ${second.unchanged}`,
        );
      } finally {
        await v.close();
        await database.close();
      }
    }, 300_000);
  });
}
