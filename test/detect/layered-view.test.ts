/**
 * The rule engine's field access without copies (sigma/event.ts): a field looked up through
 * interned references, on a plain event or on a Vigil event's layers (its `data` lifted and the
 * enrichment on top), gives exactly what `resolveField` gives on the merged object
 * `{...data, ...event, ...extra}` that mapEvent builds. Checked on random events full of the
 * awkward cases: keys holding dots, lists on the way, nulls, shadowed keys.
 */
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/index.js';
import {
  EventView,
  fieldRef,
  type Layers,
  layersValue,
  merged,
  resolveField,
} from '../../src/detect/sigma/event.js';
import type { SigmaEvent } from '../../src/detect/sigma/types.js';

const KEYS = ['a', 'b', 'c', 'a.b', 'b.c', 'a.b.c', 'net', 'srcIp', 'net.srcIp', 'x', '', '0'];
const NAMES = [
  'a',
  'b',
  'a.b',
  'a.b.c',
  'b.c',
  'a.c',
  'net.srcIp',
  'net',
  'x.a',
  'a.b.c.a',
  'c.a.b',
  '0',
  'a.0',
  'a..b',
  '.a',
  'a.',
  'missing',
  'missing.a',
];

function randomValue(r: () => number, depth: number): unknown {
  const x = r();
  if (depth > 3 || x < 0.3) return ['v', 'V', 'A.b', '', 'x'][Math.floor(r() * 5)];
  if (x < 0.4) return Math.floor(r() * 100);
  if (x < 0.45) return null;
  if (x < 0.5) return r() < 0.5;
  if (x < 0.65) return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
  return randomObject(r, depth + 1);
}

function randomObject(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) o[KEYS[Math.floor(r() * KEYS.length)]!] = randomValue(r, depth);
  return o;
}

function summary(v: EventView, name: string) {
  const fd = v.field(name);
  return { present: fd.present, isNull: fd.isNull, strs: [...fd.strs], lowers: [...fd.lowers()] };
}

/** What the engine read before: resolveField on the merged object, flattened. */
function expected(ev: SigmaEvent, name: string) {
  const r = resolveField(ev, name);
  if (!r.found) return { present: false, isNull: true, strs: [], lowers: [] };
  if (r.value === null || r.value === undefined) return { present: true, isNull: true, strs: [], lowers: [] };
  const strs: string[] = [];
  const scalar = (x: unknown) => {
    if (typeof x === 'string') strs.push(x);
    else if (typeof x === 'number' || typeof x === 'boolean') strs.push(String(x));
  };
  if (Array.isArray(r.value)) r.value.forEach(scalar);
  else scalar(r.value);
  return { present: true, isNull: false, strs, lowers: strs.map((s) => s.toLowerCase()) };
}

describe('field access on events and on layered events', () => {
  it('agrees with resolveField on the merged object, for random events', () => {
    const r = seededRng(7).next;
    const reused = new EventView({});
    for (let i = 0; i < 3000; i++) {
      const event = { v: 1, kind: 'test.event', ...randomObject(r, 0) } as SigmaEvent;
      const data = r() < 0.8 ? randomObject(r, 0) : undefined;
      const extra = r() < 0.5 ? randomObject(r, 1) : undefined;
      const layers: Layers = { extra, event, data };
      const whole = merged(layers);
      const plain = new EventView(whole);
      reused.resetLayers(layers);
      for (const name of NAMES) {
        const want = expected(whole, name);
        expect(summary(plain, name), `${name} on ${JSON.stringify(whole)}`).toEqual(want);
        expect(summary(reused, name), `${name} on layers ${JSON.stringify(layers)}`).toEqual(want);
        // The value itself, as the correlator reads group-by and condition fields.
        expect(layersValue(layers, fieldRef(name)), name).toEqual(resolveField(whole, name).value);
      }
      // Keyword search sees the merged object's strings.
      expect(reused.strings(false)).toEqual(new EventView(whole).strings(false));
    }
  });

  it('forgets the previous event when reset', () => {
    const v = new EventView({ a: 'one' });
    expect(v.field('a').strs).toEqual(['one']);
    v.reset({ b: 'two' });
    expect(v.field('a').present).toBe(false);
    expect(v.field('b').strs).toEqual(['two']);
    v.resetLayers({ extra: { b: 'three' }, event: { b: 'two' }, data: { c: 'C' } });
    expect(v.field('b').strs).toEqual(['three']);
    expect(v.field('c').lowers()).toEqual(['c']);
  });
});
