/**
 * Envelope encryption on every engine: resource round trips, ciphertexts bound to their row and
 * version, data keys stored only wrapped, crypto-shredding with legal holds, and no plaintext in any
 * column of any vault table.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/index.js';
import {
  DataKeyDestroyedError,
  DataKeyStore,
  dataKeyAad,
  erasePatient,
  keyOwner,
  SealedResourceStore,
  VAULT_TABLES,
  verifyAudit,
} from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { type VaultFixture, vaultFixture } from './fixture.js';

const MARKER = 'ZEBRA-MARKER-7f3a9c';
const officer = { id: 'u-privacy', role: 'privacy-officer' };

function observation(id: string, patient: string, text: string): string {
  return JSON.stringify({
    resourceType: 'Observation',
    id,
    subject: { reference: `Patient/${patient}` },
    code: { text },
  });
}

for (const engine of testDatabases()) {
  describe(`vault envelope encryption on ${engine.name}`, () => {
    let database: Database;
    let f: VaultFixture;

    beforeEach(async () => {
      database = await engine.open();
      f = await vaultFixture(database);
    });
    afterEach(async () => {
      await f.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    const time = '2026-03-01T08:00:00.000Z';

    it('round-trips resource versions, including empty and large unicode bodies', async () => {
      const bodies = ['', observation('o1', 'p1', 'Blutzucker 5,4 mmol/l — ✓ 患者'), 'x'.repeat(300_000)];
      for (const [i, body] of bodies.entries()) {
        await f.resources.write({
          resourceType: 'Observation',
          id: 'o1',
          versionId: String(i + 1),
          patientId: 'p1',
          lastUpdated: time,
          body,
        });
      }
      for (const [i, body] of bodies.entries()) {
        const got = await f.resources.read({
          resourceType: 'Observation',
          id: 'o1',
          versionId: String(i + 1),
        });
        expect(got?.body.toString('utf8')).toBe(body);
        expect(got?.keyOwner).toBe('Patient/p1');
      }
      expect(await f.resources.read({ resourceType: 'Observation', id: 'nope' })).toBeNull();
      // Resources with no patient use the key of their type.
      await f.resources.write({
        resourceType: 'Organization',
        id: 'org1',
        versionId: '1',
        patientId: null,
        lastUpdated: time,
        body: '{"name":"St Elsewhere"}',
      });
      expect((await f.resources.read({ resourceType: 'Organization', id: 'org1' }))?.keyOwner).toBe(
        'type/Organization',
      );
      // A version is written once.
      await expect(
        f.resources.write({
          resourceType: 'Organization',
          id: 'org1',
          versionId: '1',
          patientId: null,
          lastUpdated: time,
          body: '{}',
        }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
    });

    it('refuses ids that could make the associated data ambiguous', async () => {
      for (const id of ['a|b', '', 'x'.repeat(65), "1' OR 1=1 --", 'ü']) {
        await expect(
          f.resources.write({
            resourceType: 'Observation',
            id,
            versionId: '1',
            patientId: 'p1',
            lastUpdated: time,
            body: '{}',
          }),
        ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
    });

    it('swapping two rows’ ciphertexts (same patient, same key) makes both fail to decrypt', async () => {
      await f.resources.write({
        resourceType: 'Observation',
        id: 'a',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: observation('a', 'p1', 'normal'),
      });
      await f.resources.write({
        resourceType: 'Observation',
        id: 'b',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: observation('b', 'p1', 'HIV positive'),
      });
      const a = await sql<{ body: string }>`select body from vault_resources where id = 'a'`.execute(
        database.db,
      );
      const b = await sql<{ body: string }>`select body from vault_resources where id = 'b'`.execute(
        database.db,
      );
      await sql`update vault_resources set body = ${b.rows[0]!.body} where id = 'a'`.execute(database.db);
      await sql`update vault_resources set body = ${a.rows[0]!.body} where id = 'b'`.execute(database.db);
      await expect(f.resources.read({ resourceType: 'Observation', id: 'a' })).rejects.toThrow(
        /failed authentication/,
      );
      await expect(f.resources.read({ resourceType: 'Observation', id: 'b' })).rejects.toThrow(
        /failed authentication/,
      );
    });

    it('an old version’s ciphertext copied over the current version fails (bound to versionId)', async () => {
      await f.resources.write({
        resourceType: 'Observation',
        id: 'a',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: '{"v":1}',
      });
      await f.resources.write({
        resourceType: 'Observation',
        id: 'a',
        versionId: '2',
        patientId: 'p1',
        lastUpdated: time,
        body: '{"v":2}',
      });
      await sql`update vault_resources set body = (select body from vault_resources where id = 'a' and version_id = '1') where id = 'a' and version_id = '2'`.execute(
        database.db,
      );
      await expect(
        f.resources.read({ resourceType: 'Observation', id: 'a', versionId: '2' }),
      ).rejects.toThrow(/failed authentication/);
      expect(
        (await f.resources.read({ resourceType: 'Observation', id: 'a', versionId: '1' }))?.body.toString(),
      ).toBe('{"v":1}');
    });

    it('a flipped ciphertext byte fails; moving a row to another patient’s key fails', async () => {
      await f.resources.write({
        resourceType: 'Observation',
        id: 'a',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: '{"v":1}',
      });
      await f.resources.write({
        resourceType: 'Observation',
        id: 'z',
        versionId: '1',
        patientId: 'p2',
        lastUpdated: time,
        body: '{}',
      });
      await sql`update vault_resources set key_owner = 'Patient/p2' where id = 'a'`.execute(database.db);
      await expect(f.resources.read({ resourceType: 'Observation', id: 'a' })).rejects.toThrow(
        /failed authentication/,
      );
      await sql`update vault_resources set key_owner = 'Patient/p1' where id = 'a'`.execute(database.db);
      const row = await sql<{ body: string }>`select body from vault_resources where id = 'a'`.execute(
        database.db,
      );
      const raw = Buffer.from(row.rows[0]!.body.slice(3), 'base64url');
      raw[14]! ^= 1;
      await sql`update vault_resources set body = ${`r1.${raw.toString('base64url')}`} where id = 'a'`.execute(
        database.db,
      );
      await expect(f.resources.read({ resourceType: 'Observation', id: 'a' })).rejects.toThrow(
        /failed authentication/,
      );
    });

    it('stores data keys only wrapped by the KeyRing, bound to their owner', async () => {
      const key = await f.dataKeys.keyFor('Patient/p1');
      expect(key).toHaveLength(32);
      const rows = await sql<{
        owner: string;
        wrapped_key: string;
        kek_id: string;
      }>`select owner, wrapped_key, kek_id from vault_data_keys`.execute(database.db);
      expect(rows.rows).toHaveLength(1);
      const wrapped = rows.rows[0]!.wrapped_key;
      expect(wrapped).toMatch(/^v1\.0001\./);
      expect(rows.rows[0]!.kek_id).toBe('0001');
      expect(Buffer.from(wrapped.split('.')[2]!, 'base64url').includes(key)).toBe(false);
      expect(wrapped.includes(key.toString('base64'))).toBe(false);
      expect(wrapped.includes(key.toString('hex'))).toBe(false);
      expect(f.keys.open(wrapped, dataKeyAad('Patient/p1')).equals(key)).toBe(true);
      // Copied to another owner, the wrapped key does not open.
      expect(() => f.keys.open(wrapped, dataKeyAad('Patient/p2'))).toThrow(/failed authentication/);
      // A fresh store (empty cache) unwraps the same key.
      const fresh = new DataKeyStore(database.db, f.keys);
      expect((await fresh.keyFor('Patient/p1')).equals(key)).toBe(true);
      expect((await fresh.existingKey('Patient/p1')).equals(key)).toBe(true);
      await expect(fresh.existingKey('Patient/none')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(keyOwner('Observation', null)).toBe('type/Observation');
      expect(() => keyOwner('Observation', 'a/b')).toThrow();
    });

    it('concurrent first uses of one owner agree on one key; a small cache stays correct', async () => {
      const stores = [new DataKeyStore(database.db, f.keys), new DataKeyStore(database.db, f.keys)];
      const keys = await Promise.all(
        Array.from({ length: 10 }, (_, i) => stores[i % 2]!.keyFor('Patient/race')),
      );
      for (const k of keys) expect(k.equals(keys[0]!)).toBe(true);

      const tiny = new DataKeyStore(database.db, f.keys, { cacheSize: 2 });
      const store = new SealedResourceStore(database.db, tiny);
      for (let i = 0; i < 6; i++)
        await store.write({
          resourceType: 'Observation',
          id: `o${i}`,
          versionId: '1',
          patientId: `p${i}`,
          lastUpdated: time,
          body: `{"i":${i}}`,
        });
      for (let i = 5; i >= 0; i--)
        expect((await store.read({ resourceType: 'Observation', id: `o${i}` }))?.body.toString()).toBe(
          `{"i":${i}}`,
        );
    });

    it('crypto-shredding: after erasure every ciphertext of the patient is unreadable; others are not touched', async () => {
      const deps = {
        db: database.db,
        dataKeys: f.dataKeys,
        index: f.index,
        audit: f.audit,
        patientRef: f.patientRef,
      };
      await f.resources.write({
        resourceType: 'Patient',
        id: 'p1',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: '{"name":"A"}',
      });
      await f.resources.write({
        resourceType: 'Observation',
        id: 'o1',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: '{}',
      });
      await f.resources.write({
        resourceType: 'Observation',
        id: 'o2',
        versionId: '1',
        patientId: 'p2',
        lastUpdated: time,
        body: '{"keep":1}',
      });
      await f.index.indexResource({ resourceType: 'Patient', id: 'p1' }, [
        { param: 'family', value: 'Smith' },
      ]);
      await f.index.indexResource({ resourceType: 'Observation', id: 'o1' }, [
        { param: 'subject', value: 'Patient/p1' },
      ]);
      await f.index.indexResource({ resourceType: 'Observation', id: 'o2' }, [
        { param: 'subject', value: 'Patient/p2' },
      ]);
      const bodyBefore = (
        await sql<{ body: string }>`select body from vault_resources where id = 'o1'`.execute(database.db)
      ).rows[0]!.body;

      const result = await erasePatient(deps, 'p1', officer);
      expect(result).toEqual({ versions: 2, keyDestroyed: true });
      // A fresh process (no cache) and this one both fail, with the erased error.
      for (const store of [
        f.resources,
        new SealedResourceStore(database.db, new DataKeyStore(database.db, f.keys)),
      ]) {
        await expect(store.read({ resourceType: 'Observation', id: 'o1' })).rejects.toBeInstanceOf(
          DataKeyDestroyedError,
        );
        await expect(store.read({ resourceType: 'Patient', id: 'p1' })).rejects.toBeInstanceOf(
          DataKeyDestroyedError,
        );
      }
      // The ciphertext itself is still there (as in any backup) but nothing can open it.
      const keyRow = await sql<{
        wrapped_key: string | null;
        destroyed_at: string | null;
      }>`select wrapped_key, destroyed_at from vault_data_keys where owner = 'Patient/p1'`.execute(
        database.db,
      );
      expect(keyRow.rows[0]).toMatchObject({ wrapped_key: null });
      expect(keyRow.rows[0]!.destroyed_at).not.toBeNull();
      expect(
        (await sql<{ body: string }>`select body from vault_resources where id = 'o1'`.execute(database.db))
          .rows[0]!.body,
      ).toBe(bodyBefore);
      // No new key is ever created for the erased patient.
      await expect(f.dataKeys.keyFor('Patient/p1')).rejects.toBeInstanceOf(DataKeyDestroyedError);
      await expect(
        f.resources.write({
          resourceType: 'Observation',
          id: 'o9',
          versionId: '1',
          patientId: 'p1',
          lastUpdated: time,
          body: '{}',
        }),
      ).rejects.toBeInstanceOf(DataKeyDestroyedError);
      // Index rows are gone; the other patient is untouched.
      expect(await f.index.findIds('Patient', 'family', 'smith')).toEqual([]);
      expect(await f.index.findIds('Observation', 'subject', 'Patient/p1')).toEqual([]);
      expect(await f.index.findIds('Observation', 'subject', 'Patient/p2')).toEqual(['o2']);
      expect((await f.resources.read({ resourceType: 'Observation', id: 'o2' }))?.body.toString()).toBe(
        '{"keep":1}',
      );
      // Erasing again is harmless; the audit trail records both, pseudonymously.
      expect((await erasePatient(deps, 'p1', officer)).keyDestroyed).toBe(false);
      const audit = await sql<{
        action: string;
        patient_ref: string;
        outcome: string;
      }>`select action, patient_ref, outcome from vault_audit order by seq`.execute(database.db);
      expect(audit.rows.map((r) => [r.action, r.outcome])).toEqual([
        ['erase', 'success'],
        ['erase', 'success'],
      ]);
      expect(audit.rows[0]!.patient_ref).toBe(f.patientRef('p1'));
      expect(audit.rows[0]!.patient_ref).not.toContain('p1');
      expect(await verifyAudit(database.db, f.signer.publicKey)).toMatchObject({ ok: true, entries: 2 });
    });

    it('a legal hold refuses erasure with its reason, changes nothing and is audited', async () => {
      await f.resources.write({
        resourceType: 'Observation',
        id: 'o1',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: '{"x":1}',
      });
      const deps = {
        db: database.db,
        dataKeys: f.dataKeys,
        index: f.index,
        audit: f.audit,
        patientRef: f.patientRef,
        legalHold: async (id: string) => (id === 'p1' ? 'litigation 2026-17' : null),
      };
      const err = await erasePatient(deps, 'p1', officer).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CONFLICT', details: { legalHold: 'litigation 2026-17' } });
      expect((err as Error).message).toContain('litigation 2026-17');
      expect((await f.resources.read({ resourceType: 'Observation', id: 'o1' }))?.body.toString()).toBe(
        '{"x":1}',
      );
      const audit = await sql<{
        action: string;
        outcome: string;
      }>`select action, outcome from vault_audit`.execute(database.db);
      expect(audit.rows).toEqual([{ action: 'erase', outcome: 'denied' }]);
      // Another patient is not held.
      expect((await erasePatient(deps, 'p2', officer)).keyDestroyed).toBe(true);
    });

    it('no plaintext in any column of any vault table', async () => {
      const patient = JSON.stringify({
        resourceType: 'Patient',
        id: 'p1',
        identifier: [{ system: 'urn:mrn', value: `${MARKER}-MRN` }],
        name: [{ family: MARKER, given: [`${MARKER}given`] }],
        birthDate: '1970-03-15',
      });
      await f.resources.write({
        resourceType: 'Patient',
        id: 'p1',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: patient,
      });
      await f.resources.write({
        resourceType: 'Observation',
        id: 'o1',
        versionId: '1',
        patientId: 'p1',
        lastUpdated: time,
        body: observation('o1', 'p1', MARKER),
      });
      await f.index.indexResource({ resourceType: 'Patient', id: 'p1' }, [
        { param: 'identifier', value: { system: 'urn:mrn', code: `${MARKER}-MRN` } },
        { param: 'family', value: MARKER },
        { param: 'given', value: `${MARKER}given` },
        { param: 'name', value: `${MARKER}given ${MARKER}` },
      ]);
      await f.index.indexResource({ resourceType: 'Observation', id: 'o1' }, [
        { param: 'code', value: { system: 'urn:x', code: MARKER } },
      ]);
      await f.audit.append({
        actor: { id: 'u1', role: 'clinician' },
        action: 'search',
        resources: ['Patient/p1'],
        patientRef: f.patientRef('p1'),
        outcome: 'success',
        searchResultIds: ['p1'],
      });
      await f.audit.checkpoint();
      expect(await f.index.findIds('Patient', 'family', MARKER.toLowerCase())).toEqual(['p1']);

      const needles = [
        MARKER,
        MARKER.toLowerCase(),
        Buffer.from(MARKER).toString('base64'),
        Buffer.from(MARKER).toString('hex'),
      ];
      let cells = 0;
      for (const table of VAULT_TABLES) {
        const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
          database.db,
        );
        for (const row of rows.rows) {
          for (const value of Object.values(row)) {
            const text = String(value);
            cells++;
            for (const needle of needles)
              expect(text.toLowerCase(), `${table}`).not.toContain(needle.toLowerCase());
          }
        }
      }
      expect(cells).toBeGreaterThan(30);
    });
  });
}
