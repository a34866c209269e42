/**
 * Parses Sigma YAML text into validated rule objects. A file may hold one document or a
 * multi-document collection (correlations beside their rules, or legacy `action: global` /
 * `repeat` / `reset` collections of Sigma 1.x, which are expanded here so that the rest of the
 * engine only sees plain rules). Every error carries the file and the line.
 */
import { type Document, LineCounter, parseAllDocuments, type Scalar, visit } from 'yaml';
import { SigmaSyntaxError } from './errors.js';
import type {
  CorrelationRule,
  CorrelationType,
  CountCondition,
  DetectionRule,
  FilterRule,
  LoadError,
  LogSource,
  RuleMeta,
  SigmaRule,
} from './types.js';

/** Result of parsing one file: the rules it holds and the documents that failed. */
export interface ParseResult {
  rules: SigmaRule[];
  errors: LoadError[];
}

type Obj = Record<string, unknown>;

const STATUSES = new Set(['stable', 'test', 'experimental', 'deprecated', 'unsupported']);
const LEVELS = new Set(['informational', 'low', 'medium', 'high', 'critical']);
const CORRELATION_TYPES = new Set<CorrelationType>([
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
]);
const NEEDS_FIELD = new Set<CorrelationType>(['value_count', 'value_sum', 'value_avg', 'value_percentile']);
const NEEDS_CONDITION = new Set<CorrelationType>([
  'event_count',
  'value_count',
  'value_sum',
  'value_avg',
  'value_percentile',
]);
const CONDITION_KEYS = new Set(['gt', 'gte', 'lt', 'lte', 'eq', 'neq']);
/** Limits against hostile input: a rule file is small, a YAML alias bomb is not. */
const MAX_TEXT = 4 * 1024 * 1024;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Numbers written in a form JavaScript would not print back the same way (`0x17`, `07`, `1.10`)
 * stay strings: Sigma compares values as text, and the event holds `0x17`, not 23.
 */
function keepNumericSource(doc: Document): void {
  visit(doc, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value === 'number' && node.source !== undefined && node.source !== String(node.value))
        node.value = node.source;
    },
  });
}

/** Line (1-based) of the node at `path` in the document, or of the document itself. */
function lineAt(doc: Document, lc: LineCounter, path: readonly (string | number)[]): number {
  let node = path.length
    ? (doc.getIn(path, true) as { range?: [number, number, number] } | undefined)
    : undefined;
  // getIn on a scalar value returns the scalar; on a key that is absent, undefined.
  if (!node && path.length > 1) node = doc.getIn(path.slice(0, -1), true) as typeof node;
  const range = node?.range ?? (doc.contents as { range?: [number, number, number] } | null)?.range;
  return range ? lc.linePos(range[0]).line : 0;
}

function merge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? merge(b, v) : v;
  }
  return out;
}

/** Parse all rules of one file. Never throws: problems become `errors`. */
export function parseRuleText(text: string, file: string): ParseResult {
  const rules: SigmaRule[] = [];
  const errors: LoadError[] = [];
  if (text.length > MAX_TEXT) {
    errors.push({ file, line: 0, message: `file larger than ${MAX_TEXT} bytes` });
    return { rules, errors };
  }
  const lc = new LineCounter();
  let docs: Document[];
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true }) as Document[];
  } catch (e) {
    errors.push({ file, line: 0, message: `YAML: ${(e as Error).message}` });
    return { rules, errors };
  }
  if (!Array.isArray(docs)) docs = [];
  let global: Obj | undefined;
  let previous: Obj | undefined;
  let index = 0;
  for (const doc of docs) {
    index++;
    const docLine = lineAt(doc, lc, []);
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      errors.push({
        file,
        line: e.linePos?.[0]?.line ?? docLine,
        message: `YAML: ${e.message.split('\n')[0]}`,
      });
      continue;
    }
    if (doc.contents === null) continue; // an empty document (trailing `---`)
    keepNumericSource(doc);
    let obj: unknown;
    try {
      obj = doc.toJS({ maxAliasCount: 50 });
    } catch (e) {
      errors.push({ file, line: docLine, message: `YAML: ${(e as Error).message}` });
      continue;
    }
    if (!isObj(obj)) {
      errors.push({ file, line: docLine, message: 'a Sigma document must be a mapping' });
      continue;
    }
    const action = obj.action;
    if (action !== undefined) {
      const { action: _drop, ...rest } = obj;
      if (action === 'global') {
        global = rest;
        continue;
      }
      if (action === 'reset') {
        global = undefined;
        continue;
      }
      if (action === 'repeat') {
        if (!previous) {
          errors.push({ file, line: docLine, message: '`action: repeat` without a previous rule' });
          continue;
        }
        obj = merge(previous, rest);
      } else {
        errors.push({ file, line: lineAt(doc, lc, ['action']), message: `unknown action ${String(action)}` });
        continue;
      }
    } else if (global) {
      obj = merge(global, obj);
    }
    previous = obj as Obj;
    try {
      rules.push(validate(obj as Obj, file, index, (path) => lineAt(doc, lc, path) || docLine));
    } catch (e) {
      if (e instanceof SigmaSyntaxError) errors.push({ file, line: e.line || docLine, message: e.message });
      else throw e;
    }
  }
  return { rules, errors };
}

