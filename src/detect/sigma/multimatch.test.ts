import { describe, expect, it } from 'vitest';
import { type Anchor, MultiMatcher, type MultiPattern } from './multimatch.js';

/** What the matcher must find, computed pattern by pattern. */
function naive(patterns: readonly MultiPattern[], s: string): number[] {
  const ok = (p: MultiPattern) =>
    p.anchor === 'contains'
      ? s.includes(p.text)
      : p.anchor === 'prefix'
        ? s.startsWith(p.text)
        : p.anchor === 'suffix'
          ? s.endsWith(p.text)
          : s === p.text;
  return [...new Set(patterns.filter(ok).map((p) => p.id))].sort((a, b) => a - b);
}

function found(m: MultiMatcher, s: string): number[] {
  const ids = new Set<number>();
  m.scan(s, (id) => {
    ids.add(id);
    return undefined;
  });
  return [...ids].sort((a, b) => a - b);
}

/** A small deterministic generator (the test must not depend on luck). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
}

describe('MultiMatcher', () => {
  it('finds contains, prefix, suffix and exact patterns, overlapping and nested', () => {
    const ps: MultiPattern[] = [
      { text: 'he', anchor: 'contains', id: 0 },
      { text: 'she', anchor: 'contains', id: 1 },
      { text: 'his', anchor: 'contains', id: 2 },
      { text: 'hers', anchor: 'contains', id: 3 },
      { text: 'ushe', anchor: 'prefix', id: 4 },
      { text: 'rs', anchor: 'suffix', id: 5 },
      { text: 'ushers', anchor: 'exact', id: 6 },
      { text: 'she', anchor: 'prefix', id: 7 },
    ];
    const m = new MultiMatcher(ps);
    for (const s of ['ushers', 'ushe', 'shers', 'xhisx', '', 'hers!', 'ushersx'])
      expect(found(m, s), s).toEqual(naive(ps, s));
  });

  it('agrees with one-at-a-time matching on random pattern sets, including rare characters', () => {
    const r = rng(42);
    // A wide alphabet so that some characters fall outside the dense DFA columns.
    const alphabet = Array.from({ length: 200 }, (_, i) => String.fromCharCode(0x100 + i)).concat([
      ...'abcdefghij\\/.- ',
    ]);
    const pick = (n: number) =>
      Array.from({ length: n }, () => alphabet[Math.floor(r() ** 2 * alphabet.length)]!).join('');
    const anchors: Anchor[] = ['contains', 'prefix', 'suffix', 'exact'];
    for (let round = 0; round < 30; round++) {
      const ps: MultiPattern[] = Array.from({ length: 1 + Math.floor(r() * 300) }, (_, i) => ({
        text: pick(1 + Math.floor(r() * 6)),
        anchor: anchors[Math.floor(r() * 4)]!,
        id: i % 50,
      }));
      const m = new MultiMatcher(ps);
      for (let k = 0; k < 40; k++) {
        const s = pick(Math.floor(r() * 40));
        expect(found(m, s), `${JSON.stringify(s)} round ${round}`).toEqual(naive(ps, s));
      }
    }
  });

  it('stops early when the callback says so', () => {
    const m = new MultiMatcher([{ text: 'a', anchor: 'contains', id: 0 }]);
    let calls = 0;
    expect(m.scan('aaaa', () => ++calls > 0)).toBe(true);
    expect(calls).toBe(1);
  });
});
