/**
 * Field access on events, shared by every compiled rule during one `match` call: a field is
 * looked up, flattened and lower-cased once per event, however many rules test it. Field names
 * may contain dots: the exact key is tried first, then a nested path.
 *
 * Rules name their fields through {@link FieldRef}s made once at compile time (an interned id and
 * the name's dotted parts), so a lookup on the hot path is an array slot and, on a miss, a walk
 * that allocates nothing. A rule set reuses one view for every event ({@link EventView.reset}):
 * the per-field data objects are reused too, so matching an event allocates almost nothing.
 */
import type { SigmaEvent } from './types.js';

/** The values of one field of one event, ready for matching (valid until the view moves on). */
export class FieldData {
  /** The key exists (even with a null value): what `exists` tests. */
  present = false;
  /** Absent or null: what a `null` value in a rule tests. */
  isNull = true;
  /** Scalar values as text (arrays flattened; objects and null left out). */
  strs: string[] = NONE;
  private low: string[] | undefined = NONE;
  /** Reused arrays for the common single value (no allocation per event). */
  private readonly one: string[] = [''];
  private readonly lowOne: string[] = [''];

  /** `strs` lower-cased (computed on first use). */
  lowers(): string[] {
    let low = this.low;
    if (low === undefined) {
      const strs = this.strs;
      if (strs === this.one) {
        low = this.lowOne;
        low[0] = strs[0]!.toLowerCase();
      } else {
        low = new Array<string>(strs.length);
        for (let i = 0; i < strs.length; i++) low[i] = strs[i]!.toLowerCase();
      }
      this.low = low;
    }
    return low;
  }

  /** Empties the data (absent field). */
  clear(): void {
    this.present = false;
    this.isNull = true;
    this.strs = NONE;
    this.low = NONE;
  }

  /** Holds one string value. */
  setOne(s: string): void {
    this.present = true;
    this.isNull = false;
    this.one[0] = s;
    this.strs = this.one;
    this.low = undefined;
  }

  /** Holds these strings (arrays flattened, keyword search over the whole event). */
  setStrings(strs: string[], lowers?: string[]): void {
    this.present = true;
    this.isNull = false;
    this.strs = strs;
    this.low = lowers;
  }
}

/** The values of an absent or null field (never written to). */
const NONE: string[] = [];

/** A field name as compiled rules hold it: interned, with its dotted parts split once. */
export interface FieldRef {
  readonly name: string;
  /** Slot of the field in a view (-1: not interned, looked up afresh each time). */
  readonly id: number;
  /** The name's dot-separated parts (one part: no dot). */
  readonly segs: readonly string[];
  /** `rests[k]`: the parts from k on, joined (`rests[0]` is the name). */
  readonly rests: readonly string[];
}

/** Distinct field names interned (beyond it, names are looked up without a slot). */
const MAX_REFS = 1_000_000;
const refs = new Map<string, FieldRef>();

function makeRef(name: string, id: number): FieldRef {
  const segs = name.split('.');
  const rests = segs.map((_, k) => segs.slice(k).join('.'));
  return { name, id, segs, rests };
}

/** The interned reference of a field name (one per name for the whole process). */
export function fieldRef(name: string): FieldRef {
  let r = refs.get(name);
  if (!r) {
    r = makeRef(name, refs.size < MAX_REFS ? refs.size : -1);
    if (r.id >= 0) refs.set(name, r);
  }
  return r;
}

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

/** What {@link lookup} returns for a field the event does not have. */
const MISSING: unique symbol = Symbol('missing');

/**
 * The value of a field, as {@link resolveField} finds it (MISSING when it does not), without
 * allocating on the common paths: the same depth-first search, with the name's parts split once.
 */
export function lookup(ev: SigmaEvent, ref: FieldRef): unknown {
  return resolveIn(ev, ref, 0);
}

/** `resolveField(obj, ref.rests[k])`, MISSING when not found. */
function resolveIn(obj: unknown, ref: FieldRef, k: number): unknown {
  if (typeof obj !== 'object' || obj === null) return MISSING;
  const o = obj as Record<string, unknown>;
  const rest = ref.rests[k]!;
  if (hasOwn.call(o, rest)) return o[rest];
  const segs = ref.segs;
  if (Array.isArray(o) || k === segs.length - 1) return Array.isArray(o) ? slowIn(o, rest) : MISSING;
  // Split points in resolveField's order: the first part, then longer heads holding dots.
  const first = segs[k]!;
  if (hasOwn.call(o, first)) {
    const r = resolveIn(o[first], ref, k + 1);
    if (r !== MISSING) return r;
  }
  return otherSplits(o, ref, k);
}

/** resolveField's split points of `ref.rests[k]` after the first (heads that hold a dot). */
function otherSplits(o: Record<string, unknown>, ref: FieldRef, k: number): unknown {
  const segs = ref.segs;
  let head = segs[k]!;
  for (let j = k + 1; j < segs.length - 1; j++) {
    head = `${head}.${segs[j]}`;
    if (hasOwn.call(o, head)) {
      const r = resolveIn(o[head], ref, j + 1);
      if (r !== MISSING) return r;
    }
  }
  return MISSING;
}

