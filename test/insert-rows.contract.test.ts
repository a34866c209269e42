/** `rowInserter`: a multi-row insert whose SQL is built once per row count, per engine. */
import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { rowInserter } from '../src/platform/db/index.js';
import { testDatabases } from './support/databases.js';

type Pet = { kind: string; name: string; age: number };
type Tables = { pets: Pet };

for (const engine of testDatabases()) {
  describe(`rowInserter on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('inserts any number of rows with their values, honours on conflict, and refuses a missing value', async () => {
      const database = await engine.open();
      const db = database.db as unknown as Kysely<Tables>;
      try {
        await db.schema
          .createTable('pets')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('age', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('pets_pk', ['kind', 'name'])
          .execute();
        let builds = 0;
        const insert = rowInserter(
          (d: Kysely<Tables>, row: Pet) => {
            builds++;
            return d
              .insertInto('pets')
              .values(row)
              .onConflict((oc) => oc.columns(['kind', 'name']).doNothing());
          },
          ['kind', 'name', 'age'],
        );
        const pets = Array.from({ length: 25 }, (_, i) => ({
          kind: i % 2 ? 'cat' : 'dog',
          name: `p${i}`,
          age: i,
        }));
        expect(await insert(db, pets.slice(0, 1))).toBe(1);
        expect(await insert(db, pets.slice(1, 13))).toBe(12);
        await db.transaction().execute(async (trx) => {
          expect(await insert(trx, pets.slice(13))).toBe(12);
        });
        // A duplicate is skipped by the conflict clause; values are parameters, never SQL.
        expect(await insert(db, [pets[0]!, { kind: "x') --", name: "y'", age: 1 }])).toBe(1);
        expect(await insert(db, [])).toBe(0);
        const rows = await db.selectFrom('pets').selectAll().orderBy('age').orderBy('kind').execute();
        expect(rows.length).toBe(26);
        expect(rows.filter((r) => r.kind !== "x') --")).toEqual(pets.map((p) => ({ ...p })));
        expect(builds).toBe(1);
        await expect(insert(db, [{ kind: 'cat', name: 'n' } as Pet])).rejects.toThrow(
          /no value for column age/,
        );
      } finally {
        await database.close();
      }
    });
  });
}
