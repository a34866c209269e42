/**
 * The condition language of Sigma rules: `and`, `or`, `not`, parentheses, `1 of` / `all of` with
 * identifier patterns and `them`. Parsed once into a small tree that the compiler turns into
 * closures. Precedence (least to most binding): or, and, not, x of, parentheses.
 */
import { SigmaUnsupportedError } from './errors.js';
import { compilePattern, parsePattern } from './wildcard.js';

/** A parsed condition. */
export type CondNode =
  | { t: 'id'; name: string }
  | { t: 'not'; e: CondNode }
  | { t: 'and'; es: CondNode[] }
  | { t: 'or'; es: CondNode[] }
  | { t: 'of'; all: boolean; pattern: string };

/** Deeper nesting than this is refused (a hostile rule cannot overflow the stack). */
export const MAX_CONDITION_DEPTH = 64;
const MAX_TOKENS = 10_000;

type Tok = { k: 'lp' | 'rp' | 'word'; v: string };

function tokenize(cond: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < cond.length) {
    const c = cond[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
    else if (c === '(') {
      toks.push({ k: 'lp', v: c });
      i++;
    } else if (c === ')') {
      toks.push({ k: 'rp', v: c });
      i++;
    } else if (c === '|') {
      throw new SigmaUnsupportedError(
        'legacy aggregation in the condition (`| count() …`); use a correlation rule instead',
      );
    } else {
      const m = /^[^\s()|]+/.exec(cond.slice(i, i + 1024));
      if (!m) throw new SigmaUnsupportedError(`unexpected character ${JSON.stringify(c)} in condition`);
      toks.push({ k: 'word', v: m[0] });
      i += m[0].length;
    }
    if (toks.length > MAX_TOKENS) throw new SigmaUnsupportedError('condition too long');
  }
  return toks;
}

/** Errors in a condition: the condition is malformed (the rule is invalid). */
export class ConditionError extends Error {}

/** Parse one condition string. */
export function parseCondition(cond: string): CondNode {
  const toks = tokenize(cond);
  let pos = 0;
  const peek = () => toks[pos];
  const isKw = (t: Tok | undefined, kw: string) => t?.k === 'word' && t.v.toLowerCase() === kw;

  const orExpr = (depth: number): CondNode => {
    if (depth > MAX_CONDITION_DEPTH)
      throw new SigmaUnsupportedError(`condition nested deeper than ${MAX_CONDITION_DEPTH} levels`);
    const es = [andExpr(depth)];
    while (isKw(peek(), 'or')) {
      pos++;
      es.push(andExpr(depth));
    }
    return es.length === 1 ? es[0]! : { t: 'or', es };
  };
  const andExpr = (depth: number): CondNode => {
    const es = [notExpr(depth)];
    while (isKw(peek(), 'and')) {
      pos++;
      es.push(notExpr(depth));
    }
    return es.length === 1 ? es[0]! : { t: 'and', es };
  };
  const notExpr = (depth: number): CondNode => {
    if (isKw(peek(), 'not')) {
      pos++;
      if (depth > MAX_CONDITION_DEPTH)
        throw new SigmaUnsupportedError(`condition nested deeper than ${MAX_CONDITION_DEPTH} levels`);
      return { t: 'not', e: notExpr(depth + 1) };
    }
    return primary(depth);
  };
  const primary = (depth: number): CondNode => {
    const t = peek();
    if (!t) throw new ConditionError('condition ends unexpectedly');
    if (t.k === 'lp') {
      pos++;
      const e = orExpr(depth + 1);
      if (peek()?.k !== 'rp') throw new ConditionError('missing `)` in condition');
      pos++;
      return e;
    }
    if (t.k === 'rp') throw new ConditionError('unexpected `)` in condition');
    const low = t.v.toLowerCase();
    if (isKw(toks[pos + 1], 'of')) {
      let all: boolean;
      if (low === '1' || low === 'any') all = false;
      else if (low === 'all') all = true;
      else if (/^\d+$/.test(low))
        throw new SigmaUnsupportedError(`\`${t.v} of\` (only \`1 of\` and \`all of\`)`);
      else throw new ConditionError(`\`${t.v} of\`: expected \`1 of\` or \`all of\``);
      pos += 2;
      const target = peek();
      if (target?.k !== 'word') throw new ConditionError('`of` must be followed by `them` or a pattern');
      pos++;
      return { t: 'of', all, pattern: target.v.toLowerCase() === 'them' ? '*' : target.v };
    }
    if (['and', 'or', 'not', 'of'].includes(low))
      throw new ConditionError(`unexpected \`${t.v}\` in condition`);
    if (low === 'near') throw new SigmaUnsupportedError('legacy `near` operator');
    pos++;
    return { t: 'id', name: t.v };
  };

  if (!toks.length) throw new ConditionError('empty condition');
  const tree = orExpr(0);
  if (pos < toks.length) throw new ConditionError(`unexpected \`${toks[pos]!.v}\` in condition`);
  return tree;
}

/** Search identifiers matched by an `x of` pattern (`them` = `*`; `_`-prefixed names excluded). */
export function identifiersFor(pattern: string, names: readonly string[]): string[] {
  const glob = compilePattern(parsePattern(pattern), true);
  return names.filter((n) => glob.test(n) && !(pattern === '*' && n.startsWith('_')));
}
