/**
 * Value modifiers (Sigma modifiers appendix v2.1): turns one `field|mod|mod: values` entry of a
 * detection into a test over an event, once, at load time. Transformation modifiers (windash,
 * encodings, base64, base64offset, contains/startswith/endswith, expand) rewrite the values;
 * type modifiers (re, cidr, lt/lte/gt/gte, time parts, exists, fieldref) choose how they are
 * compared. A combination the engine cannot run faithfully raises SigmaUnsupportedError.
 */
import { RE2JS } from 're2js';
import { compileCidr, compileCidrList } from './cidr.js';
import { SigmaSyntaxError, SigmaUnsupportedError } from './errors.js';
import { type EventView, type FieldData, fieldRef } from './event.js';
import { type Anchor, MultiMatcher } from './multimatch.js';
import { type Atom, atomOf, KEYWORDS, type Need, UNKNOWN } from './need.js';
import { requiredLiteral } from './regex-need.js';
import type { CompileOptions } from './types.js';
import {
  compilePattern,
  hasWildcards,
  literal,
  type Pattern,
  parsePattern,
  plainText,
  STAR,
  type StrTest,
  wrap,
} from './wildcard.js';

/** A compiled test over one event. */
export type EventTest = (v: EventView) => boolean;

/** A compiled test and its necessary condition (see need.ts). */
export interface Compiled {
  test: EventTest;
  need: Need;
  /** How the test is built, so it can be specialised (specialize.ts); absent: opaque. */
  form?: Form;
}

/**
 * The structure of a compiled test: a test that reads one field only (and nothing else of the
 * event), or AND / OR / NOT of compiled tests. Tests that read several fields (fieldref) or every
 * string of the event (keywords) have no form.
 */
export type Form =
  | { op: 'field'; field: string }
  | { op: 'and' | 'or'; parts: readonly Compiled[] }
  | { op: 'not'; part: Compiled };

/** Lists at least this long of simple-shaped patterns go through one multi-pattern matcher. */
const MULTI_MIN = 3;

function simpleShape(p: Pattern): { anchor: Anchor; text: string } | undefined {
  const [a, b, c] = p;
  if (p.length === 2 && a === STAR && typeof b === 'string') return { anchor: 'suffix', text: b };
  if (p.length === 2 && b === STAR && typeof a === 'string') return { anchor: 'prefix', text: a };
  if (p.length === 3 && a === STAR && c === STAR && typeof b === 'string')
    return { anchor: 'contains', text: b };
  return undefined;
}

/**
 * Compile OR-ed wildcard patterns: the contains / startswith / endswith ones together into one
 * multi-pattern matcher when there are enough of them, the others one by one.
 */
function compileOred(ps: readonly Pattern[], cased: boolean): StrTest[] {
  const simple: { anchor: Anchor; text: string }[] = [];
  const rest: Pattern[] = [];
  for (const p of ps) {
    const s = simpleShape(p);
    if (s) simple.push(s);
    else rest.push(p);
  }
  if (simple.length < MULTI_MIN) return ps.map((p) => compilePattern(p, cased));
  const mm = new MultiMatcher(
    simple.map((s) => ({ anchor: s.anchor, text: cased ? s.text : s.text.toLowerCase(), id: 0 })),
  );
  return [{ ci: !cased, test: (s) => mm.test(s) }, ...rest.map((p) => compilePattern(p, cased))];
}

const TRANSFORMS = new Set([
  'contains',
  'startswith',
  'endswith',
  'windash',
  'base64',
  'base64offset',
  'utf16le',
  'utf16be',
  'utf16',
  'wide',
  'expand',
]);
const FLAGS = new Set(['all', 'cased', 'neq']);
const COMPARE = new Set(['lt', 'lte', 'gt', 'gte']);
const TIME = new Set(['minute', 'hour', 'day', 'week', 'month', 'year']);
const RE_FLAGS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  ignorecase: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  multiline: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  dotall: RE2JS.DOTALL,
};
const TYPES = new Set(['re', 'cidr', 'exists', 'fieldref']);
/** Every modifier name this engine implements (the whole v2.1 appendix). */
export const MODIFIERS: ReadonlySet<string> = new Set([
  ...TRANSFORMS,
  ...FLAGS,
  ...COMPARE,
  ...TIME,
  ...TYPES,
  ...Object.keys(RE_FLAGS),
]);

