/**
 * A multi-pattern string matcher (Aho–Corasick, compiled into a dense DFA over the patterns' own
 * alphabet): many `contains` / `startswith` / `endswith` / exact patterns are found in one pass
 * over a value, instead of one `includes` per pattern. SigmaHQ rules hold lists of hundreds of
 * command-line fragments; testing them one at a time was the engine's main cost. Built once at
 * compile time; scanning is linear in the value's length plus the number of hits.
 */

/** How a pattern must sit in the value. */
export type Anchor = 'contains' | 'prefix' | 'suffix' | 'exact';

/** One pattern of a matcher. `id` is the caller's (several patterns may share one). */
export interface MultiPattern {
  text: string;
  anchor: Anchor;
  id: number;
}

/** Above this many DFA cells the matcher keeps sparse transitions (memory stays bounded). */
const MAX_DENSE_CELLS = 16_000_000;
/** Dense DFA columns (the most frequent characters of the patterns, plus "other"). */
const MAX_DENSE_CLASSES = 128;

/** A compiled set of patterns; see the module comment. */
export class MultiMatcher {
  /** Number of distinct caller ids. */
  readonly ids: number;
  private readonly width: number;
  private readonly ascii = new Int32Array(128);
  private readonly wide = new Map<number, number>();
  private readonly delta: Int32Array;
  private readonly fail: Int32Array;
  private readonly rareCount: number;
  /** Sparse edges on rare characters: key state * rareCount + rare index. */
  private readonly rareGoto = new Map<number, number>();
  /** Per state: index into `outs` of its own patterns, and the next state with output. */
  private readonly outStart: Int32Array;
  private readonly outEnd: Int32Array;
  private readonly dictLink: Int32Array;
  /** Per state: the first state of its output chain (itself or a dictionary link), or ≤ 0. */
  private readonly firstOut: Int32Array;
  private readonly outPattern: Int32Array;
  private readonly patLen: Int32Array;
  private readonly patAnchor: Uint8Array;
  private readonly patId: Int32Array;
  /** Set when an empty pattern matches at position 0 (e.g. prefix ''). */
  private readonly emptyIds: { id: number; anchor: Anchor }[] = [];

