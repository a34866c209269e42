import { describe, expect, it } from 'vitest';
import { check, detector } from '../../../test/detect/sigma-helpers.js';
import { parseCondition } from './condition.js';

const ids = `a:\n  A: 1\nb:\n  B: 1\nc:\n  C: 1\n_hidden:\n  H: 1\n`;

describe('conditions', () => {
  it('and binds tighter than or; not tighter than and; parentheses override', () => {
    const d = detector(`${ids}condition: a or b and c`);
    expect(d({ A: 1 })).toBe(true);
    expect(d({ B: 1 })).toBe(false);
    expect(d({ B: 1, C: 1 })).toBe(true);
    const p = detector(`${ids}condition: (a or b) and c`);
    expect(p({ A: 1 })).toBe(false);
    expect(p({ A: 1, C: 1 })).toBe(true);
    const n = detector(`${ids}condition: not a and b`);
    expect(n({ B: 1 })).toBe(true);
    expect(n({ A: 1, B: 1 })).toBe(false);
    expect(parseCondition('not a and b')).toEqual({
      t: 'and',
      es: [
        { t: 'not', e: { t: 'id', name: 'a' } },
        { t: 'id', name: 'b' },
      ],
    });
  });

  it('1 of / all of patterns and them (underscore identifiers excluded from them)', () => {
    const one = detector(
      `sel_a:\n  A: 1\nsel_b:\n  B: 1\nfilter:\n  F: 1\ncondition: 1 of sel_* and not filter`,
    );
    expect(one({ B: 1 })).toBe(true);
    expect(one({ B: 1, F: 1 })).toBe(false);
    const all = detector(`sel_a:\n  A: 1\nsel_b:\n  B: 1\ncondition: all of sel_*`);
    expect(all({ A: 1 })).toBe(false);
    expect(all({ A: 1, B: 1 })).toBe(true);
    const them = detector(`${ids}condition: all of them`);
    expect(them({ A: 1, B: 1, C: 1 })).toBe(true); // _hidden not required
    const anyThem = detector(`${ids}condition: 1 of them`);
    expect(anyThem({ H: 1 })).toBe(false);
    expect(anyThem({ C: 1 })).toBe(true);
  });

  it('a list of conditions is an OR', () => {
    const d = detector(`${ids}condition:\n  - a and b\n  - c`);
    expect(d({ C: 1 })).toBe(true);
    expect(d({ A: 1 })).toBe(false);
    expect(d({ A: 1, B: 1 })).toBe(true);
  });

  it('reports malformed conditions as errors and legacy aggregations as unsupported', () => {
    expect(check(`${ids}condition: a and`).errors[0]?.message).toMatch(/condition/);
    expect(check(`${ids}condition: (a or b`).errors[0]?.message).toMatch(/missing `\)`/);
    expect(check(`${ids}condition: a or unknown`).errors[0]?.message).toMatch(/unknown search identifier/);
    expect(check(`${ids}condition: 1 of nothing*`).errors[0]?.message).toMatch(
      /matches no search identifier/,
    );
    expect(check(`${ids}condition: a | count() by B > 5`).unsupported[0]?.reason).toMatch(/aggregation/);
  });

  it('refuses hostile nesting instead of overflowing the stack', () => {
    const deep = `${'('.repeat(2000)}a${')'.repeat(2000)}`;
    const r = check(`${ids}condition: '${deep}'`);
    expect(r.loaded).toBe(0);
    expect(r.unsupported[0]?.reason).toMatch(/nested deeper/);
    const nots = `${'not '.repeat(2000)}a`;
    expect(check(`${ids}condition: ${nots}`).unsupported[0]?.reason).toMatch(/nested deeper/);
    expect(check(`${ids}condition: ${'a or '.repeat(20_000)}a`).unsupported[0]?.reason).toMatch(/too long/);
    // moderate nesting is fine
    const ok = detector(`${ids}condition: ${'('.repeat(30)}a${')'.repeat(30)}`);
    expect(ok({ A: 1 })).toBe(true);
  });
});
