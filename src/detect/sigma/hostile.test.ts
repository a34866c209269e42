import { describe, expect, it } from 'vitest';
import { check, detector } from '../../../test/detect/sigma-helpers.js';
import { EventView } from './event.js';
import { parseRuleText } from './parse.js';
import { compilePattern, parsePattern } from './wildcard.js';

describe('hostile input', () => {
  it('runs catastrophic-backtracking patterns in linear time through RE2', () => {
    const d = detector(`sel:\n  A|re: '(a+)+$'\ncondition: sel`);
    const evil = `${'a'.repeat(100_000)}!`;
    // A backtracking engine would not return on this input; RE2 answers at once.
    expect(d({ A: evil })).toBe(false);
    expect(d({ A: 'a'.repeat(100_000) })).toBe(true);
    const anchored = detector(`sel:\n  A|re: '^(a|aa)+$'\ncondition: sel`);
    expect(anchored({ A: evil })).toBe(false);
    expect(anchored({ A: 'a'.repeat(50_000) })).toBe(true);
  });

  it('matches wildcards with many stars without backtracking blow-up', () => {
    const t = compilePattern(parsePattern('*a*a*a*a*a*a*a*a*a*a*b'), false);
    expect(t.test('a'.repeat(200_000))).toBe(false);
    expect(t.test(`${'a'.repeat(200_000)}b`)).toBe(true);
    const q = compilePattern(parsePattern('*?a?*?b'), false);
    expect(q.test(`${'x'.repeat(100_000)}xaxxb`)).toBe(true);
  });

  it('handles a 1 MB field value', () => {
    const big = `${'x'.repeat(1024 * 1024)}needle`;
    const d = detector(`sel:\n  A|contains: NEEDLE\n  B|endswith: needle\n  C|re: 'needle$'\ncondition: sel`);
    expect(d({ A: big, B: big, C: big })).toBe(true);
    expect(d({ A: big.slice(0, -1), B: big, C: big })).toBe(false);
  });

  it('compiles a huge value list into a set lookup', () => {
    const values = Array.from({ length: 50_000 }, (_, i) => `'v${i}'`).join(', ');
    const d = detector(`sel:\n  A: [${values}]\ncondition: sel`);
    expect(d({ A: 'V49999' })).toBe(true);
    expect(d({ A: 'v50000' })).toBe(false);
  });

  it('bounds keyword search over deeply nested events', () => {
    let deep: unknown = 'needle';
    for (let i = 0; i < 10_000; i++) deep = { n: deep };
    const v = new EventView({ root: deep });
    expect(v.strings(false)).toEqual([]); // beyond the depth bound: not searched, no stack overflow
    const d = detector(`kw:\n  - needle\ncondition: kw`);
    expect(d({ a: { b: 'a needle here' } })).toBe(true);
  });

  it('refuses windash explosions and oversized files with a reason', () => {
    const r = check(`sel:\n  A|windash: '${'-a'.repeat(12)}'\ncondition: sel`);
    expect(r.unsupported[0]?.reason).toMatch(/windash expands/);
    const big = parseRuleText('x'.repeat(5 * 1024 * 1024), 'big.yml');
    expect(big.errors[0]?.message).toMatch(/larger than/);
  });

  it('survives YAML alias bombs', () => {
    const bomb = ['title: b', 'a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++)
      bomb.push(
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [*${i ? 'b'.repeat(i) : 'a'}, *${i ? 'b'.repeat(i) : 'a'}, *${i ? 'b'.repeat(i) : 'a'}]`,
      );
    const r = parseRuleText(bomb.join('\n'), 'bomb.yml');
    expect(r.rules).toHaveLength(0);
    expect(r.errors).toHaveLength(1);
  });
});
