/**
 * @module devices
 * The medical-device inventory's public face: devices keyed by MAC (or IP) with every attribute's
 * source, evidence, confidence and first/last seen; type and criticality by explained rules; the
 * hourly communication map; findings raised from sensor data; MAC vendor identity from the
 * IEEE registry; and what people set by hand (type, criticality, owner, location, notes; one by
 * one or from a CMMS CSV file), which re-detection never overwrites. Other domains, the server and the CLI use only this file.
 */
export {
  ClassificationFileError,
  classify,
  loadClassifier,
  parseClassificationRules,
  SHIPPED_CLASSIFICATION_FILE,
  shippedClassifier,
} from './classification-file.js';
export {
  type AttributeView,
  type Classification,
  Classifier,
  type CompiledRule,
  CRITICALITIES,
  CRITICALITY_BY_TYPE,
  type Criticality,
  criticalityOf,
  DEVICE_TYPES,
  type DeviceType,
  MEDICAL_TYPES,
} from './classify.js';
export { devicesDemoSeed } from './demo.js';
export { createDevices, Devices, type DevicesDeps } from './devices.js';
export {
  DeviceEdits,
  EXPORT_COLUMNS,
  type ImportRowError,
  type ImportSummary,
  MANUAL_LIMITS,
  type ManualPatch,
  type ManualView,
} from './edits.js';
export { FINDING_KINDS, type FindingKind } from './findings.js';
export { DeviceIngest } from './ingest.js';
export { type DeviceMap, EXTERNAL_NODE, MAX_MAP_NODES, type MapEdge, type MapNode } from './map.js';
export { DEFAULT_IEEE_DATA_DIR, type MacKind, normaliseMac, OuiRegistry, type VendorLookup } from './oui.js';
export {
  type DeviceAttribute,
  type DeviceDetail,
  type DeviceFinding,
  type DeviceList,
  type DevicePeer,
  DeviceQueries,
  type DeviceSummary,
  type ListQuery,
  SORT_KEYS,
  type SortKey,
  subnetPatterns,
} from './queries.js';
export { type DeviceTables, devicesMigrations } from './tables.js';
export { cleanText, isPublicIp } from './values.js';
