/**
 * Sigma string values: escape handling (`\*`, `\?`, `\\`) and wildcard matching (`*`, `?`).
 * Wildcards are matched by a purpose-built glob matcher (leftmost segment search), never by a
 * backtracking regular expression, so a hostile value cannot make matching super-linear in the
 * number of stars.
 */

/** A wildcard in a parsed value. */
export const STAR: unique symbol = Symbol('*');
export const QMARK: unique symbol = Symbol('?');
export type Part = string | typeof STAR | typeof QMARK;
/** A parsed Sigma string: literal runs and wildcards. */
export type Pattern = Part[];

/** Parse a Sigma string value, applying the escape rules of the specification. */
export function parsePattern(raw: string): Pattern {
  const out: Pattern = [];
  let lit = '';
  const flush = () => {
    if (lit) out.push(lit);
    lit = '';
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const n = raw[i + 1];
      if (n === '*' || n === '?' || n === '\\') {
        lit += n;
        i++;
      } else lit += '\\';
    } else if (c === '*') {
      flush();
      if (out[out.length - 1] !== STAR) out.push(STAR);
    } else if (c === '?') {
      flush();
      out.push(QMARK);
    } else lit += c;
  }
  flush();
  return out;
}

/** A plain (wildcard-free) pattern holding `text`. */
export function literal(text: string): Pattern {
  return text ? [text] : [];
}

export function hasWildcards(p: Pattern): boolean {
  return p.some((x) => typeof x !== 'string');
}

/** The text of a wildcard-free pattern. */
export function plainText(p: Pattern): string {
  return p.map((x) => (typeof x === 'string' ? x : x === STAR ? '*' : '?')).join('');
}

/** Wrap a pattern with leading and/or trailing `*` (contains / startswith / endswith). */
export function wrap(p: Pattern, before: boolean, after: boolean): Pattern {
  const out = [...p];
  if (before && out[0] !== STAR) out.unshift(STAR);
  if (after && out[out.length - 1] !== STAR) out.push(STAR);
  return out;
}

/** A segment between stars: text, with `?` positions marked. */
interface Segment {
  text: string;
  /** true at positions that are `?` (any one character); undefined when there are none. */
  any?: boolean[];
}

function segAt(s: string, at: number, seg: Segment): boolean {
  const t = seg.text;
  if (!seg.any) return s.startsWith(t, at);
  for (let i = 0; i < t.length; i++)
    if (!seg.any[i] && s.charCodeAt(at + i) !== t.charCodeAt(i)) return false;
  return true;
}

function segFind(s: string, from: number, limit: number, seg: Segment): number {
  const len = seg.text.length;
  if (!seg.any) {
    const i = s.indexOf(seg.text, from);
    return i >= 0 && i + len <= limit ? i : -1;
  }
  for (let i = from; i + len <= limit; i++) if (segAt(s, i, seg)) return i;
  return -1;
}

/** A compiled string test. `ci` says the input must be passed lower-cased. */
export interface StrTest {
  ci: boolean;
  test(s: string): boolean;
}

/**
 * Compile a pattern into a string test. Case-insensitive tests lower-case the pattern once here
 * and expect the caller to pass the lower-cased input (computed once per event and field).
 */
export function compilePattern(p: Pattern, cased: boolean): StrTest {
  const ci = !cased;
  const norm = (t: string) => (ci ? t.toLowerCase() : t);
  // Fast paths for the shapes almost every rule uses.
  const onlyLit = p.every((x) => typeof x === 'string');
  if (onlyLit) {
    const t = norm(p.join(''));
    return { ci, test: (s) => s === t };
  }
  if (p.length === 2 && p[0] === STAR && typeof p[1] === 'string') {
    const t = norm(p[1]);
    return { ci, test: (s) => s.endsWith(t) };
  }
  if (p.length === 2 && p[1] === STAR && typeof p[0] === 'string') {
    const t = norm(p[0]);
    return { ci, test: (s) => s.startsWith(t) };
  }
  if (p.length === 3 && p[0] === STAR && p[2] === STAR && typeof p[1] === 'string') {
    const t = norm(p[1]);
    return { ci, test: (s) => s.includes(t) };
  }
  if (p.length === 1 && p[0] === STAR) return { ci, test: () => true };
  // General case: split at stars into segments.
  const segs: Segment[] = [];
  let cur: Segment = { text: '' };
  const startsStar = p[0] === STAR;
  const endsStar = p[p.length - 1] === STAR;
  const flush = () => {
    segs.push(cur);
    cur = { text: '' };
  };
  for (const x of p) {
    if (x === STAR) flush();
    else if (x === QMARK) {
      cur.any ??= new Array<boolean>(cur.text.length).fill(false);
      cur.text += '?';
      cur.any.push(true);
    } else {
      const t = norm(x);
      cur.text += t;
      if (cur.any) for (let i = 0; i < t.length; i++) cur.any.push(false);
    }
  }
  flush();
  if (!p.includes(STAR)) {
    const seg = segs[0]!;
    return { ci, test: (s) => s.length === seg.text.length && segAt(s, 0, seg) };
  }
  const first = startsStar ? undefined : segs[0];
  const last = endsStar ? undefined : segs[segs.length - 1];
  const middle = segs
    .slice(startsStar ? 0 : 1, endsStar ? segs.length : segs.length - 1)
    .filter((g) => g.text);
  const minLen = segs.reduce((n, g) => n + g.text.length, 0);
  return {
    ci,
    test(s) {
      if (s.length < minLen) return false;
      let pos = 0;
      let limit = s.length;
      if (first) {
        if (!segAt(s, 0, first)) return false;
        pos = first.text.length;
      }
      if (last) {
        limit = s.length - last.text.length;
        if (limit < pos || !segAt(s, limit, last)) return false;
      }
      for (const g of middle) {
        const i = segFind(s, pos, limit, g);
        if (i < 0) return false;
        pos = i + g.text.length;
      }
      return true;
    },
  };
}
