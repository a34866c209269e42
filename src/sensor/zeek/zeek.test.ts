import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seededRng, type VigilEvent } from '../../core/index.js';
import { parseZeekJsonLine } from './json.js';
import { newZeekStats, readZeekBatches } from './read.js';
import { ZeekTsvParser } from './tsv.js';
import { epochToIso, unescapeTsv } from './values.js';

const HEADER = [
  '#separator \\x09',
  '#set_separator\t,',
  '#empty_field\t(empty)',
  '#unset_field\t-',
  '#path\tconn',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\tservice\tlocal_orig\ttags',
  '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tstring\tbool\tset[string]',
];

async function read(text: string | Buffer, log = 'conn') {
  const stats = newZeekStats();
  const events: VigilEvent[] = [];
  for await (const b of readZeekBatches(Readable.from([Buffer.from(text)]), log, stats)) events.push(...b);
  return { events, stats };
}

describe('Zeek values', () => {
  it('converts epoch times, exponent forms and escapes', () => {
    expect(epochToIso('1521911720.865716')).toBe('2018-03-24T17:15:20.865716Z');
    expect(epochToIso('1521911720')).toBe('2018-03-24T17:15:20.000000Z');
    expect(epochToIso('2.385616957e+09')).toBe('2045-08-06T07:22:37.000000Z');
    expect(epochToIso('yesterday')).toBeUndefined();
    // Beyond a Date's range: no time (this once recursed without end: toFixed keeps the exponent).
    expect(epochToIso('2.385616957e+30')).toBeUndefined();
    expect(parseZeekJsonLine('{"_path":"conn","ts":2.5e+30}', 'conn')).toEqual({
      kind: 'skip',
      reason: 'bad-value',
    });
    expect(unescapeTsv('a\\x09b\\\\c')).toBe('a\tb\\c');
  });
});

