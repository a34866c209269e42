/**
 * The detection domain's public face. For now: the Sigma engine (rules parsed, validated and
 * compiled once into closures; a RuleSet indexed by log source; correlation over a time-ordered
 * stream; the evtx-to-JSON mapping of Windows event logs as SigmaHQ tooling does it).
 */
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
export { type LoadResult, loadRules, type RuleCheckReport, type RuleText } from './sigma/load.js';
export { MODIFIERS } from './sigma/modifiers.js';
export { type ParseResult, parseRuleText } from './sigma/parse.js';
export { type CompiledFilter, logsourceApplies, RuleSet } from './sigma/ruleset.js';
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
