/**
 * A dotted field path that reaches a list of objects continues in each element (as Elasticsearch
 * flattens object lists), so `reasons.signal` matches the access gateway's decision reasons; the
 * walk is bounded for hostile events.
 */
import { describe, expect, it } from 'vitest';
import { resolveField } from '../../src/detect/sigma/event.js';
import { detector } from './sigma-helpers.js';

describe('field paths through lists of objects', () => {
  const reasons = (...signals: string[]) => ({
    reasons: signals.map((signal) => ({ signal, score: 10, reason: `${signal} seen` })),
  });

  it('match any element, and only when an element has the field', () => {
    const d = detector('sel:\n  reasons.signal: impossible-travel\ncondition: sel');
    expect(d(reasons('geo-country', 'impossible-travel'))).toBe(true);
    expect(d(reasons('geo-country'))).toBe(false);
    expect(d(reasons())).toBe(false);
    expect(d({ reasons: [{ other: 'impossible-travel' }, 'impossible-travel'] })).toBe(false);
    const exists = detector('sel:\n  reasons.signal|exists: true\ncondition: sel');
    expect(exists(reasons('a'))).toBe(true);
    expect(exists(reasons())).toBe(false);
  });

  it('keep index paths and nested lists working, and stay bounded', () => {
    expect(resolveField({ a: [{ b: 1 }, { b: 2 }] }, 'a.1.b')).toEqual({ found: true, value: 2 });
    expect(resolveField({ a: [{ b: [{ c: 'x' }, { c: 'y' }] }, { b: [{ c: 'z' }] }] }, 'a.b.c')).toEqual({
      found: true,
      value: ['x', 'y', 'z'],
    });
    const huge = { a: Array.from({ length: 100_000 }, (_, i) => ({ b: i })) };
    const t = performance.now();
    const r = resolveField(huge, 'a.b');
    expect((r.value as unknown[]).length).toBe(1000);
    expect(performance.now() - t).toBeLessThan(200);
  });
});
