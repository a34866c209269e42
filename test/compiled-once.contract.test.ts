/** `compiledOnce`: a query compiled on its first run, then run with new slot values, per engine. */
import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { compiledOnce } from '../src/platform/db/index.js';
import { testDatabases } from './support/databases.js';

type Tables = { pets: { kind: string; name: string; age: number } };

for (const engine of testDatabases()) {
  describe(`compiledOnce on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('answers each run with that run’s values, and refuses a missing one', async () => {
      const database = await engine.open();
      const db = database.db as unknown as Kysely<Tables>;
      try {
        await db.schema
          .createTable('pets')
          .addColumn('kind', 'text')
          .addColumn('name', 'text')
          .addColumn('age', 'integer')
          .execute();
        await db
          .insertInto('pets')
          .values([
            { kind: 'cat', name: 'Tom', age: 3 },
            { kind: 'cat', name: 'Kit', age: 9 },
            { kind: 'dog', name: 'Rex', age: 9 },
          ])
          .execute();
        let builds = 0;
        const byKind = compiledOnce((d: Kysely<Tables>, slot) => {
          builds++;
          return d
            .selectFrom('pets')
            .select('name')
            .where('kind', '=', slot('kind'))
            .where('age', '>', 1) // a constant parameter stays as it is
            .orderBy('name');
        });
        expect((await byKind(db, { kind: 'cat' })).map((r) => r.name)).toEqual(['Kit', 'Tom']);
        expect((await byKind(db, { kind: 'dog' })).map((r) => r.name)).toEqual(['Rex']);
        // Values are parameters, never SQL.
        expect(await byKind(db, { kind: "cat' or '1'='1" })).toEqual([]);
        // In a transaction too.
        await db.transaction().execute(async (trx) => {
          expect((await byKind(trx, { kind: 'cat' })).length).toBe(2);
        });
        expect(builds).toBe(1);
        await expect(byKind(db, {})).rejects.toThrow(/no value for slot kind/);
      } finally {
        await database.close();
      }
    });
  });
}
