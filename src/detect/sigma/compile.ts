/**
 * Compiles a detection rule once into closures: search identifiers become event tests (maps are
 * AND of fields, lists of maps OR, keyword lists OR over every string of the event) and the
 * condition becomes a tree of closures over them. Matching an event then runs no interpretation
 * of the rule text at all.
 */
import { ConditionError, type CondNode, identifiersFor, parseCondition } from './condition.js';
import { SigmaSyntaxError, SigmaUnsupportedError } from './errors.js';
import type { EventView } from './event.js';
import { type Compiled, compileFieldEntry, compileKeywords, type EventTest, type Form } from './modifiers.js';
import { type Need, needAll, needAny, UNKNOWN } from './need.js';
import { isObj } from './parse.js';
import type { CompileOptions, DetectionRule, FilterRule, LogSource } from './types.js';

/** A rule ready to run: metadata and one closure. */
export interface CompiledRule {
  id: string;
  title: string;
  name?: string;
  level?: string;
  tags: string[];
  logsource: LogSource;
  /** Fields the rule reads (for indexing and documentation). */
  fields: string[];
  /** The compiled detection. */
  test: EventTest;
  /** A necessary condition the rule set checks first (no clause: always evaluate). */
  need: Need;
  /** How `test` is built (for specialisation, see specialize.ts); absent: opaque. */
  form?: Form;
  source: DetectionRule;
}

/** Bound on entries per search identifier (a hostile rule cannot make compilation unbounded). */
const MAX_ENTRIES = 100_000;

function compileMap(map: Record<string, unknown>, opts: CompileOptions, fields: Set<string>): Compiled {
  const parts: Compiled[] = [];
  for (const [key, value] of Object.entries(map)) {
    try {
      parts.push(compileFieldEntry(key, value, opts));
    } catch (e) {
      if (e instanceof SigmaSyntaxError || e instanceof SigmaUnsupportedError)
        e.message = `${key}: ${e.message}`;
      throw e;
    }
    const f = key.split('|')[0];
    if (f) fields.add(f);
  }
  if (parts.length === 0) return { test: () => true, need: UNKNOWN, form: { op: 'and', parts: [] } };
  return combine(parts, true);
}

/** Compile one search identifier. */
export function compileSearch(value: unknown, opts: CompileOptions, fields: Set<string>): Compiled {
  if (isObj(value)) return compileMap(value, opts, fields);
  const list = Array.isArray(value) ? value : [value];
  if (list.length > MAX_ENTRIES) throw new SigmaUnsupportedError(`more than ${MAX_ENTRIES} list items`);
  const keywords = list.filter((x) => !isObj(x));
  const maps = list.filter(isObj);
  const parts: Compiled[] = maps.map((m) => compileMap(m, opts, fields));
  if (keywords.length) {
    if (keywords.some((k) => k === null || Array.isArray(k)))
      throw new SigmaSyntaxError('a keyword list holds only strings and numbers', 0);
    parts.push(compileKeywords(keywords, opts));
  }
  if (parts.length === 0) throw new SigmaSyntaxError('empty search identifier', 0);
  return combine(parts, false);
}

function compileNode(node: CondNode, ids: Map<string, Compiled>): Compiled {
  switch (node.t) {
    case 'id': {
      const t = ids.get(node.name);
      if (!t) throw new SigmaSyntaxError(`condition names unknown search identifier \`${node.name}\``, 0);
      return t;
    }
    case 'not': {
      const part = compileNode(node.e, ids);
      const e = part.test;
      return { test: (v) => !e(v), need: UNKNOWN, form: { op: 'not', part } };
    }
    case 'and':
    case 'or':
      return combine(
        node.es.map((e) => compileNode(e, ids)),
        node.t === 'and',
      );
    case 'of': {
      const names = identifiersFor(node.pattern, [...ids.keys()]);
      if (!names.length)
        throw new SigmaSyntaxError(
          `\`${node.all ? 'all' : '1'} of ${node.pattern}\` matches no search identifier`,
          0,
        );
      return combine(
        names.map((n) => ids.get(n)!),
        node.all,
      );
    }
  }
}

function combine(parts: Compiled[], and: boolean): Compiled {
  const need = and ? needAll(parts.map((p) => p.need)) : needAny(parts.map((p) => p.need));
  return {
    test: combineTests(
      parts.map((p) => p.test),
      and,
    ),
    need,
    form: { op: and ? 'and' : 'or', parts },
  };
}

/** AND or OR of tests (at least one), as one test. */
export function combineTests(es: EventTest[], and: boolean): EventTest {
  if (es.length === 1) return es[0]!;
  if (es.length === 2) {
    const [a, b] = es as [EventTest, EventTest];
    return and ? (v) => a(v) && b(v) : (v) => a(v) || b(v);
  }
  return and
    ? (v) => {
        for (const e of es) if (!e(v)) return false;
        return true;
      }
    : (v) => {
        for (const e of es) if (e(v)) return true;
        return false;
      };
}

/** Compile a detection section and its conditions (a list of conditions is an OR). */
export function compileDetection(
  detection: Record<string, unknown>,
  conditions: string[],
  opts: CompileOptions,
  fields: Set<string> = new Set(),
): Compiled {
  const ids = new Map<string, Compiled>();
  for (const [name, value] of Object.entries(detection)) {
    try {
      ids.set(name, compileSearch(value, opts, fields));
    } catch (e) {
      if (e instanceof SigmaSyntaxError || e instanceof SigmaUnsupportedError)
        e.message = `${name}.${e.message}`;
      throw e;
    }
  }
  const tests = conditions.map((c) => {
    try {
      return compileNode(parseCondition(c), ids);
    } catch (e) {
      if (e instanceof ConditionError) throw new SigmaSyntaxError(`condition: ${e.message}`, 0);
      throw e;
    }
  });
  return combine(tests, false);
}

/** Compile a detection rule. Throws SigmaSyntaxError or SigmaUnsupportedError with the reason. */
export function compileRule(rule: DetectionRule, opts: CompileOptions = {}): CompiledRule {
  const fields = new Set<string>();
  const { test, need, form } = compileDetection(rule.detection, rule.conditions, opts, fields);
  const c: CompiledRule = {
    id: rule.id,
    title: rule.title,
    tags: rule.tags,
    logsource: rule.logsource,
    fields: [...fields],
    test,
    need,
    source: rule,
  };
  if (form) c.form = form;
  if (rule.name !== undefined) c.name = rule.name;
  if (rule.level !== undefined) c.level = rule.level;
  return c;
}

/** Compile a meta filter's selection into an exclusion test. */
export function compileFilter(filter: FilterRule, opts: CompileOptions = {}): EventTest {
  return compileDetection(filter.detection, [filter.condition], opts).test;
}

/** Run a compiled rule on a view (convenience for callers holding a view). */
export function runRule(rule: CompiledRule, v: EventView): boolean {
  return rule.test(v);
}
