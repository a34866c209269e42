import { describe, expect, it } from 'vitest';
import { check, detector } from '../../../test/detect/sigma-helpers.js';
import { seededRng } from '../../core/index.js';
import { base64Offsets, isoUtcMs } from './modifiers.js';

describe('values and wildcards', () => {
  it('matches case-insensitively by default and exactly (no implicit contains)', () => {
    const d = detector(`sel:\n  Image: 'C:\\Windows\\System32\\whoami.exe'\ncondition: sel`);
    expect(d({ Image: 'c:\\windows\\system32\\WHOAMI.EXE' })).toBe(true);
    expect(d({ Image: 'c:\\windows\\system32\\whoami.exe2' })).toBe(false);
    expect(d({})).toBe(false);
  });

  it('handles * and ? wildcards and their escapes', () => {
    const d = detector(`sel:\n  A: 'prog?.exe'\n  B: 'a*b*c'\ncondition: sel`);
    expect(d({ A: 'progA.exe', B: 'aXXbYYc' })).toBe(true);
    expect(d({ A: 'prog.exe', B: 'abc' })).toBe(false);
    expect(d({ A: 'progAB.exe', B: 'abc' })).toBe(false);
    const esc = detector(`sel:\n  A: 'lit\\*star\\?q'\ncondition: sel`);
    expect(esc({ A: 'lit*star?q' })).toBe(true);
    expect(esc({ A: 'litXstarYq' })).toBe(false);
    // `\\*`: a backslash followed by a wildcard; `\\\\` is a double backslash
    const bs = detector(`sel:\n  A: 'dir\\\\*'\n  B: 'x\\\\\\\\y'\ncondition: sel`);
    expect(bs({ A: 'dir\\anything', B: 'x\\\\y' })).toBe(true);
    expect(bs({ A: 'dirX', B: 'x\\\\y' })).toBe(false);
    // a plain backslash not followed by a wildcard stays a backslash
    const plain = detector(`sel:\n  A: 'C:\\Temp'\ncondition: sel`);
    expect(plain({ A: 'C:\\temp' })).toBe(true);
  });

  it('compares numbers and booleans as text', () => {
    const d = detector(`sel:\n  EventID: 4688\n  Flag: true\n  Hex: 0x17\ncondition: sel`);
    expect(d({ EventID: 4688, Flag: true, Hex: '0x17' })).toBe(true);
    expect(d({ EventID: '4688', Flag: 'True', Hex: '0x17' })).toBe(true);
    expect(d({ EventID: 4689, Flag: true, Hex: '0x17' })).toBe(false);
  });

  it('null means absent or null; empty string is only empty', () => {
    const d = detector(`sel:\n  A: null\ncondition: sel`);
    expect(d({})).toBe(true);
    expect(d({ A: null })).toBe(true);
    expect(d({ A: '' })).toBe(false);
    const e = detector(`sel:\n  A: ''\ncondition: sel`);
    expect(e({ A: '' })).toBe(true);
    expect(e({})).toBe(false);
  });

  it('lists are OR, maps are AND, lists of maps are OR', () => {
    const d = detector(`sel:\n  - A: 1\n    B: 2\n  - C: 3\ncondition: sel`);
    expect(d({ A: 1, B: 2 })).toBe(true);
    expect(d({ C: 3 })).toBe(true);
    expect(d({ A: 1 })).toBe(false);
    const l = detector(`sel:\n  A: [x, y]\ncondition: sel`);
    expect(l({ A: 'Y' })).toBe(true);
    expect(l({ A: 'z' })).toBe(false);
  });

  it('matches any element of an array field', () => {
    const d = detector(`sel:\n  Tags|contains: evil\ncondition: sel`);
    expect(d({ Tags: ['good', 'so evil'] })).toBe(true);
    expect(d({ Tags: ['good'] })).toBe(false);
  });

  it('keyword lists search every string value (OR), |all makes it AND', () => {
    const d = detector(`keywords:\n  - 'event::clear'\n  - 'event::drop'\ncondition: keywords`);
    expect(d({ msg: { deep: ['mimikatz # EVENT::Clear now'] } })).toBe(true);
    expect(d({ msg: 'nothing' })).toBe(false);
    const a = detector(
      `keywords:\n  '|all':\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '\ncondition: keywords`,
    );
    expect(a({ x: 'Set-OabVirtualDirectory', y: 'a -ExternalUrl b' })).toBe(true);
    expect(a({ x: 'Set-OabVirtualDirectory' })).toBe(false);
  });

  it('looks up dotted field names as exact keys first, then as nested paths', () => {
    const d = detector(`sel:\n  process.name: cmd.exe\ncondition: sel`);
    expect(d({ 'process.name': 'cmd.exe' })).toBe(true);
    expect(d({ process: { name: 'cmd.exe' } })).toBe(true);
    expect(d({ process: { 'name.x': 'cmd.exe' } })).toBe(false);
    const deep = detector(`sel:\n  a.b.c: v\ncondition: sel`);
    expect(deep({ a: { 'b.c': 'v' } })).toBe(true);
    expect(deep({ 'a.b': { c: 'v' } })).toBe(true);
  });
});