type LineOf = (path: readonly (string | number)[]) => number;

function str(obj: Obj, key: string, lineOf: LineOf, required: boolean, max = 65535): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new SigmaSyntaxError(`missing required attribute \`${key}\``, lineOf([]));
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new SigmaSyntaxError(`\`${key}\` must be a string`, lineOf([key]));
  const s = String(v);
  if (s.length > max) throw new SigmaSyntaxError(`\`${key}\` longer than ${max} characters`, lineOf([key]));
  return s;
}

function strList(obj: Obj, key: string, lineOf: LineOf): string[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw new SigmaSyntaxError(`\`${key}\` must be a list`, lineOf([key]));
  return v.map((x, i) => {
    if (typeof x !== 'string' && typeof x !== 'number')
      throw new SigmaSyntaxError(`\`${key}\` item must be a string`, lineOf([key, i]));
    return String(x);
  });
}

function meta(obj: Obj, file: string, index: number, lineOf: LineOf): RuleMeta {
  const title = str(obj, 'title', lineOf, true, 256)!;
  const id = str(obj, 'id', lineOf, false);
  const name = str(obj, 'name', lineOf, false, 256);
  const status = str(obj, 'status', lineOf, false);
  if (status !== undefined && !STATUSES.has(status))
    throw new SigmaSyntaxError(`unknown status \`${status}\``, lineOf(['status']));
  const level = str(obj, 'level', lineOf, false);
  if (level !== undefined && !LEVELS.has(level))
    throw new SigmaSyntaxError(`unknown level \`${level}\``, lineOf(['level']));
  const description = str(obj, 'description', lineOf, false);
  const tags = strList(obj, 'tags', lineOf);
  const m: RuleMeta = {
    id: id ?? name ?? `${file}#${index}`,
    title,
    tags,
    pos: { file, line: lineOf([]) },
  };
  if (name !== undefined) m.name = name;
  if (status !== undefined) m.status = status;
  if (level !== undefined) m.level = level;
  if (description !== undefined) m.description = description;
  return m;
}

function logsource(obj: Obj, lineOf: LineOf): LogSource {
  const ls = obj.logsource;
  if (!isObj(ls)) throw new SigmaSyntaxError('missing or invalid `logsource` mapping', lineOf(['logsource']));
  const out: LogSource = {};
  for (const k of ['product', 'category', 'service'] as const) {
    const v = ls[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string')
      throw new SigmaSyntaxError(`logsource.${k} must be a string`, lineOf(['logsource', k]));
    out[k] = v.toLowerCase();
  }
  return out;
}

function searchIdentifiers(det: Obj, path: string[], lineOf: LineOf, skip: Set<string>): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(det)) {
    if (skip.has(k)) continue;
    const ok =
      (Array.isArray(v) && v.every((x) => isObj(x) || typeof x !== 'object' || x === null)) ||
      isObj(v) ||
      typeof v === 'string' ||
      typeof v === 'number';
    if (!ok)
      throw new SigmaSyntaxError(`search identifier \`${k}\` must be a map or a list`, lineOf([...path, k]));
    out[k] = v;
  }
  return out;
}

function conditions(v: unknown, lineOf: LineOf, path: string[]): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length && v.every((c) => typeof c === 'string')) return v as string[];
  throw new SigmaSyntaxError('`condition` must be a string or a list of strings', lineOf(path));
}

function validate(obj: Obj, file: string, index: number, lineOf: LineOf): SigmaRule {
  if (obj.correlation !== undefined) return correlation(obj, file, index, lineOf);
  if (obj.filter !== undefined && obj.detection === undefined) return filter(obj, file, index, lineOf);
  const m = meta(obj, file, index, lineOf);
  const ls = logsource(obj, lineOf);
  const det = obj.detection;
  if (!isObj(det))
    throw new SigmaSyntaxError('missing or invalid `detection` mapping', lineOf(['detection']));
  if (det.condition === undefined)
    throw new SigmaSyntaxError('`detection` has no `condition`', lineOf(['detection']));
  const conds = conditions(det.condition, lineOf, ['detection', 'condition']);
  const ids = searchIdentifiers(det, ['detection'], lineOf, new Set(['condition', 'timeframe']));
  const rule: DetectionRule = {
    ...m,
    kind: 'detection',
    logsource: ls,
    detection: ids,
    conditions: conds,
    fields: strList(obj, 'fields', lineOf),
  };
  return rule;
}

