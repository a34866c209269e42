/**
 * The detection domain's public face: the Sigma engine (rules parsed, validated and compiled once
 * into closures with necessary conditions; a RuleSet indexed by log source with a multi-pattern
 * prefilter; correlation over a time-ordered stream; the evtx-to-JSON mapping of Windows event
 * logs as SigmaHQ tooling does it), the bus pipeline (Vigil/Zeek log sources, the Detector) and
 * the alert store.
 */

export {
  ALERT_STATUSES,
  type Alert,
  type AlertQuery,
  type AlertStatus,
  AlertStore,
  detectMigrations,
  type NewAlert,
} from './alerts/store.js';
export { parseConcatenatedJson } from './json-stream.js';
export { Detector, type DetectorDeps, type RuleSource } from './pipeline/detector.js';
export { isVigilEvent, type MappedEvent, mapEvent, VIGIL_CATEGORIES } from './pipeline/logsource.js';
export { defaultRuleSources, HOSPITAL_RULE_PACK } from './pipeline/sources.js';
export { type CompiledRule, compileRule } from './sigma/compile.js';
export { type CorrelationAlert, Correlator, type CorrelatorOptions } from './sigma/correlation.js';
export { SigmaSyntaxError, SigmaUnsupportedError } from './sigma/errors.js';
export {
  type EventLogSource,
  isEvtxEvent,
  mapEvtx,
  OTHER_CATEGORIES,
  SYSMON_CATEGORIES,
  WINDOWS_SERVICES,
} from './sigma/evtx.js';
export {
  type LoadResult,
  loadRules,
  type RuleCheckReport,
  type RuleText,
  readRuleTexts,
} from './sigma/load.js';
export { MODIFIERS } from './sigma/modifiers.js';
export { type ParseResult, parseRuleText } from './sigma/parse.js';
export { type CompiledFilter, logsourceApplies, RuleSet, type RuleSetOptions } from './sigma/ruleset.js';
export type {
  CompileOptions,
  CorrelationRule,
  CorrelationType,
  DetectionRule,
  FilterRule,
  LoadError,
  LogSource,
  RuleMatch,
  SigmaEvent,
  SigmaRule,
  Unsupported,
} from './sigma/types.js';
