/**
 * Loading a rule directory (or rule texts) into a runnable RuleSet plus the check report that
 * `vigil rules check` prints: what loaded, what is unsupported (with the reason) and what is
 * invalid (with file and line). Nothing is dropped silently.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type CompiledRule, compileFilter, compileRule } from './compile.js';
import { SigmaSyntaxError, SigmaUnsupportedError } from './errors.js';
import { parseRuleText } from './parse.js';
import { type CompiledFilter, RuleSet } from './ruleset.js';
import type {
  CompileOptions,
  CorrelationRule,
  DetectionRule,
  FilterRule,
  LoadError,
  SigmaRule,
  Unsupported,
} from './types.js';

/** One rule file's text, when rules come from somewhere other than a directory. */
export interface RuleText {
  file: string;
  text: string;
}

/** What loading found: the report of `vigil rules check`. */
export interface RuleCheckReport {
  /** Documents parsed (detections, filters, correlations). */
  documents: number;
  /** Detection rules compiled and runnable. */
  loaded: number;
  filters: number;
  correlations: number;
  unsupported: Unsupported[];
  errors: LoadError[];
}

/** The result of loading: runnable rules and the report. */
export interface LoadResult {
  ruleSet: RuleSet;
  rules: CompiledRule[];
  filters: FilterRule[];
  /** Correlation rules whose referenced rules all resolved. */
  correlations: CorrelationRule[];
  report: RuleCheckReport;
}

const MAX_FILES = 100_000;

/** Every `.yml` / `.yaml` file under a directory (or the file itself), sorted for stable output. */
export function ruleFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const ent of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (/\.ya?ml$/i.test(ent.name)) out.push(p);
      if (out.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} rule files under ${path}`);
    }
  };
  walk(path);
  return out;
}

/** Read rule texts from a directory (file names relative to it). */
export function readRuleTexts(path: string): RuleText[] {
  const base = statSync(path).isFile() ? join(path, '..') : path;
  return ruleFiles(path).map((f) => ({ file: relative(base, f) || f, text: readFileSync(f, 'utf8') }));
}

/**
 * Load Sigma rules from a directory, a file, or texts. Each detection is compiled once; meta
 * filters are attached to the rules they name; correlations are validated and their references
 * resolved (a correlation naming a rule that is not loaded is reported unsupported).
 */
export function loadRules(source: string | readonly RuleText[], opts: CompileOptions = {}): LoadResult {
  const texts = typeof source === 'string' ? readRuleTexts(source) : source;
  const parsed: SigmaRule[] = [];
  const errors: LoadError[] = [];
  for (const t of texts) {
    const r = parseRuleText(t.text, t.file);
    parsed.push(...r.rules);
    errors.push(...r.errors);
  }
  const unsupported: Unsupported[] = [];
  const rules: CompiledRule[] = [];
  const filters: FilterRule[] = [];
  const compiledFilters: CompiledFilter[] = [];
  const correlations: CorrelationRule[] = [];
  const fail = (r: SigmaRule, e: unknown) => {
    if (e instanceof SigmaUnsupportedError)
      unsupported.push({ rule: r.id, title: r.title, file: r.pos.file, reason: e.message });
    else if (e instanceof SigmaSyntaxError)
      errors.push({ file: r.pos.file, line: e.line || r.pos.line, message: `${r.title}: ${e.message}` });
    else throw e;
  };
  for (const r of parsed) {
    if (r.kind !== 'detection') continue;
    try {
      rules.push(compileRule(r as DetectionRule, opts));
    } catch (e) {
      fail(r, e);
    }
  }
  for (const r of parsed) {
    if (r.kind !== 'filter') continue;
    try {
      compiledFilters.push({
        id: r.id,
        logsource: r.logsource,
        rules: r.rules,
        test: compileFilter(r, opts),
      });
      filters.push(r);
    } catch (e) {
      fail(r, e);
    }
  }
  // Correlations may reference detections or other correlations, by id or by name.
  const known = new Set<string>();
  for (const r of rules) {
    known.add(r.id);
    if (r.name) known.add(r.name);
  }
  for (const r of parsed) {
    if (r.kind !== 'correlation') continue;
    known.add(r.id);
    if (r.name) known.add(r.name);
  }
  for (const r of parsed) {
    if (r.kind !== 'correlation') continue;
    const missing = r.rules.filter((x) => !known.has(x));
    if (missing.length) {
      unsupported.push({
        rule: r.id,
        title: r.title,
        file: r.pos.file,
        reason: `correlation references rules that are not loaded: ${missing.join(', ')}`,
      });
      continue;
    }
    correlations.push(r);
  }
  // With `generate: false` (the default), rules used only by correlations do not alert alone.
  const report: RuleCheckReport = {
    documents: parsed.length,
    loaded: rules.length,
    filters: filters.length,
    correlations: correlations.length,
    unsupported,
    errors,
  };
  return { ruleSet: new RuleSet(rules, compiledFilters), rules, filters, correlations, report };
}