/** Bound on values one entry may expand to (windash permutations, placeholders). */
export const MAX_EXPANSION = 4096;
const WINDASH = ['-', '/', '\u2013', '\u2014', '\u2015'];

type Val = { k: 'pat'; p: Pattern } | { k: 'bytes'; b: Uint8Array };

interface Mods {
  field: string;
  list: string[];
  all: boolean;
  cased: boolean;
  neq: boolean;
  type?: string;
  reFlags: number;
  compare?: string;
  time?: string;
}

function parseMods(key: string): Mods {
  const [field = '', ...list] = key.split('|');
  const m: Mods = { field, list, all: false, cased: false, neq: false, reFlags: 0 };
  for (const mod of list) {
    if (!MODIFIERS.has(mod)) throw new SigmaUnsupportedError(`unknown modifier \`${mod}\` in \`${key}\``);
    if (mod in RE_FLAGS) {
      if (m.type !== 're')
        throw new SigmaSyntaxError(`modifier \`${mod}\` must follow \`re\` in \`${key}\``, 0);
      m.reFlags |= RE_FLAGS[mod]!;
    } else if (mod === 'all') m.all = true;
    else if (mod === 'cased') m.cased = true;
    else if (mod === 'neq') m.neq = true;
    else if (COMPARE.has(mod)) m.compare = mod;
    else if (TIME.has(mod)) m.time = mod;
    else if (TYPES.has(mod)) {
      if (m.type) throw new SigmaSyntaxError(`modifiers \`${m.type}\` and \`${mod}\` cannot be combined`, 0);
      m.type = mod;
    }
  }
  return m;
}

function expandPlaceholders(raw: string, opts: CompileOptions): string[] {
  // Split into literal text (with `\%` unescaped) and %name% placeholders.
  const pieces: (string | string[])[] = [];
  let lit = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && raw[i + 1] === '%') {
      lit += '%';
      i++;
    } else if (c === '%') {
      const end = raw.indexOf('%', i + 1);
      if (end < 0) {
        lit += c;
        continue;
      }
      const name = raw.slice(i + 1, end);
      const values = opts.placeholders?.[name];
      if (!values?.length) throw new SigmaUnsupportedError(`placeholder %${name}% is not configured`);
      pieces.push(lit, values);
      lit = '';
      i = end;
    } else lit += c;
  }
  pieces.push(lit);
  let out = [''];
  for (const p of pieces) {
    if (typeof p === 'string') out = out.map((o) => o + p);
    else out = out.flatMap((o) => p.map((v) => o + v));
    if (out.length > MAX_EXPANSION)
      throw new SigmaUnsupportedError(`placeholders expand to over ${MAX_EXPANSION} values`);
  }
  return out;
}

function windash(p: Pattern): Pattern[] {
  let out: Pattern[] = [[]];
  for (const part of p) {
    if (typeof part !== 'string') {
      for (const o of out) o.push(part);
      continue;
    }
    // Split the literal at dash characters; each dash becomes any of the five.
    let chunk = '';
    for (const ch of part) {
      if (WINDASH.includes(ch)) {
        const c = chunk;
        out = out.flatMap((o) => WINDASH.map((d) => [...o, c + d]));
        chunk = '';
        if (out.length > MAX_EXPANSION)
          throw new SigmaUnsupportedError(`windash expands to over ${MAX_EXPANSION} values`);
      } else chunk += ch;
    }
    for (const o of out) o.push(chunk);
  }
  // Merge adjacent literals.
  return out.map((o) => {
    const merged: Pattern = [];
    for (const x of o) {
      const last = merged[merged.length - 1];
      if (typeof x === 'string' && typeof last === 'string') merged[merged.length - 1] = last + x;
      else if (x !== '') merged.push(x);
    }
    return merged;
  });
}

function plainOf(v: Val, mod: string): string {
  if (v.k === 'bytes') throw new SigmaUnsupportedError(`\`${mod}\` applied to bytes`);
  if (hasWildcards(v.p)) throw new SigmaUnsupportedError(`\`${mod}\` on a value with wildcards`);
  return plainText(v.p);
}

