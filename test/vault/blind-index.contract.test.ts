/**
 * Blind-index search on every engine: each parameter kind, prefix date tokens, replacement on
 * re-index, unsupported parameters, and hostile values.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/index.js';
import { BlindIndex, type IndexEntry } from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { type VaultFixture, vaultFixture } from './fixture.js';

function patient(
  name: { family: string; given: string[] },
  birthDate: string,
  gender: string,
  mrn: string,
): IndexEntry[] {
  return [
    { param: 'identifier', value: { system: 'urn:oid:1.2.36.146.595.217.0.1', code: mrn } },
    { param: 'family', value: name.family },
    ...name.given.map((g) => ({ param: 'given', value: g })),
    ...[name.family, ...name.given].map((n) => ({ param: 'name', value: n })),
    { param: 'birthdate', value: birthDate },
    { param: 'gender', value: { system: null, code: gender } },
  ];
}

for (const engine of testDatabases()) {
  describe(`vault blind indexes on ${engine.name}`, () => {
    let database: Database;
    let f: VaultFixture;

    beforeEach(async () => {
      database = await engine.open();
      f = await vaultFixture(database);
      await f.index.indexResource(
        { resourceType: 'Patient', id: 'p1' },
        patient({ family: 'van der Berg', given: ['José', 'María'] }, '1970-03-15', 'male', 'MRN-001'),
      );
      await f.index.indexResource(
        { resourceType: 'Patient', id: 'p2' },
        patient({ family: 'Ångström-Müller', given: ['Zoë'] }, '1970-11-02', 'female', 'MRN-002'),
      );
      await f.index.indexResource(
        { resourceType: 'Patient', id: 'p3' },
        patient({ family: 'Berg', given: ['Ann'] }, '1985-03-15T10:20:00+02:00', 'female', 'mrn-001'),
      );
      await f.index.indexResource({ resourceType: 'Encounter', id: 'e1' }, [
        { param: 'patient', value: 'Patient/p1' },
        { param: 'participant', value: 'https://ehr.example.org/fhir/Practitioner/dr7/_history/3' },
        { param: 'date', value: '2026-02-27' },
        { param: 'status', value: { system: 'http://hl7.org/fhir/encounter-status', code: 'in-progress' } },
      ]);
      await f.index.indexResource({ resourceType: 'Observation', id: 'o1' }, [
        { param: 'subject', value: 'Patient/p1' },
        { param: 'code', value: { system: 'http://loinc.org', code: '2339-0' } },
        { param: 'date', value: '2026-02-27T09:00:00Z' },
      ]);
    });
    afterEach(async () => {
      await f.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    const find = (type: string, param: string, value: string) => f.index.findIds(type, param, value);

    it('identifiers: system|value, value in any system, case-exact', async () => {
      expect(await find('Patient', 'identifier', 'urn:oid:1.2.36.146.595.217.0.1|MRN-001')).toEqual(['p1']);
      expect(await find('Patient', 'identifier', 'MRN-001')).toEqual(['p1']);
      expect(await find('Patient', 'identifier', '|MRN-002')).toEqual(['p2']);
      expect(await find('Patient', 'identifier', 'other|MRN-001')).toEqual([]);
      expect(await find('Patient', 'identifier', 'mrn-001')).toEqual(['p3']);
    });

    it('names: folded case and diacritics, each part and the whole family', async () => {
      expect(await find('Patient', 'family', 'VAN DER BERG')).toEqual(['p1']);
      expect(await find('Patient', 'family', '  van   der  berg ')).toEqual(['p1']);
      expect(await find('Patient', 'family', 'berg')).toEqual(['p1', 'p3']);
      expect(await find('Patient', 'family', 'angstrom-muller')).toEqual(['p2']);
      expect(await find('Patient', 'family', 'Ångström-Müller')).toEqual(['p2']);
      expect(await find('Patient', 'given', 'jose')).toEqual(['p1']);
      expect(await find('Patient', 'given', 'ZOE')).toEqual(['p2']);
      expect(await find('Patient', 'name', 'maria')).toEqual(['p1']);
      expect(await find('Patient', 'name', 'ber')).toEqual([]); // no substring match
      // A name part indexed under `given` is not found under `family` (the parameter is in the hash).
      expect(await find('Patient', 'family', 'jose')).toEqual([]);
    });

    it('dates: year, month and day tokens; comparators are refused, not answered wrongly', async () => {
      expect(await find('Patient', 'birthdate', '1970')).toEqual(['p1', 'p2']);
      expect(await find('Patient', 'birthdate', '1970-03')).toEqual(['p1']);
      expect(await find('Patient', 'birthdate', 'eq1970-03-15')).toEqual(['p1']);
      expect(await find('Patient', 'birthdate', '1985-03-15')).toEqual(['p3']);
      expect(await find('Patient', 'birthdate', '1971')).toEqual([]);
      for (const bad of ['ge1970', 'lt2000-01-01', '1970-13', '70', '1970-03-15T10:00']) {
        await expect(find('Patient', 'birthdate', bad)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
    });

    it('tokens and references', async () => {
      expect(await find('Patient', 'gender', 'female')).toEqual(['p2', 'p3']);
      expect(await find('Observation', 'code', 'http://loinc.org|2339-0')).toEqual(['o1']);
      expect(await find('Observation', 'code', '2339-0')).toEqual(['o1']);
      expect(await find('Observation', 'code', 'http://snomed.info/sct|2339-0')).toEqual([]);
      expect(await find('Encounter', 'status', 'in-progress')).toEqual(['e1']);
      expect(await find('Encounter', 'patient', 'Patient/p1')).toEqual(['e1']);
      expect(await find('Encounter', 'patient', 'p1')).toEqual(['e1']);
      expect(await find('Encounter', 'participant', 'Practitioner/dr7')).toEqual(['e1']);
      expect(await find('Observation', 'subject', 'p1')).toEqual(['o1']);
      expect(await find('Observation', 'date', '2026-02')).toEqual(['o1']);
    });

    it('re-indexing replaces a resource’s tokens; removal deletes them', async () => {
      await f.index.indexResource({ resourceType: 'Patient', id: 'p1' }, [
        { param: 'family', value: 'Smith' },
      ]);
      expect(await find('Patient', 'family', 'berg')).toEqual(['p3']);
      expect(await find('Patient', 'family', 'smith')).toEqual(['p1']);
      await f.index.removeResources('Patient', ['p1']);
      expect(await find('Patient', 'family', 'smith')).toEqual([]);
    });

    it('unsupported parameters are refused', async () => {
      await expect(find('Patient', 'address', 'x')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(find('Patient', '__proto__', 'x')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(
        f.index.indexResource({ resourceType: 'Patient', id: 'p9' }, [{ param: 'toString', value: 'x' }]),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('hostile values: SQL metacharacters, long strings, unicode, are only ever hashes', async () => {
      const hostile = [
        "O'Brien'); DROP TABLE vault_search; --",
        '%_\\%',
        '\u0000nul\u0000',
        '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧬 患者 مريض',
        'e\u0301', // decomposed é: folds to "e"
        'x'.repeat(1000),
      ];
      for (const [i, value] of hostile.entries()) {
        await f.index.indexResource({ resourceType: 'Patient', id: `h${i}` }, [
          { param: 'family', value },
          { param: 'identifier', value: { system: 'urn:x', code: value } },
        ]);
      }
      for (const [i, value] of hostile.entries()) {
        expect(await find('Patient', 'identifier', `urn:x|${value}`)).toEqual([`h${i}`]);
      }
      expect(await find('Patient', 'family', "o'brien'); drop table vault_search; --")).toEqual(['h0']);
      // Only punctuation folds to nothing: refused rather than matching everything.
      await expect(find('Patient', 'family', '%')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(await find('Patient', 'identifier', '%')).toEqual([]);
      expect(await find('Patient', 'family', 'é')).toEqual(['h4']);
      await expect(find('Patient', 'family', 'x'.repeat(1025))).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(find('Patient', 'family', '   ')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      // Every stored hash is 22 base64url characters, whatever went in.
      const rows = await sql<{ token_hash: string }>`select token_hash from vault_search`.execute(
        database.db,
      );
      for (const r of rows.rows) expect(r.token_hash).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(await find('Patient', 'family', 'berg')).toEqual(['p1', 'p3']);
    });

    it('hashes depend on the key: another key directory finds nothing', async () => {
      const other = await vaultFixture(database).catch(() => null);
      // Migrations are already applied: the fixture reuses the database with a new key directory.
      expect(other).not.toBeNull();
      const index = new BlindIndex(database.db, other!.keys);
      expect(await index.findIds('Patient', 'family', 'berg')).toEqual([]);
      expect(index.hash('Patient', 'family', 'n:berg')).not.toBe(f.index.hash('Patient', 'family', 'n:berg'));
      await other!.close();
    });
  });
}
