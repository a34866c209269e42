/**
 * Field access on events, shared by every compiled rule during one `match` call: a field is
 * looked up, flattened and lower-cased once per event, however many rules test it. Field names
 * may contain dots: the exact key is tried first, then a nested path.
 */
import type { SigmaEvent } from './types.js';

/** The values of one field of one event, ready for matching. */
export interface FieldData {
  /** The key exists (even with a null value): what `exists` tests. */
  present: boolean;
  /** Absent or null: what a `null` value in a rule tests. */
  isNull: boolean;
  /** Scalar values as text (arrays flattened; objects and null left out). */
  strs: string[];
  /** `strs` lower-cased (computed on first use). */
  lowers(): string[];
}

const ABSENT: FieldData = { present: false, isNull: true, strs: [], lowers: () => [] };
const NULL_FIELD: FieldData = { present: true, isNull: true, strs: [], lowers: () => [] };

/** Limits that keep a hostile event (deep nesting) from stalling keyword search. */
const MAX_DEPTH = 32;
const MAX_STRINGS = 10_000;

const hasOwn = Object.prototype.hasOwnProperty;

/** Elements of a list searched by a path through it (hostile events cannot make it costly). */
const MAX_LIST_ELEMENTS = 1000;

/**
 * Resolve a field name on an object: exact key first, then dotted path (longest keys first). A
 * path that reaches a list of objects continues in each element (as Elasticsearch flattens
 * them): `reasons.signal` on `{reasons: [{signal: 'a'}, {signal: 'b'}]}` gives `['a', 'b']`.
 */
export function resolveField(obj: unknown, name: string): { found: boolean; value: unknown } {
  if (typeof obj !== 'object' || obj === null) return { found: false, value: undefined };
  const o = obj as Record<string, unknown>;
  if (hasOwn.call(o, name)) return { found: true, value: o[name] };
  const dot = name.indexOf('.');
  // Try every split point: `a.b.c` may be a -> b.c, a.b -> c, or a -> b -> c.
  for (let i = dot; i >= 0 && i < name.length; i = name.indexOf('.', i + 1)) {
    const head = name.slice(0, i);
    if (hasOwn.call(o, head)) {
      const r = resolveField(o[head], name.slice(i + 1));
      if (r.found) return r;
    }
  }
  if (Array.isArray(obj)) {
    const values: unknown[] = [];
    let found = false;
    for (const x of obj.length > MAX_LIST_ELEMENTS ? obj.slice(0, MAX_LIST_ELEMENTS) : obj) {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) continue;
      const r = resolveField(x, name);
      if (!r.found) continue;
      found = true;
      if (Array.isArray(r.value)) for (const v of r.value) values.push(v);
      else values.push(r.value);
    }
    if (found) return { found: true, value: values };
  }
  return { found: false, value: undefined };
}

function scalarText(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out.push(String(v));
}

/** A per-event view with memoised field data. Create one per event (cheap). */
export class EventView {
  private readonly cache = new Map<string, FieldData>();
  private all: string[] | undefined;
  private allLower: string[] | undefined;

  constructor(readonly event: SigmaEvent) {}

  field(name: string): FieldData {
    let fd = this.cache.get(name);
    if (fd) return fd;
    const ev = this.event;
    // Fast path: a top-level key (every flat event, every mapped evtx field).
    const r = hasOwn.call(ev, name)
      ? { found: true, value: ev[name] }
      : name.includes('.')
        ? resolveField(ev, name)
        : { found: false, value: undefined };
    if (!r.found) fd = ABSENT;
    else if (r.value === null || r.value === undefined) fd = NULL_FIELD;
    else {
      const strs: string[] = [];
      if (typeof r.value === 'string') strs.push(r.value);
      else if (Array.isArray(r.value)) for (const x of r.value) scalarText(x, strs);
      else scalarText(r.value, strs);
      let lower: string[] | undefined;
      fd = {
        present: true,
        isNull: false,
        strs,
        lowers: () => {
          lower ??= strs.map((s) => s.toLowerCase());
          return lower;
        },
      };
    }
    this.cache.set(name, fd);
    return fd;
  }

  /** Every string value of the event (for keyword search), bounded in depth and count. */
  strings(lower: boolean): string[] {
    if (!this.all) {
      const out: string[] = [];
      const walk = (v: unknown, depth: number) => {
        if (out.length >= MAX_STRINGS || depth > MAX_DEPTH) return;
        if (typeof v === 'string') out.push(v);
        else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
        else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) walk(x, depth + 1);
      };
      walk(this.event, 0);
      this.all = out;
    }
    if (!lower) return this.all;
    this.allLower ??= this.all.map((s) => s.toLowerCase());
    return this.allLower;
  }
}