function slowIn(obj: unknown, name: string): unknown {
  const r = resolveField(obj, name);
  return r.found ? r.value : MISSING;
}

/**
 * A Vigil event as rules see it without copying it: the keys of its `data` lifted to the top
 * where the event has no such key, and the enrichment's keys over both; the same as the object
 * `{...data, ...event, ...extra}` (which {@link merged} builds when something needs it whole).
 */
export interface Layers {
  extra: SigmaEvent | undefined;
  event: SigmaEvent;
  /** A plain object (not a list), or undefined. */
  data: SigmaEvent | undefined;
}

/** The object the layers stand for. */
export function merged(l: Layers): SigmaEvent {
  return { ...l.data, ...l.event, ...l.extra };
}

/** The merged object's own key `k`, MISSING when none of the layers has it. */
function ownOf(l: Layers, k: string): unknown {
  const { extra, event, data } = l;
  if (extra !== undefined && hasOwn.call(extra, k)) return extra[k];
  if (hasOwn.call(event, k)) return event[k];
  if (data !== undefined && hasOwn.call(data, k)) return data[k];
  return MISSING;
}

/** {@link lookup} on the merged object of some layers (the same search, key by key). */
export function lookupLayers(l: Layers, ref: FieldRef): unknown {
  const v = ownOf(l, ref.name);
  if (v !== MISSING) return v;
  const segs = ref.segs;
  let head = '';
  for (let j = 0; j < segs.length - 1; j++) {
    head = j === 0 ? segs[0]! : `${head}.${segs[j]}`;
    const h = ownOf(l, head);
    if (h !== MISSING) {
      const r = resolveIn(h, ref, j + 1);
      if (r !== MISSING) return r;
    }
  }
  return MISSING;
}

/**
 * The value of a field of the merged object of some layers (what `resolveField` gives on it),
 * undefined when it has none.
 */
export function layersValue(l: Layers, ref: FieldRef): unknown {
  const v = lookupLayers(l, ref);
  return v === MISSING ? undefined : v;
}

function scalarText(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out.push(String(v));
}

/** Fills `fd` with the values of a field (MISSING: absent). */
function fill(fd: FieldData, value: unknown): void {
  if (typeof value === 'string') {
    fd.setOne(value);
    return;
  }
  fd.clear();
  if (value === MISSING) return;
  fd.present = true;
  if (value === null || value === undefined) return;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    fd.setOne(String(value));
    return;
  }
  const strs: string[] = [];
  if (Array.isArray(value)) for (const x of value) scalarText(x, strs);
  fd.setStrings(strs);
}

/**
 * A per-event view with memoised field data. Create one per event, or keep one and
 * {@link reset} it for each event (what a rule set does): data handed out by `field` is valid
 * until the next reset.
 */
export class EventView {
  private epoch = 1;
  /** Per field slot: the epoch its data was filled in, and the data. */
  private stamps = new Uint32Array(0);
  private readonly data: FieldData[] = [];
  private all: string[] | undefined;
  private allLower: string[] | undefined;
  private readonly kw = new FieldData();

  private plain: SigmaEvent;
  private layers: Layers | undefined;

  constructor(event: SigmaEvent) {
    this.plain = event;
  }

  /** The event (for layers, their merged object, built on first use). */
  get event(): SigmaEvent {
    if (this.layers) {
      this.plain = merged(this.layers);
      this.layers = undefined;
    }
    return this.plain;
  }

  /** Moves the view to another event. */
  reset(event: SigmaEvent): void {
    this.plain = event;
    this.layers = undefined;
    this.next();
  }

  /** Moves the view to a layered event (see {@link Layers}; the view keeps the object). */
  resetLayers(layers: Layers): void {
    this.layers = layers;
    this.next();
  }

  private next(): void {
    this.all = undefined;
    this.allLower = undefined;
    if (++this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
  }

  private find(ref: FieldRef): unknown {
    return this.layers ? lookupLayers(this.layers, ref) : lookup(this.plain, ref);
  }

  field(f: FieldRef | string): FieldData {
    const ref = typeof f === 'string' ? fieldRef(f) : f;
    const id = ref.id;
    if (id < 0) {
      const fd = new FieldData();
      fill(fd, this.find(ref));
      return fd;
    }
    if (id >= this.stamps.length) {
      const grown = new Uint32Array(Math.max(64, (id + 1) * 2));
      grown.set(this.stamps);
      this.stamps = grown;
    }
    let fd = this.data[id];
    if (this.stamps[id] === this.epoch) return fd!;
    if (!fd) {
      fd = new FieldData();
      while (this.data.length < id) this.data.push(undefined as unknown as FieldData);
      this.data[id] = fd;
    }
    fill(fd, this.find(ref));
    this.stamps[id] = this.epoch;
    return fd;
  }

  /** Every string value of the event as field data (keyword search). */
  keywords(): FieldData {
    const kw = this.kw;
    const all = this.strings(false);
    if (kw.strs !== all) kw.setStrings(all, this.allLower);
    return kw;
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