function utf16(s: string, be: boolean, bom: boolean): Uint8Array {
  const out = new Uint8Array(s.length * 2 + (bom ? 2 : 0));
  let o = 0;
  if (bom) {
    out[o++] = 0xff;
    out[o++] = 0xfe;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[o++] = be ? c >> 8 : c & 0xff;
    out[o++] = be ? c & 0xff : c >> 8;
  }
  return out;
}

function bytesOf(v: Val, mod: string): Uint8Array {
  return v.k === 'bytes' ? v.b : new Uint8Array(Buffer.from(plainOf(v, mod), 'utf8'));
}

/** The three shifted base64 forms of a value, as pySigma and the specification define them. */
export function base64Offsets(b: Uint8Array): string[] {
  const start = [0, 2, 3];
  const end = [undefined, -3, -2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const padded = Buffer.concat([Buffer.alloc(i, 0x20), Buffer.from(b)]);
    out.push(padded.toString('base64').slice(start[i], end[(b.length + i) % 3]));
  }
  return out;
}

function applyTransforms(values: Val[], m: Mods): Val[] {
  let vals = values;
  for (const mod of m.list) {
    switch (mod) {
      case 'contains':
      case 'startswith':
      case 'endswith':
        vals = vals.map((v) =>
          v.k === 'pat'
            ? { k: 'pat', p: wrap(v.p, mod !== 'startswith', mod !== 'endswith') }
            : {
                k: 'pat',
                p: wrap(
                  literal(Buffer.from(v.b).toString('latin1')),
                  mod !== 'startswith',
                  mod !== 'endswith',
                ),
              },
        );
        break;
      case 'windash':
        vals = vals.flatMap((v) => (v.k === 'pat' ? windash(v.p).map((p): Val => ({ k: 'pat', p })) : [v]));
        if (vals.length > MAX_EXPANSION)
          throw new SigmaUnsupportedError(`windash expands to over ${MAX_EXPANSION} values`);
        break;
      case 'utf16le':
      case 'wide':
        vals = vals.map((v) => ({ k: 'bytes', b: utf16(plainOf(v, mod), false, false) }));
        break;
      case 'utf16be':
        vals = vals.map((v) => ({ k: 'bytes', b: utf16(plainOf(v, mod), true, false) }));
        break;
      case 'utf16':
        vals = vals.map((v) => ({ k: 'bytes', b: utf16(plainOf(v, mod), false, true) }));
        break;
      case 'base64':
        vals = vals.map((v) => ({ k: 'pat', p: literal(Buffer.from(bytesOf(v, mod)).toString('base64')) }));
        break;
      case 'base64offset':
        vals = vals.flatMap((v) =>
          base64Offsets(bytesOf(v, mod)).map((s): Val => ({ k: 'pat', p: literal(s) })),
        );
        break;
      default:
        break; // expand is applied before; flags and types are not transformations
    }
  }
  return vals;
}

/** A compiled matcher over the text values of a field (or of all keyword strings). */
export interface ValueMatcher {
  /** True when the values satisfy the entry (OR of its values, or AND with `all`). */
  match(fd: FieldData): boolean;
}

function anyValue(t: StrTest, fd: FieldData): boolean {
  const ss = t.ci ? fd.lowers() : fd.strs;
  for (let i = 0; i < ss.length; i++) if (t.test(ss[i]!)) return true;
  return false;
}

function fromTests(tests: StrTest[], all: boolean, exact?: { set: Set<string>; ci: boolean }): ValueMatcher {
  if (all) {
    return {
      match(fd) {
        for (const t of tests) if (!anyValue(t, fd)) return false;
        return true;
      },
    };
  }
  if (exact && !tests.length) {
    // Plain values only (the most common entry): one set lookup per value.
    const { set, ci } = exact;
    return {
      match(fd) {
        const ss = ci ? fd.lowers() : fd.strs;
        for (let i = 0; i < ss.length; i++) if (set.has(ss[i]!)) return true;
        return false;
      },
    };
  }
  if (!exact && tests.length === 1) {
    const t = tests[0]!;
    return { match: (fd) => anyValue(t, fd) };
  }
  return {
    match(fd) {
      if (exact) {
        const ss = exact.ci ? fd.lowers() : fd.strs;
        for (let i = 0; i < ss.length; i++) if (exact.set.has(ss[i]!)) return true;
      }
      for (const t of tests) if (anyValue(t, fd)) return true;
      return false;
    },
  };
}

