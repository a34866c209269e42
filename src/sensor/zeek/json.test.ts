/**
 * The JSON reader's fast path (the parsed object kept as the record) against its general path
 * (a record built field by field): the same outcome for every line, in values and in key order
 * (the event id is a digest of the record's JSON).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../core/index.js';
import { generalJsonLine, parseZeekJsonLine } from './json.js';

const DATA = path.resolve(import.meta.dirname, '../../../../shared/data/zeek/json');

function expectSame(line: string): void {
  const fast = parseZeekJsonLine(line, 'fallback');
  const general = generalJsonLine(line, 'fallback');
  expect(fast).toEqual(general);
  if (fast.kind === 'record' && general.kind === 'record')
    expect(JSON.stringify(fast.record)).toBe(JSON.stringify(general.record));
}

const zeekLine =
  '{"_path":"dns","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"rtt":0.0008699893951416016,"query":"ise.wrccdc.org","AA":false,"answers":["ise.wrccdc.cpp.edu","134.71.3.16"],"TTLs":[2230.0,41830.5000004]}';

describe('Zeek JSON: fast path', () => {
  it('keeps the parsed object as the record, normalised like the general path', () => {
    const r = parseZeekJsonLine(zeekLine, 'x');
    expect(r).toEqual({
      kind: 'record',
      path: 'dns',
      record: {
        ts: '2018-03-24T17:15:20.865716Z',
        uid: 'CqKst53mF3det3eDV9',
        'id.orig_h': '10.47.1.100',
        'id.orig_p': 41772,
        rtt: 0.00087,
        query: 'ise.wrccdc.org',
        AA: false,
        answers: ['ise.wrccdc.cpp.edu', '134.71.3.16'],
        TTLs: [2230, 41830.5],
      },
    });
    expectSame(zeekLine);
  });

  it('gives what the general path gives for lines it must not take as they come', () => {
    const cases = [
      '{"_path":"dns"}',
      '{"_path":"dns","_write_ts":"x"}',
      '{"_path":"d\\"ns","a":1}',
      '{"_path":"d\\u006es","a":1}',
      '{"_path":"dns","a":1,"_path":"conn"}',
      '{"_path":"dns","_write_ts":"2018-03-24T17:15:20Z","_write_ts":1,"a":1}',
      '{"_path":"dns","__proto__":{"polluted":1},"a":1}',
      '{"_path":"dns","__proto__":[1.5,"x"],"a":1}',
      '{"_path":"dns","constructor":1.25,"a":1}',
      '{"_path":"dns","a":null,"b":2}',
      '{"_path":"dns","a":{"nested":1}}',
      '{"_path":"dns","a":1e999}',
      '{"_path":"dns","a":[1e999]}',
      '{"_path":"dns","a":["", "x", "2018-03-24T17:15:20Z", [1.0000004]]}',
      '{"_path":"dns","ts":1521911720.8657161,"x_ts":2.385616957e+30,"t":"2018-03-24T17:15:20.1Z"}',
      '{"_path":"dns","t":"2018-03-24T17:15:20.1234567891Z"}',
      '{"_path":"dns","certificate.not_valid_before":1521911720}',
      '{"_path":"dns","a":1',
      '{"_path":"dns",}',
      '{"_path":"dns","a":1} trailing',
      ' {"_path":"dns","a":1}',
      '{"_path":"ünïcode","a":1}',
      '[1,2]',
      '',
    ];
    for (const line of cases) expectSame(line);
    // Nothing reached Object.prototype on the way.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('matches the general path on mutated Zeek lines (seeded)', () => {
    const rng = seededRng(42);
    const values = [
      'null',
      '1.0000004',
      '1e999',
      '-0',
      '""',
      '"2018-03-24T17:15:20Z"',
      '[]',
      '[""]',
      '{}',
      'true',
      '"a\\u0000b"',
      '1521911720.5',
    ];
    const keys = ['"_path"', '"_write_ts"', '"__proto__"', '"ts"', '"x_ts"', '"rtt"', '"constructor"', '"q"'];
    for (let i = 0; i < 2000; i++) {
      let line = zeekLine;
      for (let k = 1 + rng.int(3); k > 0; k--) {
        const at = line.lastIndexOf(',', rng.int(line.length));
        if (at <= 0) continue;
        line = `${line.slice(0, at)},${rng.pick(keys)}:${rng.pick(values)}${line.slice(at)}`;
      }
      if (rng.next() < 0.1) line = line.slice(0, rng.int(line.length));
      expectSame(line);
    }
  });

  const real = existsSync(DATA);
  it.skipIf(!real)(
    `matches the general path on every line of the real Zeek JSON logs${real ? '' : ' (skipped: ../shared/data/zeek is not beside this clone)'}`,
    { timeout: 120_000 },
    () => {
      let lines = 0;
      for (const file of readdirSync(DATA).filter((f) => f.endsWith('.gz'))) {
        for (const line of gunzipSync(readFileSync(path.join(DATA, file)))
          .toString('utf8')
          .split('\n')) {
          if (line === '') continue;
          const fast = parseZeekJsonLine(line, 'x');
          const general = generalJsonLine(line, 'x');
          // toEqual on every line of 100,000s is slow; the JSON text decides equality here.
          if (JSON.stringify(fast) !== JSON.stringify(general)) expect(fast).toEqual(general);
          lines++;
        }
      }
      expect(lines).toBeGreaterThan(100_000);
    },
  );
});
