/**
 * @module vault
 * The patient-data vault's security core: envelope encryption (a data key per patient, wrapped by
 * the KeyRing), sealed resource versions, streamed binary encryption, KEK rotation, crypto-shredding,
 * blind indexes for search, and the tamper-evident audit trail with signed checkpoints; and on top
 * of it the FHIR R4 repository (`createVault`): versioned CRUD, search, Bundles, AuditEvent views,
 * the CapabilityStatement and bulk NDJSON import. Nothing here knows HTTP.
 */
export {
  type AccessAction,
  type AccessDecision,
  type AccessPolicy,
  type AccessQuestion,
  roleDecision,
  rolePolicy,
  type VaultPrincipal,
} from './access-policy.js';
export {
  type AuditAction,
  type AuditActor,
  type AuditEntry,
  type AuditEntryInput,
  type AuditOutcome,
  linkHash,
} from './audit-entry.js';
export { auditEventOf } from './audit-events.js';
export { type AuditCheckpoint, AuditTrail, type AuditTrailOptions } from './audit-trail.js';
export {
  type AuditProblem,
  type AuditVerification,
  type VerifyAuditOptions,
  verifyAudit,
} from './audit-verify.js';
export {
  type BinaryInfo,
  type BinaryUpload,
  binaryPatientOf,
  binaryResource,
  DEFAULT_BINARY_CONTENT_TYPES,
  DEFAULT_BINARY_MAX_BYTES,
  mediaTypeOf,
  type OpenedBinary,
  requireAllowedType,
} from './binaries.js';
export type { ReadBinaryOptions } from './binary-interactions.js';
export { ATTACHMENT_SHA256_URL } from './binary-links.js';
export {
  BlindIndex,
  DEFAULT_SEARCH_PARAMS,
  type IndexEntry,
  type SearchParamDef,
  type SearchParamRegistry,
  TOKEN_HASH_BYTES,
} from './blind-index.js';
export { type BreakGlassGrant, REASON_MAX, REASON_MIN } from './break-glass.js';
export { type ImportOptions, type ImportSummary, importNdjson, ndjsonFiles } from './bulk-import.js';
export { MAX_BUNDLE_ENTRIES } from './bundle.js';
export { etagOf, historyBundle, searchsetBundle } from './bundle-views.js';
export { canonicalJson, type Json } from './canonical-json.js';
export { CarePolicy, type CarePolicyDeps, type CarePolicyOptions } from './care-policy.js';
export {
  type ActorNames,
  careTeamGivesCare,
  consentDenies,
  encounterGivesCare,
  OPEN_ENCOUNTER_STATUSES,
} from './care-rules.js';
export { CheckpointSigner, verifyCheckpointSignature } from './checkpoint-signer.js';
export {
  DataKeyDestroyedError,
  DataKeyStore,
  type DataKeyStoreOptions,
  dataKeyAad,
  keyOwner,
} from './data-keys.js';
export { type DemoClinician, vaultDemoSeed } from './demo.js';
export { type ErasureDeps, type ErasureResult, erasePatient, type LegalHoldCheck } from './erasure.js';
export { AUDIT_EVENT, type FhirResource, isStoredType, STORED_TYPES } from './fhir-types.js';
export { validateFhir, warmUpValidation } from './fhir-validation.js';
export { AccessDeniedError } from './interactions.js';
export {
  checkHoldReason,
  checkPatientId,
  type LegalHold,
  LegalHoldStore,
  MAX_HOLD_REASON,
} from './legal-holds.js';
export { GENESIS_HASH, vaultMigrations } from './migrations.js';
export { type Coded, foldName, type IndexValue, normalise, type ParamKind } from './normalise.js';
export { type PatientRefHasher, patientRefHasher } from './patient-ref.js';
export {
  type AuditExport,
  type CheckpointView,
  EXPORT_PAGE_SIZE,
  type ExportRange,
  PRIVACY_OFFICER,
  PrivacyOffice,
  parseExportRange,
  parseInstant,
} from './privacy-office.js';
export type { StoredVersion } from './repository.js';
export { openResource, type ResourceRef, resourceAad, sealResource } from './resource-cipher.js';
export {
  type ResourceVersion,
  type ResourceVersionInput,
  SealedResourceStore,
} from './resources.js';
export {
  type CompleteRotationOptions,
  completeRotation,
  dataKeysByKek,
  type RewrapOptions,
  type RewrapProgress,
  type RotationOutcome,
  rewrapDataKeys,
  staleDataKeyCount,
} from './rotation.js';
export { DEFAULT_COUNT, MAX_COUNT, type SearchPage } from './search.js';
export { VAULT_SEARCH_PARAMS } from './search-values.js';
export {
  DEFAULT_CHUNK_SIZE,
  DecryptStream,
  type DecryptStreamOptions,
  EncryptStream,
  type EncryptStreamOptions,
  MAX_CHUNK_SIZE,
  type StreamDigest,
} from './stream-cipher.js';
export { VAULT_TABLES, type VaultExecutor, type VaultTables } from './tables.js';
export { createVault, type ImportResult, Vault, type VaultDeps } from './vault.js';