function filter(obj: Obj, file: string, index: number, lineOf: LineOf): FilterRule {
  const m = meta(obj, file, index, lineOf);
  const ls = logsource(obj, lineOf);
  const f = obj.filter;
  if (!isObj(f)) throw new SigmaSyntaxError('`filter` must be a mapping', lineOf(['filter']));
  const rules = strList(f, 'rules', (p) => lineOf(['filter', ...p]));
  if (!rules.length)
    throw new SigmaSyntaxError('`filter.rules` must name at least one rule', lineOf(['filter']));
  if (f.condition === undefined)
    throw new SigmaSyntaxError('`filter` has no `condition`', lineOf(['filter']));
  const cond = conditions(f.condition, lineOf, ['filter', 'condition']);
  if (cond.length !== 1)
    throw new SigmaSyntaxError('`filter.condition` must be one string', lineOf(['filter']));
  const detection = searchIdentifiers(f, ['filter'], lineOf, new Set(['rules', 'condition']));
  if (!Object.keys(detection).length)
    throw new SigmaSyntaxError('`filter` has no selection', lineOf(['filter']));
  return { ...m, kind: 'filter', logsource: ls, rules, detection, condition: cond[0]! };
}

const TIMESPAN = /^(\d+)([smhdwMy])$/;
const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  M: 2_592_000_000,
  y: 31_536_000_000,
};

/** Parse a correlation timespan (`90m`, `1h`, `7d`) into milliseconds. */
export function parseTimespan(v: string): number | undefined {
  const m = TIMESPAN.exec(v);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

function correlation(obj: Obj, file: string, index: number, lineOf: LineOf): CorrelationRule {
  const m = meta(obj, file, index, lineOf);
  const c = obj.correlation;
  const at = (...p: (string | number)[]) => lineOf(['correlation', ...p]);
  if (!isObj(c)) throw new SigmaSyntaxError('`correlation` must be a mapping', lineOf(['correlation']));
  const type = c.type;
  if (typeof type !== 'string' || !CORRELATION_TYPES.has(type as CorrelationType))
    throw new SigmaSyntaxError(`unknown correlation type \`${String(type)}\``, at('type'));
  const t = type as CorrelationType;
  const rules = strList(c, 'rules', (p) => at(...p));
  if (!rules.length)
    throw new SigmaSyntaxError('`correlation.rules` must name at least one rule', at('rules'));
  const groupBy = strList(c, 'group-by', (p) => at(...p));
  const ts = c.timespan;
  const timespanMs = typeof ts === 'string' ? parseTimespan(ts) : undefined;
  if (timespanMs === undefined)
    throw new SigmaSyntaxError(
      `invalid or missing \`timespan\` (${String(ts)}): use e.g. 5m, 1h, 7d`,
      at('timespan'),
    );
  const condition: CountCondition = {};
  let field: string | undefined;
  const cond = c.condition;
  if (cond !== undefined) {
    if (!isObj(cond))
      throw new SigmaSyntaxError('`correlation.condition` must be a mapping', at('condition'));
    for (const [k, v] of Object.entries(cond)) {
      if (k === 'field') {
        if (typeof v === 'string') field = v;
        else if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') field = v[0];
        else throw new SigmaSyntaxError('`condition.field` must be a field name', at('condition', k));
        continue;
      }
      if (!CONDITION_KEYS.has(k))
        throw new SigmaSyntaxError(`unknown condition operator \`${k}\``, at('condition', k));
      const n = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(n))
        throw new SigmaSyntaxError(`condition \`${k}\` must be a number`, at('condition', k));
      condition[k as keyof CountCondition] = n;
    }
    if (!Object.keys(condition).length)
      throw new SigmaSyntaxError(
        '`correlation.condition` needs one of gt, gte, lt, lte, eq, neq',
        at('condition'),
      );
  } else if (NEEDS_CONDITION.has(t)) {
    throw new SigmaSyntaxError(`a ${t} correlation needs a \`condition\``, at());
  }
  if (NEEDS_FIELD.has(t) && field === undefined)
    throw new SigmaSyntaxError(`a ${t} correlation needs \`condition.field\``, at('condition'));
  if (t === 'value_percentile') {
    for (const v of Object.values(condition))
      if (v !== undefined && (v < 0 || v > 100))
        throw new SigmaSyntaxError('a percentile condition must be between 0 and 100', at('condition'));
  }
  const aliases: Record<string, Record<string, string>> = {};
  if (c.aliases !== undefined) {
    if (!isObj(c.aliases)) throw new SigmaSyntaxError('`aliases` must be a mapping', at('aliases'));
    for (const [alias, map] of Object.entries(c.aliases)) {
      if (!isObj(map) || !Object.values(map).every((x) => typeof x === 'string'))
        throw new SigmaSyntaxError(
          `alias \`${alias}\` must map rule names to field names`,
          at('aliases', alias),
        );
      aliases[alias] = map as Record<string, string>;
    }
  }
  const gen = obj.generate ?? c.generate;
  if (gen !== undefined && typeof gen !== 'boolean')
    throw new SigmaSyntaxError('`generate` must be true or false', lineOf(['generate']));
  const rule: CorrelationRule = {
    ...m,
    kind: 'correlation',
    type: t,
    rules,
    groupBy,
    timespanMs,
    condition,
    aliases,
    generate: gen === true,
  };
  if (field !== undefined) rule.field = field;
  return rule;
}
