/**
 * @module platform/db/compiled-once
 * A hot query built and compiled once, then run with new parameter values: Kysely builds and
 * compiles a query on every call, which on a read by id costs more than SQLite's own work. The
 * query is built with named slots (sentinel strings), compiled on its first run against the
 * caller's database (so each engine gets its own SQL: one `compiledOnce` per database, e.g. per
 * repository instance), and each later run swaps the slots for the values. Only fixed-shape
 * queries fit: a slot is one parameter (no `in` lists of varying length).
 */
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';

const SLOT = '\u0000vigil-slot:';

export type SlotValues = Record<string, unknown>;

/** A compiled-once query: call it for the rows; `result` also gives the affected-row count. */
export interface CompiledOnce<Row, DB> {
  (db: Kysely<DB>, values: SlotValues): Promise<Row[]>;
  /** The whole result (rows and `numAffectedRows`, for updates and deletes). */
  result(db: Kysely<DB>, values: SlotValues): Promise<QueryResult<Row>>;
}

export function compiledOnce<Row, DB>(
  build: (db: Kysely<DB>, slot: (name: string) => string) => Compilable<Row>,
): CompiledOnce<Row, DB> {
  let compiled: CompiledQuery<Row> | null = null;
  const result = (db: Kysely<DB>, values: SlotValues): Promise<QueryResult<Row>> => {
    compiled ??= build(db, (name) => `${SLOT}${name}`).compile();
    const parameters = compiled.parameters.map((p) => {
      if (typeof p !== 'string' || !p.startsWith(SLOT)) return p;
      const name = p.slice(SLOT.length);
      if (!Object.hasOwn(values, name)) throw new Error(`compiledOnce: no value for slot ${name}`);
      return values[name];
    });
    return db.executeQuery<Row>({ ...compiled, parameters });
  };
  const run = async (db: Kysely<DB>, values: SlotValues) => (await result(db, values)).rows;
  return Object.assign(run, { result });
}