function toNumber(v: unknown, key: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n))
    throw new SigmaSyntaxError(`\`${key}\` needs a number, got ${JSON.stringify(v)}`, 0);
  return n;
}

const CMP: Record<string, (a: number, b: number) => boolean> = {
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  eq: (a, b) => a === b,
};

const NAIVE_DATE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** Parse a date from event text (ISO 8601, `YYYY-MM-DD HH:MM:SS` as UTC, or epoch s/ms). */
export function parseDate(s: string): Date | undefined {
  const ms = parseTimeMs(s);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** The last text parsed and its time: the time rules of one event read one field several times. */
let lastText: string | undefined;
let lastMs = Number.NaN;

/** {@link parseDate} as milliseconds since the epoch (NaN: not a date). */
export function parseTimeMs(s: string): number {
  if (s === lastText) return lastMs;
  let ms = isoUtcMs(s);
  if (Number.isNaN(ms)) {
    if (/^\d+(\.\d+)?$/.test(s)) {
      const n = Number(s);
      ms = n > 1e11 ? n : n * 1000;
    } else ms = Date.parse(NAIVE_DATE.test(s) ? `${s.replace(' ', 'T')}Z` : s);
    if (!Number.isFinite(ms)) ms = Number.NaN;
  }
  lastText = s;
  lastMs = ms;
  return ms;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * The common case without Date.parse: `YYYY-MM-DDTHH:MM:SS.sssZ` as Vigil and most shippers
 * write it (what `toISOString` gives). NaN for anything else (then parsed the general way).
 */
export function isoUtcMs(s: string): number {
  if (s.length !== 24 || s.charCodeAt(23) !== 90 /* Z */) return Number.NaN;
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':' || s[19] !== '.')
    return Number.NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  const ms = digits(s, 20, 3);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
    return Number.NaN;
  if (ms < 0) return Number.NaN;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS[mo - 1]! + (leap ? 1 : 0)) return Number.NaN;
  return daysFromCivil(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (year ≥ 0), what `Date.UTC`
 * counts, in integer arithmetic: `Date.UTC` is a call into the runtime, and the detector reads
 * the time of every event that matches (H. Hinnant's days_from_civil).
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400; // [0, 399]
  const mp = month > 2 ? month - 3 : month + 9; // March = 0
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1; // [0, 365]
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy; // [0, 146096]
  return era * 146_097 + doe - 719_468;
}

function isoWeek(d: Date): number {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  return Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
}

/** {@link timePart} of a time in milliseconds (the common parts without a Date). */
function timePartMs(ms: number, part: string): number {
  if (part === 'hour') return Math.floor(ms / 3_600_000) - Math.floor(ms / 86_400_000) * 24;
  if (part === 'minute') return Math.floor(ms / 60_000) - Math.floor(ms / 3_600_000) * 60;
  return timePart(new Date(ms), part);
}

/** The time part a time modifier extracts (UTC; the specification does no zone conversion). */
export function timePart(d: Date, part: string): number {
  switch (part) {
    case 'minute':
      return d.getUTCMinutes();
    case 'hour':
      return d.getUTCHours();
    case 'day':
      return d.getUTCDate();
    case 'week':
      return isoWeek(d);
    case 'month':
      return d.getUTCMonth() + 1;
    default:
      return d.getUTCFullYear();
  }
}

/**
 * Compile the values of one entry into a matcher over text values (no field lookup): the part
 * shared by field entries and keyword lists.
 */
function compileValues(
  m: Mods,
  key: string,
  rawValues: unknown[],
  opts: CompileOptions,
): { vm: ValueMatcher; patterns?: Pattern[]; literals?: (string | undefined)[] } {
  if (m.type === 're') {
    if (m.list.some((x) => TRANSFORMS.has(x) || COMPARE.has(x) || TIME.has(x)))
      throw new SigmaUnsupportedError(`\`re\` combined with other value modifiers in \`${key}\``);
    const tests = rawValues.map((v): StrTest => {
      if (typeof v !== 'string')
        throw new SigmaSyntaxError(`\`${key}\`: a regular expression must be a string`, 0);
      let re: RE2JS;
      try {
        re = RE2JS.compile(v, m.reFlags);
      } catch (e) {
        throw new SigmaUnsupportedError(
          `regular expression ${JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}…` : v)} cannot run in linear time (RE2): ${(e as Error).message}`,
        );
      }
      return { ci: false, test: (s) => re.test(s) };
    });
    const ci = (m.reFlags & RE2JS.CASE_INSENSITIVE) !== 0;
    return {
      vm: fromTests(tests, m.all),
      literals: rawValues.map((v) => requiredLiteral(String(v), ci)),
    };
  }
  if (m.type === 'cidr') {
    const specs = rawValues.map((v) => {
      const spec = typeof v === 'string' ? v.trim() : undefined;
      if (spec === undefined || !compileCidr(spec))
        throw new SigmaSyntaxError(`\`${key}\`: invalid CIDR ${JSON.stringify(v)}`, 0);
      return spec;
    });
    // OR of the ranges: one test that parses each address once; `all`: one test per range.
    const tests = m.all
      ? specs.map((spec): StrTest => ({ ci: false, test: compileCidr(spec)! }))
      : [{ ci: false, test: compileCidrList(specs)! }];
    return { vm: fromTests(tests, m.all) };
  }
  if (m.time || m.compare) {
    if (m.list.some((x) => TRANSFORMS.has(x)))
      throw new SigmaUnsupportedError(`numeric comparison combined with string modifiers in \`${key}\``);
    const op = CMP[m.compare ?? 'eq']!;
    const part = m.time;
    const tests = rawValues.map((v): StrTest => {
      const n = toNumber(v, key);
      return {
        ci: false,
        test: (s) => {
          let x: number;
          if (part) {
            const ms = parseTimeMs(s);
            if (Number.isNaN(ms)) return false;
            x = timePartMs(ms, part);
          } else {
            if (s.trim() === '') return false;
            x = Number(s);
          }
          return Number.isFinite(x) && op(x, n);
        },
      };
    });
    return { vm: fromTests(tests, m.all) };
  }
  // Plain strings (with wildcards) through the transformation pipeline.
  let vals: Val[] = [];
  for (const v of rawValues) {
    if (typeof v === 'string') {
      const raws = m.list.includes('expand') ? expandPlaceholders(v, opts) : [v];
      for (const r of raws) vals.push({ k: 'pat', p: parsePattern(r) });
    } else if (typeof v === 'number' || typeof v === 'boolean')
      vals.push({ k: 'pat', p: literal(String(v)) });
    else throw new SigmaSyntaxError(`\`${key}\`: unsupported value ${JSON.stringify(v)}`, 0);
  }
  vals = applyTransforms(vals, m);
  const patterns = vals.map((v) => (v.k === 'pat' ? v.p : literal(Buffer.from(v.b).toString('latin1'))));
  const exact = new Set<string>();
  const wild: Pattern[] = [];
  for (const p of patterns) {
    if (!m.all && !hasWildcards(p)) exact.add(m.cased ? plainText(p) : plainText(p).toLowerCase());
    else wild.push(p);
  }
  const tests = m.all ? wild.map((p) => compilePattern(p, m.cased)) : compileOred(wild, m.cased);
  return {
    vm: fromTests(tests, m.all, exact.size ? { set: exact, ci: !m.cased } : undefined),
    patterns,
  };
}

/** The need of a positive field entry: one atom per value (OR), or the best one (with `all`). */
function entryNeed(
  field: string,
  c: { patterns?: Pattern[]; literals?: (string | undefined)[] } | undefined,
  m: Mods,
): Need {
  const atoms = c?.patterns
    ? c.patterns.map((p) => atomOf(field, p, m.cased))
    : c?.literals?.map((t): Atom | undefined => (t ? { field, anchor: 'contains', text: t } : undefined));
  if (!atoms?.length || (!m.all && !atoms.every((a) => a !== undefined))) return UNKNOWN;
  // OR of the values: one clause; with `all` every value is required: one clause each.
  const known = atoms.filter((a): a is Atom => a !== undefined);
  return m.all ? known.map((a) => [a]) : [known];
}

function fieldrefTest(m: Mods, key: string, rawValues: unknown[]): EventTest {
  if (
    m.list.some((x) =>
      ['windash', 'base64', 'base64offset', 'utf16le', 'utf16be', 'utf16', 'wide', 'expand'].includes(x),
    )
  )
    throw new SigmaUnsupportedError(`\`fieldref\` combined with encoding modifiers in \`${key}\``);
  const before = m.list.includes('contains') || m.list.includes('endswith');
  const after = m.list.includes('contains') || m.list.includes('startswith');
  const refs = rawValues.map((v) => {
    if (typeof v !== 'string') throw new SigmaSyntaxError(`\`${key}\`: fieldref needs a field name`, 0);
    return v;
  });
  const cmp = (a: string, b: string) =>
    before && after ? a.includes(b) : before ? a.endsWith(b) : after ? a.startsWith(b) : a === b;
  const one = (fd: FieldData, other: FieldData) => {
    const as = m.cased ? fd.strs : fd.lowers();
    const bs = m.cased ? other.strs : other.lowers();
    for (const a of as) for (const b of bs) if (cmp(a, b)) return true;
    return false;
  };
  const self = fieldRef(m.field);
  const others = refs.map(fieldRef);
  return (v) => {
    const fd = v.field(self);
    if (!fd.present || fd.isNull) return false;
    const results = others.map((r) => {
      const other = v.field(r);
      return other.present && !other.isNull && one(fd, other);
    });
    const ok = m.all ? results.every(Boolean) : results.some(Boolean);
    return m.neq ? !ok : ok;
  };
}

/** Compile one `field|modifiers: value(s)` entry of a search identifier, with its need. */
export function compileFieldEntry(key: string, value: unknown, opts: CompileOptions): Compiled {
  const m = parseMods(key);
  const values = Array.isArray(value) ? value : [value];
  if (!values.length) throw new SigmaSyntaxError(`\`${key}\` has an empty list of values`, 0);
  if (m.all && values.length < 2 && m.type !== 'fieldref') {
    // The specification forbids `all` on one value; it means the same as without `all`.
    m.all = false;
  }
  if (m.field === '') {
    // `'|all': [...]` and friends: keyword search with modifiers.
    const anchored = m.type || m.list.some((x) => ['contains', 'startswith', 'endswith'].includes(x));
    const km = { ...m, list: anchored ? m.list : [...m.list, 'contains'] };
    const c = compileValues(km, key, values, opts);
    return { test: keywordTest(c.vm), need: entryNeed(KEYWORDS, c, km) };
  }
  if (m.type === 'exists') {
    const b = values[0];
    if (values.length !== 1 || (typeof b !== 'boolean' && b !== 'true' && b !== 'false'))
      throw new SigmaSyntaxError(`\`${key}\` needs true or false`, 0);
    const want = b === true || b === 'true';
    const f = fieldRef(m.field);
    return { test: (v) => v.field(f).present === want, need: UNKNOWN, form: { op: 'field', field: m.field } };
  }
  if (m.type === 'fieldref') return { test: fieldrefTest(m, key, values), need: UNKNOWN };
  const hasNull = values.some((x) => x === null);
  const nonNull = values.filter((x) => x !== null);
  const f = fieldRef(m.field);
  const c = nonNull.length ? compileValues(m, key, nonNull, opts) : undefined;
  const vm = c?.vm;
  // Every test below reads this one field only.
  const form: Form = { op: 'field', field: m.field };
  if (m.neq) {
    return {
      test: (v) => {
        const fd = v.field(f);
        if (hasNull && fd.isNull) return false;
        if (fd.isNull) return vm !== undefined;
        return vm ? !vm.match(fd) : true;
      },
      need: UNKNOWN,
      form,
    };
  }
  if (!vm) return { test: (v) => v.field(f).isNull, need: UNKNOWN, form };
  if (hasNull) {
    return {
      test: (v) => {
        const fd = v.field(f);
        return fd.isNull || vm.match(fd);
      },
      need: UNKNOWN,
      form,
    };
  }
  return {
    test: (v) => {
      const fd = v.field(f);
      return !fd.isNull && vm.match(fd);
    },
    need: entryNeed(m.field, c, m),
    form,
  };
}

function keywordTest(vm: ValueMatcher): EventTest {
  return (v) => vm.match(v.keywords());
}

/** Compile a keyword list (plain strings searched in every string value of the event). */
export function compileKeywords(values: unknown[], opts: CompileOptions): Compiled {
  const m: Mods = { field: '', list: ['contains'], all: false, cased: false, neq: false, reFlags: 0 };
  const c = compileValues(m, 'keywords', values, opts);
  return { test: keywordTest(c.vm), need: entryNeed(KEYWORDS, c, m) };
}
