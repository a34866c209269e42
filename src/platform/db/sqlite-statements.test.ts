import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cachingStatements } from './sqlite-statements.js';

function fixture(capacity?: number) {
  const native = new SqliteDatabase(':memory:');
  native.exec('create table t (id integer primary key, v text)');
  let prepared = 0;
  const counting = new Proxy(native, {
    get(target, key) {
      if (key === 'prepare')
        return (sql: string) => {
          prepared++;
          return target.prepare(sql);
        };
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: cachingStatements(counting, capacity), prepared: () => prepared };
}

describe('the SQLite statement cache', () => {
  it('prepares each SQL text once and reuses the statement', () => {
    const { db, prepared } = fixture();
    for (let i = 0; i < 5; i++) db.prepare('insert into t (v) values (?)').run([`v${i}`]);
    expect(db.prepare('select count(*) as n from t').all([])).toEqual([{ n: 5 }]);
    expect(prepared()).toBe(2);
    db.close();
  });

  it('hands out a fresh statement while the cached one is still iterating', () => {
    const { db, prepared } = fixture();
    for (let i = 0; i < 3; i++) db.prepare('insert into t (v) values (?)').run([`v${i}`]);
    const select = 'select v from t order by id';
    const outer = db.prepare(select).iterate([]);
    const first = outer.next().value as { v: string };
    // The cached statement is busy: a nested use of the same SQL must not reuse it.
    expect(db.prepare(select).all([])).toHaveLength(3);
    const rest = [...outer].map((r) => (r as { v: string }).v);
    expect([first.v, ...rest]).toEqual(['v0', 'v1', 'v2']);
    expect(prepared()).toBe(3);
    db.close();
  });

  it('keeps at most its capacity, dropping the least recently used', () => {
    const { db, prepared } = fixture(2);
    db.prepare('select 1').all([]);
    db.prepare('select 2').all([]);
    db.prepare('select 1').all([]); // 1 is now the most recent
    db.prepare('select 3').all([]); // evicts 2
    expect(prepared()).toBe(3);
    db.prepare('select 1').all([]);
    expect(prepared()).toBe(3);
    db.prepare('select 2').all([]);
    expect(prepared()).toBe(4);
    db.close();
  });
});
