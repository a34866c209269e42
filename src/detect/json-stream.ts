/**
 * @module detect/json-stream
 * Splits text holding JSON objects one after another (pretty-printed or not, as the SigmaHQ
 * regression data and many log exports are) into the objects. Brace depth is tracked outside
 * strings only, so braces inside values do not confuse it.
 */
export function parseConcatenatedJson(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}
