/**
 * A server fixture (as test/support/server-fixture.ts) whose vault uses `rolePolicy`, so a
 * clinician can read any patient: the privacy-office tests check what erasure does to reads, not
 * who may read (that is the care policy's suite). Data goes in through `importBatch` as an
 * operator, which asks no policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { buildApp, createServices } from '../../src/server/index.js';
import { createVault, type FhirResource, rolePolicy } from '../../src/vault/index.js';
import type { ServerFixture } from '../support/server-fixture.js';

export const OPERATOR = { id: 'op', role: 'admin' };

export async function privacyServerFixture(): Promise<ServerFixture & { dataDir: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-privacy-'));
  const services = await createServices(validateConfig({ dataDir }), silentLogger());
  services.vault = createVault({
    db: services.database.db,
    keys: services.keys,
    bus: services.bus,
    clock: services.clock,
    logger: services.logger,
    policy: rolePolicy,
  });
  await services.vault.warmUp();
  const sub = await services.activity.attach(services.bus);
  const routes: ServerFixture['routes'] = [];
  const app = await buildApp(services, {
    onRoute: (r) => {
      for (const m of [r.method].flat()) routes.push({ method: m, url: r.url, access: r.access });
    },
  });
  await app.ready();
  return {
    app,
    services,
    routes,
    dataDir,
    async close() {
      await app.close();
      await sub.close();
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const patient = (id: string, family = `Fam${id}`): FhirResource => ({
  resourceType: 'Patient',
  id,
  name: [{ family, given: ['Quinta'] }],
  gender: 'female',
  birthDate: '1970-03-15',
});

export const observation = (id: string, patientId: string): FhirResource => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2026-02-27T10:00:00Z',
});