describe('modifiers', () => {
  it('contains, startswith, endswith', () => {
    const d = detector(
      `sel:\n  A|contains: mid\n  B|startswith: pre\n  C|endswith: '\\end.exe'\ncondition: sel`,
    );
    expect(d({ A: 'xxMIDxx', B: 'prefix', C: 'c:\\x\\END.exe' })).toBe(true);
    expect(d({ A: 'xxMIDxx', B: 'xpre', C: 'c:\\x\\END.exe' })).toBe(false);
    expect(d({ A: 'xxMIDxx', B: 'prefix', C: 'c:\\x\\END.exe2' })).toBe(false);
  });

  it('all turns a value list into AND', () => {
    const d = detector(`sel:\n  CommandLine|contains|all: [' -a', ' -b']\ncondition: sel`);
    expect(d({ CommandLine: 'x -b -a' })).toBe(true);
    expect(d({ CommandLine: 'x -a' })).toBe(false);
  });

  it('cased matches case-sensitively', () => {
    const d = detector(`sel:\n  A|cased: CamelCase\n  B|contains|cased: Mid\ncondition: sel`);
    expect(d({ A: 'CamelCase', B: 'xMidx' })).toBe(true);
    expect(d({ A: 'camelcase', B: 'xMidx' })).toBe(false);
    expect(d({ A: 'CamelCase', B: 'xmidx' })).toBe(false);
  });

  it('exists checks presence, even of a null value', () => {
    const d = detector(`sel:\n  A|exists: true\n  B|exists: false\ncondition: sel`);
    expect(d({ A: null })).toBe(true);
    expect(d({ A: 'x', B: 1 })).toBe(false);
    expect(d({})).toBe(false);
  });

  it('neq: the field differs from every value', () => {
    const d = detector(`sel:\n  A|neq: [x, y]\ncondition: sel`);
    expect(d({ A: 'z' })).toBe(true);
    expect(d({ A: 'X' })).toBe(false);
    expect(d({ A: 'y' })).toBe(false);
  });

  it('re is case-sensitive with i, m, s sub-modifiers', () => {
    const d = detector(`sel:\n  A|re: '^ab+c$'\ncondition: sel`);
    expect(d({ A: 'abbbc' })).toBe(true);
    expect(d({ A: 'ABBC' })).toBe(false);
    const i = detector(`sel:\n  A|re|i: '^ab+c$'\ncondition: sel`);
    expect(i({ A: 'ABBC' })).toBe(true);
    const m = detector(`sel:\n  A|re|m: '^second$'\ncondition: sel`);
    expect(m({ A: 'first\nsecond\nthird' })).toBe(true);
    const noM = detector(`sel:\n  A|re: '^second$'\ncondition: sel`);
    expect(noM({ A: 'first\nsecond\nthird' })).toBe(false);
    const s = detector(`sel:\n  A|re|s: 'a.b'\ncondition: sel`);
    expect(s({ A: 'a\nb' })).toBe(true);
    const noS = detector(`sel:\n  A|re: 'a.b'\ncondition: sel`);
    expect(noS({ A: 'a\nb' })).toBe(false);
  });

  it('re rejects what RE2 cannot run (backreferences, lookaround) with a reason', () => {
    const r = check(`sel:\n  A|re: '(a)\\1'\ncondition: sel`);
    expect(r.loaded).toBe(0);
    expect(r.unsupported[0]?.reason).toMatch(/linear time/);
    const l = check(`sel:\n  A|re: '(?<=a)b'\ncondition: sel`);
    expect(l.unsupported[0]?.reason).toMatch(/RE2/);
    const n = check(`sel:\n  A|re: 'x(?!y)'\ncondition: sel`);
    expect(n.unsupported).toHaveLength(1);
  });

  it('cidr matches IPv4 and IPv6 ranges', () => {
    const d = detector(
      `sel:\n  Ip|cidr: ['10.0.0.0/8', '192.168.1.0/24', 'fd00::/8', '2001:db8:1::/48']\ncondition: sel`,
    );
    expect(d({ Ip: '10.200.3.4' })).toBe(true);
    expect(d({ Ip: '192.168.1.255' })).toBe(true);
    expect(d({ Ip: '192.168.2.1' })).toBe(false);
    expect(d({ Ip: 'fd12:3456::1' })).toBe(true);
    expect(d({ Ip: '2001:db8:1:ffff::1' })).toBe(true);
    expect(d({ Ip: '2001:db8:2::1' })).toBe(false);
    expect(d({ Ip: '::ffff:10.1.2.3' })).toBe(true);
    expect(d({ Ip: 'not an ip' })).toBe(false);
    expect(check(`sel:\n  Ip|cidr: '10.0.0.0/33'\ncondition: sel`).errors).toHaveLength(1);
  });

  it('cidr lists share the last address parsed, and still answer each on its own ranges', () => {
    // Two rules test the same address (the parse is remembered), then others in turn.
    const a = detector(`sel:\n  Ip|cidr: ['10.0.0.0/8', '172.16.0.0/12']\ncondition: sel`);
    const b = detector(`sel:\n  Ip|cidr: ['192.168.0.0/16', '10.1.0.0/16']\ncondition: sel`);
    const cases: [string, boolean, boolean][] = [
      ['10.1.2.3', true, true],
      ['10.1.2.3', true, true],
      ['10.2.2.3', true, false],
      ['192.168.0.1', false, true],
      ['192.168.0.1x', false, false],
      ['', false, false],
      ['172.31.255.255', true, false],
      ['10.1.2.3', true, true],
    ];
    for (const [ip, inA, inB] of cases) {
      expect(a({ Ip: ip }), `${ip} in a`).toBe(inA);
      expect(b({ Ip: ip }), `${ip} in b`).toBe(inB);
    }
  });

  it('lt, lte, gt, gte compare numbers', () => {
    const d = detector(`sel:\n  N|gt: 10\n  M|lte: 5\ncondition: sel`);
    expect(d({ N: 11, M: '5' })).toBe(true);
    expect(d({ N: 10, M: 5 })).toBe(false);
    expect(d({ N: 'abc', M: 5 })).toBe(false);
    const e = detector(`sel:\n  N|gte: 10\n  M|lt: 5\ncondition: sel`);
    expect(e({ N: 10, M: 4.9 })).toBe(true);
  });

  it('time modifiers extract parts of a date (UTC)', () => {
    const d = detector(`sel:\n  T|hour: 23\n  T|month: 10\n  T|year: 2025\ncondition: sel`);
    expect(d({ T: '2025-10-24 23:34:34.634' })).toBe(true);
    expect(d({ T: '2025-10-24T22:00:00Z' })).toBe(false);
    const r = detector(
      `sel:\n  T|hour|gte: 20\n  T|minute|lt: 30\n  T|day: 24\n  T|week: 43\ncondition: sel`,
    );
    expect(r({ T: '2025-10-24T21:10:00Z' })).toBe(true);
    expect(r({ T: '2025-10-24T21:40:00Z' })).toBe(false);
  });

  it('windash accepts every dash variant', () => {
    const d = detector(`sel:\n  CommandLine|windash|contains: ' -enc '\ncondition: sel`);
    for (const dash of ['-', '/', '\u2013', '\u2014', '\u2015'])
      expect(d({ CommandLine: `ps ${dash}enc x` })).toBe(true);
    expect(d({ CommandLine: 'ps +enc x' })).toBe(false);
  });

  it('base64 and base64offset', () => {
    const d = detector(`sel:\n  A|base64: 'cmd.exe'\ncondition: sel`);
    expect(d({ A: Buffer.from('cmd.exe').toString('base64') })).toBe(true);
    const o = detector(`sel:\n  A|base64offset|contains: 'http://'\ncondition: sel`);
    for (const prefix of ['', 'x', 'xy', 'xyz'])
      expect(o({ A: Buffer.from(`${prefix}http://evil`).toString('base64') })).toBe(true);
    expect(o({ A: Buffer.from('https://evil').toString('base64') })).toBe(false);
    expect(base64Offsets(new Uint8Array(Buffer.from('http://')))).toEqual([
      'aHR0cDovL',
      'h0dHA6Ly',
      'odHRwOi8v',
    ]);
  });

  it('utf16le / utf16be / utf16 / wide with base64', () => {
    const enc = (s: string, e: 'utf16le') => Buffer.from(s, e).toString('base64');
    const le = detector(`sel:\n  A|wide|base64offset|contains: 'ping'\ncondition: sel`);
    expect(le({ A: enc('cmd /c ping x', 'utf16le') })).toBe(true);
    const le2 = detector(`sel:\n  A|utf16le|base64: 'cmd'\ncondition: sel`);
    expect(le2({ A: enc('cmd', 'utf16le') })).toBe(true);
    const be = detector(`sel:\n  A|utf16be|base64: 'cmd'\ncondition: sel`);
    expect(be({ A: Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64') })).toBe(true);
    const bom = detector(`sel:\n  A|utf16|base64: 'cmd'\ncondition: sel`);
    expect(bom({ A: Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]).toString('base64') })).toBe(true);
  });

  it('fieldref compares two fields of the event (and with neq)', () => {
    const d = detector(`sel:\n  A|fieldref: B\ncondition: sel`);
    expect(d({ A: 'Same', B: 'same' })).toBe(true);
    expect(d({ A: 'x', B: 'y' })).toBe(false);
    expect(d({ A: 'x' })).toBe(false);
    const n = detector(`sel:\n  A|fieldref|neq: B\ncondition: sel`);
    expect(n({ A: 'x', B: 'y' })).toBe(true);
    expect(n({ A: 'x', B: 'x' })).toBe(false);
    const sw = detector(`sel:\n  A|fieldref|startswith: B\ncondition: sel`);
    expect(sw({ A: 'prefix-rest', B: 'prefix' })).toBe(true);
  });

  it('expand uses the placeholder configuration, and rejects unknown placeholders', () => {
    const opts = { placeholders: { Servers: ['srv*', 'dc01'] } };
    const d = detector(`sel:\n  Host|expand: '%Servers%'\ncondition: sel`, opts);
    expect(d({ Host: 'SRV-12' })).toBe(true);
    expect(d({ Host: 'dc01' })).toBe(true);
    expect(d({ Host: 'ws-1' })).toBe(false);
    const lit = detector(`sel:\n  Host|expand: '\\%lit%Servers%'\ncondition: sel`, opts);
    expect(lit({ Host: '%litdc01' })).toBe(true);
    const r = check(`sel:\n  Host|expand: '%Unknown%'\ncondition: sel`, opts);
    expect(r.unsupported[0]?.reason).toMatch(/placeholder %Unknown% is not configured/);
    // without expand a percent value is a literal
    const plain = detector(`sel:\n  Host: '%Servers%'\ncondition: sel`, opts);
    expect(plain({ Host: '%servers%' })).toBe(true);
  });

  it('an unknown modifier makes the rule unsupported with the reason', () => {
    const r = check(`sel:\n  A|frobnicate: x\ncondition: sel`);
    expect(r.loaded).toBe(0);
    expect(r.unsupported[0]?.reason).toMatch(/unknown modifier `frobnicate`/);
  });
});

describe('ISO times', () => {
  it('reads `toISOString` times as Date.parse does, across years, leap days and month ends', () => {
    const r = seededRng(3).next;
    const times: number[] = [
      0,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(1900, 1, 28),
      Date.UTC(2100, 2, 1),
    ];
    times.push(
      Date.UTC(1000, 0, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
    );
    for (let i = 0; i < 20_000; i++)
      times.push(Math.floor(Date.UTC(1000, 0, 1) + r() * (Date.UTC(9999, 11, 31) - Date.UTC(1000, 0, 1))));
    for (const t of times) {
      const s = new Date(t).toISOString();
      expect(isoUtcMs(s), s).toBe(Date.parse(s));
    }
    for (const bad of [
      '2023-02-29T00:00:00.000Z',
      '2024-13-01T00:00:00.000Z',
      '2024-04-31T00:00:00.000Z',
      '2024-01-01T24:00:00.000Z',
      '0999-01-01T00:00:00.000Z',
      '2024-01-01T00:00:00.000',
    ])
      expect(isoUtcMs(bad), bad).toBeNaN();
  });
});
