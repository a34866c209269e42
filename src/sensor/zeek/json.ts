/**
 * @module sensor/zeek/json
 * Zeek's JSON log format (one object per line, `LogAscii::use_json`). Values are brought to the
 * same normal form as the TSV reader's (see values.ts).
 *
 * Two paths give the same records. The fast one fits how Zeek writes: `_path` and `_write_ts`
 * lead the line, so they are cut from the text before parsing and the parsed object becomes the
 * record, its values normalised in place (rebuilding a 25-field object key by key cost three
 * times the `JSON.parse` itself). Anything else (those fields elsewhere, a null, a field name that
 * would reach a prototype, a nested object) takes the general path, which builds a new record.
 */
import {
  newRecord,
  normJsonTime,
  normNumber,
  UNSAFE_KEYS,
  type ZeekRecord,
  type ZeekValue,
} from './values.js';

/** Fields that hold times; with Zeek's `epoch` JSON timestamps they arrive as numbers. */
function isTimeField(key: string): boolean {
  return (
    key === 'ts' ||
    key.endsWith('_ts') ||
    key === 'certificate.not_valid_before' ||
    key === 'certificate.not_valid_after'
  );
}
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export type JsonLine =
  | { kind: 'record'; path: string; record: ZeekRecord }
  | { kind: 'skip'; reason: string };

/** A cheap test that rules out most strings before the ISO_TIME expression runs. */
function mayBeIsoTime(s: string): boolean {
  return s.length >= 20 && s.charCodeAt(4) === 45 && s.charCodeAt(10) === 84 && ISO_TIME.test(s);
}

function norm(value: unknown): ZeekValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? normNumber(value) : undefined;
  if (typeof value === 'string') return mayBeIsoTime(value) ? normJsonTime(value) : value;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    const out: ZeekValue[] = [];
    for (const v of value) {
      // An empty string in a container carries nothing, and TSV cannot tell it from an empty
      // container (Zeek writes both as `(empty)`), so both readers drop it.
      if (v === '') continue;
      const n = norm(v);
      if (n === undefined) return undefined;
      out.push(n);
    }
    return out;
  }
  return undefined;
}

export function parseZeekJsonLine(line: string, defaultPath: string): JsonLine {
  return fastJsonLine(line) ?? generalJsonLine(line, defaultPath);
}

/**
 * The general path: any JSON object, a new record built field by field. Exported for the test
 * that holds the fast path to it.
 */
export function generalJsonLine(line: string, defaultPath: string): JsonLine {
  if (line.trim() === '') return { kind: 'skip', reason: 'empty-line' };
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return { kind: 'skip', reason: 'bad-json' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    return { kind: 'skip', reason: 'not-an-object' };
  const path =
    typeof (obj as { _path?: unknown })._path === 'string' ? (obj as { _path: string })._path : defaultPath;
  const record = newRecord();
  for (const [key, value] of Object.entries(obj)) {
    if (key === '_path' || key === '_write_ts' || value === null) continue;
    if (UNSAFE_KEYS.has(key)) continue;
    const v = typeof value === 'number' && isTimeField(key) ? normJsonTime(value) : norm(value);
    if (v === undefined) return { kind: 'skip', reason: 'bad-value' };
    record[key] = v;
  }
  return { kind: 'record', path, record };
}

const PATH_PREFIX = '{"_path":"';
const WRITE_TS = '"_write_ts":"';

/** True when `s[from, to)` holds only characters that need no JSON escape and end no string. */
function plainRun(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x5c || c > 0x7e) return false;
  }
  return true;
}

/**
 * The fast path (module comment): the line as Zeek writes it, or undefined for the general path.
 * A line it parses but cannot finish goes to the general path too, which decides the outcome.
 */
function fastJsonLine(line: string): JsonLine | undefined {
  if (!line.startsWith(PATH_PREFIX)) return undefined;
  const pathEnd = line.indexOf('"', PATH_PREFIX.length);
  if (pathEnd === -1 || !plainRun(line, PATH_PREFIX.length, pathEnd)) return undefined;
  const path = line.slice(PATH_PREFIX.length, pathEnd);
  let at = pathEnd + 1;
  if (line.charCodeAt(at) !== 44) return undefined; // ','
  at++;
  if (line.startsWith(WRITE_TS, at)) {
    const tsEnd = line.indexOf('"', at + WRITE_TS.length);
    if (tsEnd === -1 || !plainRun(line, at + WRITE_TS.length, tsEnd) || line.charCodeAt(tsEnd + 1) !== 44)
      return undefined;
    at = tsEnd + 2;
  }
  // `{"_path":"dns",` + rest is the object `{` + rest only when rest begins with the next member.
  if (line.charCodeAt(at) !== 34) return undefined; // '"'
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(`{${line.slice(at)}`) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  return normaliseInPlace(obj) ? { kind: 'record', path, record: obj as ZeekRecord } : undefined;
}

/** A container element that normalisation leaves as it is, bar rounding a finite number. */
function plainElement(v: unknown): boolean {
  return (
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    (typeof v === 'string' && v !== '' && !mayBeIsoTime(v))
  );
}

/**
 * Normalises a parsed object's values in place, as the general path would build them; false when
 * it needs the general path (the object is then dropped).
 */
function normaliseInPlace(obj: Record<string, unknown>): boolean {
  for (const key of Object.keys(obj)) {
    if (key === '_path' || key === '_write_ts' || UNSAFE_KEYS.has(key)) return false;
    const value = obj[key];
    switch (typeof value) {
      case 'string':
        // Zeek's own form (six decimals) is already the normal one.
        if (mayBeIsoTime(value) && !(value.length === 27 && value.charCodeAt(19) === 46)) {
          const t = normJsonTime(value);
          if (t === undefined) return false;
          obj[key] = t;
        }
        break;
      case 'number': {
        if (!Number.isFinite(value)) return false;
        if (isTimeField(key)) {
          const t = normJsonTime(value);
          if (t === undefined) return false;
          obj[key] = t;
        } else if (!Number.isInteger(value)) obj[key] = normNumber(value);
        break;
      }
      case 'boolean':
        break;
      case 'object': {
        if (!Array.isArray(value)) return false; // null, or a nested object
        if (value.every(plainElement)) {
          for (let i = 0; i < value.length; i++) {
            const v = value[i];
            if (typeof v === 'number' && !Number.isInteger(v)) value[i] = normNumber(v);
          }
        } else {
          const n = norm(value);
          if (n === undefined) return false;
          obj[key] = n;
        }
        break;
      }
      default:
        return false;
    }
  }
  return true;
}
