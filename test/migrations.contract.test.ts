/**
 * Migrations on every engine: applied once, recorded, idempotent, and an interrupted migration
 * leaves the database at the previous version and usable.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { listAppliedMigrations, type Migration, runMigrations } from '../src/platform/db/index.js';
import { ALL_MIGRATIONS } from '../src/server/index.js';
import { testDatabases } from './support/databases.js';

for (const engine of testDatabases()) {
  describe(`migrations on ${engine.name}`, () => {
    afterAll(() => engine.cleanup());

    it('applies every migration once and records it', async () => {
      const db = await engine.open();
      try {
        const first = await runMigrations(db, ALL_MIGRATIONS);
        expect(first.applied).toEqual(ALL_MIGRATIONS.map((m) => m.id));
        const second = await runMigrations(db, ALL_MIGRATIONS);
        expect(second.applied).toEqual([]);
        expect(second.alreadyApplied).toBe(ALL_MIGRATIONS.length);
        expect((await listAppliedMigrations(db)).map((m) => m.id).sort()).toEqual(
          ALL_MIGRATIONS.map((m) => m.id).sort(),
        );
      } finally {
        await db.close();
      }
    });

    it('rolls back a migration that fails half-way, and applies it on the next run', async () => {
      const db = await engine.open();
      try {
        let fail = true;
        const broken: Migration = {
          id: 'test-0001-two-tables',
          async up(trx) {
            await trx.schema
              .createTable('half_a')
              .addColumn('id', 'text', (c) => c.primaryKey())
              .execute();
            await sql`insert into half_a (id) values ('x')`.execute(trx);
            if (fail) throw new Error('power cut');
            await trx.schema
              .createTable('half_b')
              .addColumn('id', 'text', (c) => c.primaryKey())
              .execute();
          },
        };
        await expect(runMigrations(db, [...ALL_MIGRATIONS, broken])).rejects.toThrow('power cut');
        // The failed migration left nothing: no table, no record; earlier ones stayed applied.
        const applied = (await listAppliedMigrations(db)).map((m) => m.id);
        expect(applied).not.toContain('test-0001-two-tables');
        expect(applied).toContain(ALL_MIGRATIONS[0]!.id);
        await expect(sql`select * from half_a`.execute(db.db)).rejects.toThrow();
        // The database is usable.
        await sql`insert into events (id, time, kind, source, body) values ('e1', '2026-01-01T00:00:00Z', 'a.b', 't', '{}')`.execute(
          db.db,
        );
        fail = false;
        const retry = await runMigrations(db, [...ALL_MIGRATIONS, broken]);
        expect(retry.applied).toEqual(['test-0001-two-tables']);
        const rows = await sql<{ id: string }>`select id from half_a`.execute(db.db);
        expect(rows.rows).toEqual([{ id: 'x' }]);
      } finally {
        await db.close();
      }
    });

    it('refuses a list with duplicate ids', async () => {
      const db = await engine.open();
      try {
        const m: Migration = { id: 'dup', async up() {} };
        await expect(runMigrations(db, [m, m])).rejects.toThrow('Duplicate migration id dup');
      } finally {
        await db.close();
      }
    });
  });
}