describe('Zeek TSV and JSON', () => {
  const tsvLine = '1521911720.600843\tC1\t10.1.1.5\t49562\t10.1.1.9\t104\ttcp\t1.5\tdicom\tT\tA\\x2cB,C';
  const jsonLine =
    '{"_path":"conn","ts":"2018-03-24T17:15:20.600843Z","uid":"C1","id.orig_h":"10.1.1.5","id.orig_p":49562,"id.resp_h":"10.1.1.9","id.resp_p":104,"proto":"tcp","duration":1.5000001,"service":"dicom","local_orig":true,"tags":["A,B","C"]}';

  it('yields the same event from both formats', async () => {
    const t = await read(`${HEADER.join('\n')}\n${tsvLine}\n`);
    const j = await read(`${jsonLine}\n`);
    expect(t.events).toHaveLength(1);
    expect(t.events).toEqual(j.events);
    expect(t.events[0]).toMatchObject({
      kind: 'zeek.conn',
      source: 'zeek',
      time: '2018-03-24T17:15:20.600Z',
      net: { srcIp: '10.1.1.5', srcPort: 49562, dstIp: '10.1.1.9', dstPort: 104, proto: 'tcp' },
      data: { tags: ['A,B', 'C'], local_orig: true, duration: 1.5 },
    });
    expect(t.stats.format).toBe('tsv');
    expect(j.stats.format).toBe('json');
  });

  it('reads gzip and CRLF line ends', async () => {
    const t = await read(gzipSync(Buffer.from(`${HEADER.join('\r\n')}\r\n${tsvLine}\r\n`)));
    expect(t.events).toHaveLength(1);
    expect(t.events[0]!.data?.tags).toEqual(['A,B', 'C']);
  });

  it('skips and counts bad lines, and keeps reading', async () => {
    const lines = [
      ...HEADER,
      tsvLine,
      'only\tthree\tcells',
      tsvLine.replace('1521911720.600843', 'not-a-time'),
      tsvLine.replace('\tT\t', '\tmaybe\t'),
      tsvLine.replace('49562', 'port'),
      tsvLine,
    ];
    const t = await read(`${lines.join('\n')}\n`);
    expect(t.events).toHaveLength(2);
    expect(t.stats.skipped).toEqual({ 'wrong-field-count': 1, 'bad-time': 1, 'bad-bool': 1, 'bad-port': 1 });
    const j = await read(`${jsonLine}\n{not json\n[1,2]\n{"ts":{"nested":1}}\n${jsonLine}\n`);
    expect(j.events).toHaveLength(2);
    expect(j.stats.skipped).toEqual({ 'bad-json': 1, 'not-an-object': 1, 'bad-value': 1 });
  });

  it('refuses what is not a Zeek log, and a record before the fields header', async () => {
    const x = await read('GIF89a garbage\n');
    expect(x.events).toHaveLength(0);
    expect(x.stats.skipped).toEqual({ 'not-a-zeek-log': 1 });
    const p = new ZeekTsvParser('conn');
    expect(p.line('#path\tconn')).toEqual({ kind: 'header' });
    expect(p.line('1\t2')).toEqual({ kind: 'skip', reason: 'record-before-fields-header' });
  });

  it('bounds line length: a 3 MB line without a newline is dropped and counted, the next line is read', async () => {
    const huge = `{"ts":"${'x'.repeat(3 * 1024 * 1024)}`;
    const chunks = [
      Buffer.from(`${jsonLine}\n`),
      ...Array.from({ length: 48 }, (_, i) => Buffer.from(huge.slice(i * 65536, (i + 1) * 65536))),
      Buffer.from(`\n${jsonLine}\n`),
    ];
    const stats = newZeekStats();
    const events: VigilEvent[] = [];
    for await (const b of readZeekBatches(Readable.from(chunks), 'conn', stats)) events.push(...b);
    expect(events).toHaveLength(2);
    expect(stats.skipped['line-too-long']).toBe(1);
  });

  it('counts a corrupt gzip stream instead of crashing', async () => {
    const gz = gzipSync(Buffer.from(`${jsonLine}\n`.repeat(1000)));
    const cut = Buffer.concat([gz.subarray(0, gz.length / 2), Buffer.from('garbage')]);
    const r = await read(cut);
    expect(Object.keys(r.stats.skipped)).toContain('corrupt-gzip');
  });

  it('ignores prototype keys in a TSV fields header; records stay plain objects', () => {
    const p = new ZeekTsvParser('x');
    p.line('#fields\tts\t__proto__\tconstructor\ta');
    p.line('#types\ttime\tvector[string]\tstring\tcount');
    const r = p.line('1521911720.600843\tpolluted\tC\t7');
    expect(r.kind).toBe('record');
    if (r.kind !== 'record') return;
    expect(Object.getPrototypeOf(r.record)).toBe(Object.prototype);
    expect(Object.keys(r.record)).toEqual(['ts', 'a']);
    expect(r.record.a).toBe(7);
  });

  it('gives an event whose ts is no time the epoch as its time, without failing the file', async () => {
    const header = ['#fields\tts\tuid', '#types\tstring\tstring'];
    const t = await read(`${header.join('\n')}\nyesterday\tC1\n2018-03-24T17:15:20Z\tC2\n`, 'x');
    expect(t.events.map((e) => e.time)).toEqual(['1970-01-01T00:00:00.000Z', '2018-03-24T17:15:20.000Z']);
    expect(t.stats.skipped).toEqual({});
  });

  it('ignores prototype keys in JSON', () => {
    const r = parseZeekJsonLine('{"ts":"2018-03-24T17:15:20Z","__proto__":{"polluted":1},"a":1}', 'x');
    expect(r.kind).toBe('record');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('Zeek TSV: hostile cells and headers', () => {
  it('never throws: seeded mutations of a real-looking log give records or counted skips', async () => {
    const rng = seededRng(7);
    const cells = [
      '1e+400',
      '-1e+30',
      '2.5e+30',
      'NaN',
      'Infinity',
      '-',
      '(empty)',
      '',
      '\\x',
      '\\xZZ',
      '\\\\',
      'T',
      'F',
      '0x10',
      '9'.repeat(400),
      '1521911720.8657161',
      '-0',
      ',',
      ',,',
      '__proto__',
    ];
    const headers = [
      '#separator \\x',
      '#separator',
      '#set_separator\t',
      '#fields\t__proto__\tts',
      '#types\tvector[vector[count]]\ttime',
      '#types\tset[]\ttime',
      '#unset_field',
      '#empty_field\t-',
      '#path\t',
    ];
    const line = '1521911720.600843\tC1\t10.1.1.5\t49562\t10.1.1.9\t104\ttcp\t1.5\tdicom\tT\tA\\x2cB,C';
    const base = [...HEADER, line, line];
    for (let i = 0; i < 500; i++) {
      const lines = [...base];
      for (let k = 1 + rng.int(4); k > 0; k--) {
        const at = HEADER.length + rng.int(2);
        const parts = lines[at]!.split('\t');
        parts[rng.int(parts.length)] = rng.pick(cells);
        lines[at] = parts.join('\t');
      }
      if (rng.next() < 0.3) lines.splice(rng.int(lines.length), 0, rng.pick(headers));
      const t = await read(`${lines.join('\n')}\n`);
      const skipped = Object.values(t.stats.skipped).reduce((a, b) => a + b, 0);
      expect(t.events.length + skipped).toBeGreaterThan(0);
      for (const e of t.events) {
        expect(Object.getPrototypeOf(e.data)).toBe(Object.prototype);
        expect(Number.isNaN(Date.parse(e.time))).toBe(false);
        expect(() => JSON.stringify(e)).not.toThrow();
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
