/**
 * @module devices
 * The medical-device inventory's public face: devices keyed by MAC (or IP) with every attribute's
 * source, evidence, confidence and first/last seen; type and criticality by explained rules; the
 * hourly communication map; findings raised from sensor data; and MAC vendor identity from the
 * IEEE registry. Other domains, the server and the CLI use only this file.
 */
export {
  type AttributeView,
  type Classification,
  CRITICALITIES,
  type Criticality,
  classify,
  criticalityOf,
  DEVICE_TYPES,
  type DeviceType,
  MEDICAL_TYPES,
  RULES,
} from './classify.js';
export { devicesDemoSeed } from './demo.js';
export { createDevices, Devices, type DevicesDeps } from './devices.js';
export { FINDING_KINDS, type FindingKind } from './findings.js';
export { DeviceIngest } from './ingest.js';
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
} from './queries.js';
export { type DeviceTables, devicesMigrations } from './tables.js';
export { cleanText, isPublicIp } from './values.js';
