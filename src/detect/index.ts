/**
 * The detection domain's public face: the Sigma engine (rules parsed, validated and compiled once
 * into closures with necessary conditions; a RuleSet indexed by log source with a multi-pattern
 * prefilter; correlation over a time-ordered stream, or over a store shared by distributed
 * workers; the evtx-to-JSON mapping of Windows event logs as SigmaHQ tooling does it), the bus pipeline (Vigil/Zeek log sources, the Detector) and
 * alerts (deduplicated, with evidence, status, assignee and notes), cases that group them, and
 * their outputs (signed webhooks, syslog RFC 5424 + CEF, email, OCSF export); device behaviour baselines (learning, anomalies, reset) and the inventory
 * enrichment of sensor events.
 */

export {
  type ActivityEntry,
  type Actor,
  ASSIGNABLE_ROLES,
  NOTE_MAX,
  type People,
  type Person,
} from './alerts/activity.js';
export { boundEvent, DEFAULT_EVIDENCE, type EvidenceLimits } from './alerts/evidence.js';
export {
  ALERT_LEVELS,
  ALERT_STATUSES,
  type Alert,
  type AlertChange,
  type AlertDetail,
  type AlertLevel,
  type AlertQuery,
  type AlertStatus,
  AlertStore,
  type AlertStoreOptions,
  BULK_MAX,
  DEFAULT_DEDUP_WINDOW_MS,
  detectMigrations,
  entityOf,
  levelRank,
  type NewAlert,
} from './alerts/store.js';
export {
  type DeviceDirectory,
  DeviceEnricher,
  type DeviceInfo,
  InventoryDirectory,
  type InventoryLookup,
  StaticDirectory,
} from './baselines/directory.js';
export { FLOW_KINDS, observationsOf } from './baselines/flows.js';
export { anomalyEvent, BASELINE_RULES, type BaselineDeps, Baselines } from './baselines/learner.js';
export {
  ANOMALY_TYPES,
  type Anomaly,
  type AnomalyType,
  type Baseline,
  type BaselineOptions,
  DEFAULT_BASELINE_OPTIONS,
} from './baselines/model.js';
export { hourOfWeek, mad, median, robustBounds } from './baselines/stats.js';
export {
  type BaselineDetail,
  type BaselineQuery,
  BaselineStore,
  type BaselineSummary,
  baselineMigrations,
} from './baselines/store.js';
export {
  CASE_STATUSES,
  type Case,
  type CaseChange,
  type CaseDetail,
  type CaseQuery,
  type CaseStatus,
  CaseStore,
  type NewCase,
} from './cases/store.js';
export { parseConcatenatedJson } from './json-stream.js';
export { alertToCef, cefHeader, cefSeverity, cefValue } from './outputs/cef.js';
export {
  AlertDispatcher,
  type AlertsConfig,
  buildOutputs,
  derivedWebhookSecret,
  type OutputDeps,
  type OutputStatus,
} from './outputs/dispatcher.js';
export { alertMail, EmailOutput, type EmailSettings } from './outputs/email.js';
export { activityOf as ocsfActivityOf, attacksOf, OCSF_VERSION, toDetectionFinding } from './outputs/ocsf.js';
export {
  type DeliveryOptions,
  DeliveryQueue,
  type OutputStats,
  PermanentDeliveryError,
} from './outputs/queue.js';
export {
  octetCounted,
  SyslogOutput,
  type SyslogSettings,
  type SyslogTransport,
  syslogMessage,
  syslogSeverity,
} from './outputs/syslog.js';
export { type AlertOutput, type ProductInfo, passes } from './outputs/types.js';
export {
  SIGNATURE_HEADER,
  signBody,
  TIMESTAMP_HEADER,
  verifySignature,
  WebhookOutput,
  type WebhookSettings,
  webhookBody,
} from './outputs/webhook.js';
export { Detector, type DetectorDeps, type EventEnricher, type RuleSource } from './pipeline/detector.js';
export { isVigilEvent, type MappedEvent, mapEvent, VIGIL_CATEGORIES } from './pipeline/logsource.js';
export {
  type CorrelationMatch,
  correlationMigrations,
  type SharedCorrelationOptions,
  SharedCorrelations,
  type SharedFiring,
} from './pipeline/shared-correlation.js';
export { defaultRuleSources, HOSPITAL_RULE_PACK } from './pipeline/sources.js';
export { type CompiledRule, compileRule } from './sigma/compile.js';
export {
  type CorrelationAlert,
  type CorrelationInput,
  Correlator,
  type CorrelatorOptions,
} from './sigma/correlation.js';
export {
  firingEntries,
  sortEntries,
  type WindowEntry,
  type WindowFiring,
} from './sigma/correlation-window.js';
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
