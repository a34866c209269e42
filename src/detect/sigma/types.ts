/**
 * Shared types of the Sigma engine: parsed rules (detection, filter, correlation), events, matches
 * and the load report. Kept apart so every piece of the engine (parser, compiler, rule set,
 * correlator) speaks the same vocabulary without importing each other.
 */

/** An event as the engine sees it: a plain JSON object (field names may contain dots). */
export type SigmaEvent = Record<string, unknown>;

/** Where a rule or an event comes from: the three log source attributes of the specification. */
export interface LogSource {
  product?: string;
  category?: string;
  service?: string;
}

/** A source position, so that errors name the file and line a rule author can fix. */
export interface SourcePos {
  file: string;
  /** 1-based line, or 0 when unknown. */
  line: number;
}

/** Metadata common to detection, filter and correlation rules. */
export interface RuleMeta {
  id: string;
  title: string;
  name?: string;
  level?: string;
  status?: string;
  tags: string[];
  description?: string;
  pos: SourcePos;
}

/** A detection rule as parsed and validated (before compilation). */
export interface DetectionRule extends RuleMeta {
  kind: 'detection';
  logsource: LogSource;
  /** Search identifiers by name; values exactly as in the YAML. */
  detection: Record<string, unknown>;
  /** One or several conditions (a list is linked with OR). */
  conditions: string[];
  fields: string[];
}

/** A meta filter rule: extra exclusions added to the rules it names. */
export interface FilterRule extends RuleMeta {
  kind: 'filter';
  logsource: LogSource;
  /** Ids or names of the rules it applies to. */
  rules: string[];
  detection: Record<string, unknown>;
  condition: string;
}

/** The correlation types of the Sigma correlation specification v2.1. */
export type CorrelationType =
  | 'event_count'
  | 'value_count'
  | 'temporal'
  | 'temporal_ordered'
  | 'value_sum'
  | 'value_avg'
  | 'value_percentile';

/** A numeric condition of a correlation: each present bound must hold (AND). */
export interface CountCondition {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
  neq?: number;
}

/** A correlation rule (meta rule over other rules' matches). */
export interface CorrelationRule extends RuleMeta {
  kind: 'correlation';
  type: CorrelationType;
  /** Ids or names of the referenced rules (detections or correlations). */
  rules: string[];
  groupBy: string[];
  /** Window in milliseconds. */
  timespanMs: number;
  condition: CountCondition;
  /** Field for value_count / value_sum / value_avg / value_percentile. */
  field?: string;
  /** alias -> (rule name or id -> field). */
  aliases: Record<string, Record<string, string>>;
  generate: boolean;
}

/** Any parsed Sigma document. */
export type SigmaRule = DetectionRule | FilterRule | CorrelationRule;

/** A rule the engine loaded but cannot run, with the reason (never a silent non-match). */
export interface Unsupported {
  rule: string;
  title?: string;
  file: string;
  reason: string;
}

/** A document that is not valid Sigma (bad YAML or structure), with file and line. */
export interface LoadError {
  file: string;
  line: number;
  message: string;
}

/** One rule firing on one event. */
export interface RuleMatch {
  ruleId: string;
  title: string;
  level?: string;
  tags: string[];
}

/** Options of the compiler. */
export interface CompileOptions {
  /**
   * Values of `%placeholder%` names for the `expand` modifier (name without percent signs). A rule
   * using a placeholder that is not configured here is unsupported, as the specification requires.
   */
  placeholders?: Record<string, string[]>;
}
