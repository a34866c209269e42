/**
 * The literal text every match of a regular expression must contain, when one can be read off
 * the pattern safely: the longest run of plain characters at the top level (no top-level
 * alternation; groups, classes, escapes and optional characters end a run). It becomes a
 * `contains` atom of the rule's need, so regex rules are skipped on events that cannot match
 * instead of running RE2 on every event. When in doubt, nothing is returned (the rule then
 * always runs): a need must never exclude a match.
 */

const ASCII_PRINTABLE = /^[\x20-\x7e]+$/;
/** Escapes that stand for one literal punctuation character. */
const PUNCT = /^[^A-Za-z0-9]$/;

/** Skip a group or class starting at `i`; returns the index after its end, or -1. */
function skip(src: string, i: number): number {
  const open = src[i];
  let depth = 0;
  let inClass = open === '[';
  if (inClass) {
    let j = i + 1;
    if (src[j] === '^') j++;
    if (src[j] === ']') j++;
    for (; j < src.length; j++) {
      if (src[j] === '\\') j++;
      else if (src[j] === ']') return j + 1;
    }
    return -1;
  }
  for (let j = i; j < src.length; j++) {
    const c = src[j];
    if (c === '\\') j++;
    else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (src[j + 1] === '^') j++;
      if (src[j + 1] === ']') j++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return j + 1;
  }
  return -1;
}

/**
 * The longest literal (lower-cased) that every match of `src` contains, or undefined. `ci`: the
 * expression is case-insensitive (then `s` ends a run, since RE2 folds the long s `ſ` into it,
 * which lower-casing does not).
 */
export function requiredLiteral(src: string, flagCi: boolean): string | undefined {
  const ci = flagCi || /\(\?[a-zA-Z-]*i/.test(src);
  let best = '';
  let cur = '';
  const end = () => {
    if (cur.length > best.length) best = cur;
    cur = '';
  };
  for (let i = 0; i < src.length; ) {
    const c = src[i]!;
    if (c === '|') return undefined;
    if (c === '(' || c === '[') {
      end();
      i = skip(src, i);
      if (i < 0) return undefined;
      continue;
    }
    if (c === '*' || c === '?' || c === '{') {
      cur = cur.slice(0, -1); // the character before is optional
      end();
      if (c === '{') {
        const close = src.indexOf('}', i);
        if (close < 0) return undefined;
        i = close + 1;
      } else i++;
      continue;
    }
    if (c === '+') {
      end();
      i++;
      continue;
    }
    let lit: string | undefined;
    if (c === '\\') {
      const n = src[i + 1];
      if (n !== undefined && PUNCT.test(n)) lit = n;
      i += 2;
    } else {
      if (c !== '.' && c !== '^' && c !== '$') lit = c;
      i++;
    }
    if (lit === undefined || !ASCII_PRINTABLE.test(lit) || (ci && lit.toLowerCase() === 's')) {
      end();
      continue;
    }
    cur += lit.toLowerCase();
  }
  end();
  return best.length ? best : undefined;
}
