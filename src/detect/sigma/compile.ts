/**
 * Compiles a detection rule once into closures: search identifiers become event tests (maps are
 * AND of fields, lists of maps OR, keyword lists OR over every string of the event) and the
 * condition becomes a tree of closures over them. Matching an event then runs no interpretation
 * of the rule text at all.
 */
import { ConditionError, type CondNode, identifiersFor, parseCondition } from './condition.js';
import { SigmaSyntaxError, SigmaUnsupportedError } from './errors.js';
import type { EventView } from './event.js';
import { compileFieldEntry, compileKeywords, type EventTest } from './modifiers.js';
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
  source: DetectionRule;
}

/** Bound on entries per search identifier (a hostile rule cannot make compilation unbounded). */
const MAX_ENTRIES = 100_000;

function compileMap(map: Record<string, unknown>, opts: CompileOptions, fields: Set<string>): EventTest {
  const tests: EventTest[] = [];
  for (const [key, value] of Object.entries(map)) {
    try {
      tests.push(compileFieldEntry(key, value, opts));
    } catch (e) {
      if (e instanceof SigmaSyntaxError || e instanceof SigmaUnsupportedError)
        e.message = `${key}: ${e.message}`;
      throw e;
    }
    const f = key.split('|')[0];
    if (f) fields.add(f);
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [EventTest, EventTest];
    return (v) => a(v) && b(v);
  }
  return (v) => {
    for (const t of tests) if (!t(v)) return false;
    return true;
  };
}

/** Compile one search identifier. */
export function compileSearch(value: unknown, opts: CompileOptions, fields: Set<string>): EventTest {
  if (isObj(value)) return compileMap(value, opts, fields);
  const list = Array.isArray(value) ? value : [value];
  if (list.length > MAX_ENTRIES) throw new SigmaUnsupportedError(`more than ${MAX_ENTRIES} list items`);
  const keywords = list.filter((x) => !isObj(x));
  const maps = list.filter(isObj);
  const tests: EventTest[] = maps.map((m) => compileMap(m, opts, fields));
  if (keywords.length) {
    if (keywords.some((k) => k === null || Array.isArray(k)))
      throw new SigmaSyntaxError('a keyword list holds only strings and numbers', 0);
    tests.push(compileKeywords(keywords, opts));
  }
  if (tests.length === 0) throw new SigmaSyntaxError('empty search identifier', 0);
  if (tests.length === 1) return tests[0]!;
  return (v) => {
    for (const t of tests) if (t(v)) return true;
    return false;
  };
}

function compileNode(node: CondNode, ids: Map<string, EventTest>): EventTest {
  switch (node.t) {
    case 'id': {
      const t = ids.get(node.name);
      if (!t) throw new SigmaSyntaxError(`condition names unknown search identifier \`${node.name}\``, 0);
      return t;
    }
    case 'not': {
      const e = compileNode(node.e, ids);
      return (v) => !e(v);
    }
    case 'and':
    case 'or': {
      const es = node.es.map((e) => compileNode(e, ids));
      return combine(es, node.t === 'and');
    }
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

function combine(es: EventTest[], and: boolean): EventTest {
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
): EventTest {
  const ids = new Map<string, EventTest>();
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
  const test = compileDetection(rule.detection, rule.conditions, opts, fields);
  const c: CompiledRule = {
    id: rule.id,
    title: rule.title,
    tags: rule.tags,
    logsource: rule.logsource,
    fields: [...fields],
    test,
    source: rule,
  };
  if (rule.name !== undefined) c.name = rule.name;
  if (rule.level !== undefined) c.level = rule.level;
  return c;
}

/** Compile a meta filter's selection into an exclusion test. */
export function compileFilter(filter: FilterRule, opts: CompileOptions = {}): EventTest {
  return compileDetection(filter.detection, [filter.condition], opts);
}

/** Run a compiled rule on a view (convenience for callers holding a view). */
export function runRule(rule: CompiledRule, v: EventView): boolean {
  return rule.test(v);
}
