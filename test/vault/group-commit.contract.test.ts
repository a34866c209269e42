/**
 * Group commit of read audit entries on every engine: many concurrent reads and searches, mixed
 * with writes, each answer only after its own entry is committed; the chain stays one intact
 * sequence with checkpoints where they belong; a denial in the crowd is audited too.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import type { VaultPrincipal } from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { vaultOn } from './vault-fixture.js';

const doc: VaultPrincipal = { id: 'u-doc', role: 'clinician' };
const admin: VaultPrincipal = { id: 'u-admin', role: 'admin' };

for (const engine of testDatabases()) {
  describe(`group-committed audit on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('every concurrent read is audited before it answers, in one intact chain', async () => {
      const database = await engine.open();
      const v = await vaultOn(database);
      try {
        const ids: string[] = [];
        for (let i = 0; i < 20; i++)
          ids.push((await v.vault.create(doc, { resourceType: 'Patient', gender: 'female' }, 'Patient')).id);
        const entriesFor = async (id: string) =>
          Number(
            (
              await sql<{
                n: number;
              }>`select count(*) as n from vault_audit where action = 'read' and resources like ${`%Patient/${id}/%`}`.execute(
                database.db,
              )
            ).rows[0]!.n,
          );
        const work: Array<Promise<unknown>> = [];
        for (let round = 0; round < 5; round++)
          for (const id of ids)
            work.push(
              v.vault.read(doc, 'Patient', id).then(async (r) => {
                // Durable before the answer: the entry is there when the read resolves.
                expect(await entriesFor(r.id)).toBeGreaterThanOrEqual(1);
              }),
            );
        work.push(v.vault.search(doc, 'Patient', [['gender', 'female']]));
        work.push(v.vault.create(doc, { resourceType: 'Patient', gender: 'male' }, 'Patient'));
        work.push(v.vault.read(admin, 'Patient', ids[0]!).catch((e: unknown) => e));
        const results = await Promise.all(work);
        expect(results.at(-1)).toMatchObject({ code: 'FORBIDDEN' });
        for (const id of ids) expect(await entriesFor(id)).toBe(5);
        const denied = await sql<{
          n: number;
        }>`select count(*) as n from vault_audit where outcome = 'denied'`.execute(database.db);
        expect(Number(denied.rows[0]!.n)).toBe(1);
        const seqs = (
          await sql<{ seq: number }>`select seq from vault_audit order by seq`.execute(database.db)
        ).rows.map((r) => Number(r.seq));
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        const verification = await v.vault.verifyAudit();
        // The fixture checkpoints every 50 entries; group commits must not skip one.
        expect(verification).toEqual({
          ok: true,
          entries: seqs.length,
          checkpoints: Math.floor(seqs.length / 50),
        });
      } finally {
        await v.close();
        await database.close();
      }
    }, 120_000);
  });
}
