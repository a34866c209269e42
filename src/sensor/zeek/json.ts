/**
 * @module sensor/zeek/json
 * Zeek's JSON log format (one object per line, `LogAscii::use_json`). Values are brought to the
 * same normal form as the TSV reader's (see values.ts).
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
const TIME_FIELD = /(^ts$|_ts$|^certificate\.not_valid_(before|after)$)/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export type JsonLine =
  | { kind: 'record'; path: string; record: ZeekRecord }
  | { kind: 'skip'; reason: string };

function norm(value: unknown): ZeekValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? normNumber(value) : undefined;
  if (typeof value === 'string') return ISO_TIME.test(value) ? normJsonTime(value) : value;
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
    const v = typeof value === 'number' && TIME_FIELD.test(key) ? normJsonTime(value) : norm(value);
    if (v === undefined) return { kind: 'skip', reason: 'bad-value' };
    record[key] = v;
  }
  return { kind: 'record', path, record };
}
