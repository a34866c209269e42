/**
 * The FHIR repository on every engine: versions past 9 stay ordered, If-Match conflicts, a failing
 * transaction Bundle leaves no data and no audit entries, search paging visits every match once,
 * denials are audited, events carry no ids, no plaintext reaches any column, and the chain verifies.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import type { Database } from '../../src/platform/db/index.js';
import { VAULT_TABLES, type VaultPrincipal } from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { type VaultOnDb, vaultOn } from './vault-fixture.js';

const doc: VaultPrincipal = { id: 'u-doc', role: 'clinician' };
const admin: VaultPrincipal = { id: 'u-admin', role: 'admin' };
const SECRET_NAME = 'Wolfeschlegel';

const count = async (database: Database, table: string) =>
  Number(
    (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(database.db)).rows[0]!.n,
  );

for (const engine of testDatabases()) {
  describe(`FHIR repository on ${engine.name}`, () => {
    let database: Database;
    let v: VaultOnDb;
    const events: VigilEvent[] = [];

    beforeEach(async () => {
      database = await engine.open();
      v = await vaultOn(database);
      events.length = 0;
      await v.bus.subscribe({
        group: 'test',
        subjects: ['vigil.vault.>'],
        handler: async (e) => void events.push(...e),
      });
    });
    afterEach(async () => {
      await v.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    it('keeps versions ordered past 9 and checks If-Match', async () => {
      const p = await v.vault.create(doc, { resourceType: 'Patient', name: [{ family: SECRET_NAME }] });
      let current = p.resource;
      for (let i = 2; i <= 11; i++) {
        const r = await v.vault.update(
          doc,
          'Patient',
          p.id,
          { ...current, gender: i % 2 ? 'male' : 'female' },
          `W/"${i - 1}"`,
        );
        current = r.version.resource;
      }
      expect((await v.vault.read(doc, 'Patient', p.id)).versionId).toBe(11);
      await expect(v.vault.update(doc, 'Patient', p.id, current, 'W/"3"')).rejects.toMatchObject({
        code: 'CONFLICT',
        details: { fhirStatus: 412 },
      });
      expect(await v.vault.search(doc, 'Patient', [['family', SECRET_NAME]])).toMatchObject({
        resources: [{ id: p.id, versionId: 11 }],
      });
    });

    it('rolls a failing transaction back entirely: no data, no audit entries', async () => {
      const before = [await count(database, 'vault_resources'), await count(database, 'vault_audit')];
      await expect(
        v.vault.bundle(
          doc,
          {
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [
              {
                fullUrl: 'urn:uuid:a',
                resource: { resourceType: 'Patient' },
                request: { method: 'POST', url: 'Patient' },
              },
              { request: { method: 'GET', url: 'Patient/missing' } },
            ],
          },
          'http://x/fhir',
        ),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect([await count(database, 'vault_resources'), await count(database, 'vault_audit')]).toEqual(
        before,
      );
      expect(await count(database, 'vault_search')).toBe(0);
    });

    it('pages a search through every match exactly once and audits the ids', async () => {
      const p = await v.vault.create(doc, { resourceType: 'Patient' });
      for (let i = 0; i < 25; i++)
        await v.vault.create(doc, {
          resourceType: 'Condition',
          subject: { reference: `Patient/${p.id}` },
          code: { coding: [{ system: 'http://snomed.info/sct', code: String(1000 + (i % 2)) }] },
          recordedDate: `2020-01-${String(1 + i).padStart(2, '0')}`,
        });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const params: Array<[string, string]> = [
          ['patient', `Patient/${p.id}`],
          ['_count', '7'],
        ];
        if (cursor) params.push(['_cursor', cursor]);
        const page = await v.vault.search(doc, 'Condition', params);
        seen.push(...page.resources.map((r) => r.id));
        cursor = page.next;
      } while (cursor);
      expect(new Set(seen).size).toBe(25);
      const odd = await v.vault.search(doc, 'Condition', [
        ['code', 'http://snomed.info/sct|1001'],
        ['_count', '100'],
      ]);
      expect(odd.resources).toHaveLength(12);
      const ranged = await v.vault.search(doc, 'Condition', [
        ['date', 'gt2020-01-20'],
        ['_sort', '-date'],
      ]);
      expect(ranged.resources.map((r) => r.resource.recordedDate)).toEqual([
        '2020-01-25',
        '2020-01-24',
        '2020-01-23',
        '2020-01-22',
        '2020-01-21',
      ]);
      await expect(v.vault.search(doc, 'Condition', [['onset-date', '2020']])).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        details: { parameter: 'onset-date' },
      });
    });

    it('audits denials, publishes events without ids or names, stores no plaintext, and verifies', async () => {
      const p = await v.vault.create(doc, {
        resourceType: 'Patient',
        name: [{ family: SECRET_NAME, given: ['Hubert'] }],
        birthDate: '1901-02-03',
      });
      await expect(v.vault.read(admin, 'Patient', p.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      const denied = await sql<{ outcome: string; actor_id: string }>`
        select outcome, actor_id from vault_audit order by seq desc limit 1`.execute(database.db);
      expect(denied.rows[0]).toEqual({ outcome: 'denied', actor_id: 'u-admin' });
      await new Promise((r) => setTimeout(r, 50));
      expect(events.map((e) => e.kind)).toEqual(['vault.resource.created', 'vault.access.denied']);
      const eventText = JSON.stringify(events);
      for (const n of [p.id, SECRET_NAME, 'Hubert']) expect(eventText).not.toContain(n);
      for (const table of VAULT_TABLES) {
        const text = JSON.stringify((await sql`select * from ${sql.table(table)}`.execute(database.db)).rows);
        for (const n of [SECRET_NAME, 'Hubert', '1901-02-03', SECRET_NAME.toLowerCase()])
          expect(text).not.toContain(n);
      }
      expect(await v.vault.verifyAudit()).toMatchObject({ ok: true });
    });
  });
}