  /**
   * @param foldAscii the patterns are lower-case and `scanFolded` will be used: upper-case ASCII
   * letters share the lower-case letters' transitions.
   */
  constructor(patterns: readonly MultiPattern[], foldAscii = false) {
    this.ids = patterns.reduce((n, p) => Math.max(n, p.id + 1), 0);
    const real = patterns.filter((p) => {
      if (p.text.length) return true;
      this.emptyIds.push({ id: p.id, anchor: p.anchor });
      return false;
    });
    // Alphabet: the most frequent characters get dense DFA columns (class 0 is "a character no
    // pattern holds"); the rest (rare, often non-ASCII) use sparse goto + failure transitions.
    const freq = new Map<number, number>();
    for (const p of real)
      for (let i = 0; i < p.text.length; i++) {
        const c = p.text.charCodeAt(i);
        freq.set(c, (freq.get(c) ?? 0) + 1);
      }
    // ASCII first (always dense: scans of ASCII text never take the sparse path), then by frequency.
    const rank = (c: number) => (c < 128 ? 0 : 1);
    const byFreq = [...freq.keys()].sort((a, b) => rank(a) - rank(b) || freq.get(b)! - freq.get(a)! || a - b);
    byFreq.forEach((c, i) => {
      // Dense classes are 1..127; rare characters get -1, -2, … (their sparse index + 1, negated).
      const k = i < MAX_DENSE_CLASSES - 1 ? i + 1 : -(i - (MAX_DENSE_CLASSES - 1)) - 1;
      if (c < 128) this.ascii[c] = k;
      else this.wide.set(c, k);
    });
    // Upper-case ASCII letters share their lower-case letter's class: `scanFolded` then reads
    // ASCII text without lower-casing it first.
    if (foldAscii) for (let c = 65; c <= 90; c++) this.ascii[c] = this.ascii[c + 32]!;
    const classes = Math.min(byFreq.length, MAX_DENSE_CLASSES - 1) + 1;
    this.rareCount = Math.max(0, byFreq.length - (MAX_DENSE_CLASSES - 1));
    const classOf = (c: number): number => (c < 128 ? this.ascii[c]! : (this.wide.get(c) ?? 0));
    // Trie with sparse children while building (rare classes are negative).
    const children: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    real.forEach((p, pi) => {
      let s = 0;
      for (let i = 0; i < p.text.length; i++) {
        const k = classOf(p.text.charCodeAt(i));
        let next = children[s]!.get(k);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          own.push([]);
          children[s]!.set(k, next);
        }
        s = next;
      }
      own[s]!.push(pi);
    });
    // Number states breadth-first: scans spend most steps near the root, whose rows then sit
    // together in memory (a deep-first numbering scattered them over megabytes).
    const { children: kids, own: outs0 } = renumber(children, own);
    const n = kids.length;
    this.width = classes;
    if (n * classes > MAX_DENSE_CELLS)
      throw new RangeError(`pattern set too large for one matcher (${n} states × ${classes} classes)`);
    this.delta = new Int32Array(n * classes);
    const fail = new Int32Array(n);
    this.fail = fail;
    this.dictLink = new Int32Array(n).fill(-1);
    const rareChild = (k: number, s: number, c: number) => {
      if (k < 0) this.rareGoto.set(s * this.rareCount + (-k - 1), c);
    };
    // Breadth-first: complete the dense DFA from failure links; rare edges stay sparse.
    const queue: number[] = [];
    for (const [k, c] of kids[0]!) {
      if (k > 0) this.delta[k] = c;
      rareChild(k, 0, c);
      queue.push(c);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      const f = fail[s]!;
      const row = s * classes;
      const frow = f * classes;
      for (let k = 0; k < classes; k++) this.delta[row + k] = this.delta[frow + k]!;
      for (const [k, c] of kids[s]!) {
        if (k > 0) {
          this.delta[row + k] = c;
          fail[c] = this.delta[frow + k]!;
        } else {
          rareChild(k, s, c);
          fail[c] = this.rareStep(f, -k - 1);
        }
        queue.push(c);
      }
      this.dictLink[s] = outs0[f]!.length ? f : this.dictLink[f]!;
    }
    // Flatten outputs.
    this.outStart = new Int32Array(n);
    this.outEnd = new Int32Array(n);
    const outs: number[] = [];
    for (let s = 0; s < n; s++) {
      this.outStart[s] = outs.length;
      outs.push(...outs0[s]!);
      this.outEnd[s] = outs.length;
    }
    this.outPattern = Int32Array.from(outs);
    this.firstOut = new Int32Array(n);
    for (let st = 0; st < n; st++)
      this.firstOut[st] = this.outStart[st] !== this.outEnd[st] ? st : this.dictLink[st]!;
    this.patLen = Int32Array.from(real.map((p) => p.text.length));
    this.patAnchor = Uint8Array.from(real.map((p) => ANCHOR_CODE[p.anchor]));
    this.patId = Int32Array.from(real.map((p) => p.id));
  }

  /**
   * Calls `hit(id)` for every pattern found in `s` with its anchor respected (an id may be
   * reported more than once). Returning true from `hit` stops the scan early.
   */
  scan(s: string, hit: (id: number) => boolean | undefined): boolean {
    return this.run(s, hit, false);
  }

  /**
   * Like `scan` on `s.toLowerCase()` (built with `foldAscii`), without lower-casing: ASCII
   * upper-case letters fold into their lower-case class. A string with a non-ASCII character is
   * lower-cased first (Unicode lower-casing is not one character to one); ids found before that
   * character may then be reported twice.
   */
  scanFolded(s: string, hit: (id: number) => boolean | undefined): boolean {
    return this.run(s, hit, true);
  }

  private run(s: string, hit: (id: number) => boolean | undefined, folded: boolean): boolean {
    const len = s.length;
    for (const e of this.emptyIds) if ((e.anchor !== 'exact' || len === 0) && hit(e.id)) return true;
    const { delta, width, ascii, firstOut } = this;
    let state = 0;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 128) state = delta[state * width + ascii[c]!]!;
      else {
        if (folded) return this.run(s.toLowerCase(), hit, false);
        const k = this.wide.get(c) ?? 0;
        state = k >= 0 ? delta[state * width + k]! : this.rareStep(state, -k - 1);
      }
      if (firstOut[state]! > 0 && this.report(state, i, len, hit)) return true;
    }
    return false;
  }

  /** Report the patterns ending at position `i` in state `state`; true stops the scan. */
  private report(state: number, i: number, len: number, hit: (id: number) => boolean | undefined): boolean {
    const { outStart, outEnd, dictLink, outPattern, patLen, patAnchor, patId } = this;
    for (let o = this.firstOut[state]!; o > 0; o = dictLink[o]!) {
      for (let j = outStart[o]!; j < outEnd[o]!; j++) {
        const p = outPattern[j]!;
        const a = patAnchor[p]!;
        if (a !== CONTAINS) {
          const atStart = i + 1 === patLen[p]!;
          const atEnd = i + 1 === len;
          if (a === PREFIX ? !atStart : a === SUFFIX ? !atEnd : !(atStart && atEnd)) continue;
        }
        if (hit(patId[p]!)) return true;
      }
    }
    return false;
  }

  /** Transition on a rare character: follow failure links to a state with that edge. */
  private rareStep(state: number, r: number): number {
    for (let s = state; ; s = this.fail[s]!) {
      const next = this.rareGoto.get(s * this.rareCount + r);
      if (next !== undefined) return next;
      if (s === 0) return 0;
    }
  }

  /** Does any pattern occur in `s`? */
  test(s: string): boolean {
    return this.scan(s, () => true);
  }
}

const CONTAINS = 0;
const PREFIX = 1;
const SUFFIX = 2;
const ANCHOR_CODE: Record<Anchor, number> = { contains: CONTAINS, prefix: PREFIX, suffix: SUFFIX, exact: 3 };

/** Renumber trie states in breadth-first order. */
function renumber(children: Map<number, number>[], own: number[][]) {
  const order = [0];
  for (let i = 0; i < order.length; i++) for (const c of children[order[i]!]!.values()) order.push(c);
  const newId = new Int32Array(children.length);
  order.forEach((old, i) => {
    newId[old] = i;
  });
  return {
    children: order.map((old) => new Map([...children[old]!].map(([k, c]) => [k, newId[c]!] as const))),
    own: order.map((old) => own[old]!),
  };
}
