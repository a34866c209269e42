/**
 * @module platform/db/insert-rows
 * A hot multi-row insert with its SQL built once per row count. Kysely parses every row's values
 * and compiles the whole statement on each call, which for a bulk insert of hundreds of rows costs
 * more than the database's own work. Here the one-row statement (with its `on conflict` clause, if
 * any) is built and compiled once per database, on the first run against the caller's database,
 * with a named slot per column; an insert of N rows repeats its `values` tuple N times (numbering
 * the placeholders on engines that number them) and passes the values row after row. So the SQL
 * is the engine's own compiled text, only longer. One inserter per database, e.g. per repository
 * instance (as with `compiledOnce`).
 */
import { type Compilable, CompiledQuery, type Kysely } from 'kysely';

const SLOT = '\u0000vigil-row-slot:';
/** Row counts whose SQL is kept (a bulk writer uses a few: its chunk size and the remainders). */
const SQL_CACHE = 64;

interface Template {
  query: CompiledQuery<unknown>;
  head: string;
  tail: string;
  /** The tuple's placeholders as text between them: `(`, `, `, …, `)`. */
  separators: string[];
  /** The column of each placeholder, in order. */
  columns: string[];
  numbered: boolean;
}

function templateOf(query: CompiledQuery<unknown>): Template {
  const columns = query.parameters.map((p) => {
    if (typeof p !== 'string' || !p.startsWith(SLOT))
      throw new Error('rowInserter: every parameter of the one-row insert must be a column slot');
    return p.slice(SLOT.length);
  });
  const m = / values (\((?:\?|\$\d+)(?:, (?:\?|\$\d+))*\))/.exec(query.sql);
  if (!m || m[1]!.match(/\?|\$\d+/g)!.length !== columns.length)
    throw new Error('rowInserter: the statement must be a one-row insert with one placeholder per column');
  const tuple = m[1]!;
  const numbered = tuple.includes('$');
  if (numbered && query.sql.slice(0, m.index).includes('$'))
    throw new Error('rowInserter: placeholders before the values tuple are not supported');
  return {
    query,
    head: query.sql.slice(0, m.index + ' values '.length),
    tail: query.sql.slice(m.index + m[0].length),
    separators: tuple.split(/\?|\$\d+/),
    columns,
    numbered,
  };
}

function sqlFor(t: Template, rows: number): string {
  const width = t.columns.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    let s = t.separators[0]!;
    for (let c = 0; c < width; c++) s += (t.numbered ? `$${r * width + c + 1}` : '?') + t.separators[c + 1]!;
    tuples.push(s);
  }
  return t.head + tuples.join(', ') + t.tail;
}

/** One statement, built: the engine's SQL and its values (strings, numbers, null). */
export interface WriteStatement {
  sql: string;
  parameters: readonly unknown[];
}

/** A multi-row insert: the function runs it; `statement` only builds it (to run in a batch). */
export interface RowInserter<DB, Row> {
  (db: Kysely<DB>, rows: readonly Row[]): Promise<number>;
  statement(db: Kysely<DB>, rows: readonly Row[]): WriteStatement;
}

/** Runs built statements in one transaction of `db` (all or nothing). */
export function writeInTransaction<DB>(db: Kysely<DB>, statements: readonly WriteStatement[]): Promise<void> {
  return db.transaction().execute(async (trx) => {
    for (const s of statements) await trx.executeQuery(CompiledQuery.raw(s.sql, [...s.parameters]));
  });
}

/**
 * An inserter of many rows at once. `build` makes the one-row insert from a row of slots (pass it
 * to `.values(...)`, add `.onConflict(...)` if wanted); the returned function inserts `rows` (each
 * with every column the template names) in one statement and answers the number of rows the
 * engine reports inserted. Keep `rows.length` under the engine's parameter limit (SQLite 32,766,
 * PostgreSQL 65,535 parameters).
 */
export function rowInserter<DB, Row extends Record<string, unknown>>(
  build: (db: Kysely<DB>, row: Row) => Compilable<unknown>,
  columns: ReadonlyArray<keyof Row & string>,
): RowInserter<DB, Row> {
  let template: Template | null = null;
  const cache = new Map<number, string>();
  const statement = (db: Kysely<DB>, rows: readonly Row[]) => {
    if (rows.length === 0) throw new Error('rowInserter: a statement needs at least one row');
    if (!template) {
      const slots = Object.fromEntries(columns.map((c) => [c, `${SLOT}${c}`])) as Row;
      template = templateOf(build(db, slots).compile());
    }
    const t = template;
    let sql = cache.get(rows.length);
    if (sql === undefined) {
      sql = sqlFor(t, rows.length);
      if (cache.size >= SQL_CACHE) cache.delete(cache.keys().next().value as number);
      cache.set(rows.length, sql);
    }
    const parameters: unknown[] = new Array(rows.length * t.columns.length);
    let i = 0;
    for (const row of rows)
      for (const c of t.columns) {
        const v = row[c];
        if (v === undefined) throw new Error(`rowInserter: no value for column ${c}`);
        parameters[i++] = v;
      }
    return { query: t.query, sql, parameters };
  };
  const insert = async (db: Kysely<DB>, rows: readonly Row[]) => {
    if (rows.length === 0) return 0;
    const { query, sql, parameters } = statement(db, rows);
    const result = await db.executeQuery({ ...query, sql, parameters });
    return Number(result.numAffectedRows ?? 0n);
  };
  return Object.assign(insert, { statement });
}
