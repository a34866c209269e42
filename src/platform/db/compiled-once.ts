/**
 * @module platform/db/compiled-once
 * A hot query built and compiled once, then run with new parameter values: Kysely builds and
 * compiles a query on every call, which on a read by id costs more than SQLite's own work. The
 * query is built with named slots (sentinel strings), compiled on its first run against the
 * caller's database (so each engine gets its own SQL: one `compiledOnce` per database, e.g. per
 * repository instance), and each later run swaps the slots for the values. Only fixed-shape
 * queries fit: a slot is one parameter (no `in` lists of varying length).
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';

const SLOT = '\u0000vigil-slot:';

export type SlotValues = Record<string, unknown>;

export function compiledOnce<Row, DB>(
  build: (db: Kysely<DB>, slot: (name: string) => string) => Compilable<Row>,
): (db: Kysely<DB>, values: SlotValues) => Promise<Row[]> {
  let compiled: CompiledQuery<Row> | null = null;
  return async (db, values) => {
    compiled ??= build(db, (name) => `${SLOT}${name}`).compile();
    const parameters = compiled.parameters.map((p) => {
      if (typeof p !== 'string' || !p.startsWith(SLOT)) return p;
      const name = p.slice(SLOT.length);
      if (!Object.hasOwn(values, name)) throw new Error(`compiledOnce: no value for slot ${name}`);
      return values[name];
    });
    const result = await db.executeQuery<Row>({ ...compiled, parameters });
    return result.rows;
  };
}
