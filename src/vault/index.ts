/**
 * @module vault
 * The patient-data vault's security core: envelope encryption (a data key per patient, wrapped by
 * the KeyRing), sealed resource versions, streamed binary encryption, KEK rotation, crypto-shredding,
 * blind indexes for search, and the tamper-evident audit trail with signed checkpoints. The FHIR
 * API is built on this face; nothing here knows HTTP.
 */
export {
  type AuditAction,
  type AuditActor,
  type AuditEntry,
  type AuditEntryInput,
  type AuditOutcome,
  linkHash,
} from './audit-entry.js';
export { type AuditCheckpoint, AuditTrail, type AuditTrailOptions } from './audit-trail.js';
export {
  type AuditProblem,
  type AuditVerification,
  type VerifyAuditOptions,
  verifyAudit,
} from './audit-verify.js';
export {
  BlindIndex,
  DEFAULT_SEARCH_PARAMS,
  type IndexEntry,
  type SearchParamDef,
  type SearchParamRegistry,
  TOKEN_HASH_BYTES,
} from './blind-index.js';
export { canonicalJson, type Json } from './canonical-json.js';
export { CheckpointSigner, verifyCheckpointSignature } from './checkpoint-signer.js';
export {
  DataKeyDestroyedError,
  DataKeyStore,
  type DataKeyStoreOptions,
  dataKeyAad,
  keyOwner,
} from './data-keys.js';
export { type ErasureDeps, type ErasureResult, erasePatient, type LegalHoldCheck } from './erasure.js';
export { GENESIS_HASH, vaultMigrations } from './migrations.js';
export { type Coded, foldName, type IndexValue, normalise, type ParamKind } from './normalise.js';
export { type PatientRefHasher, patientRefHasher } from './patient-ref.js';
export { openResource, type ResourceRef, resourceAad, sealResource } from './resource-cipher.js';
export {
  type ResourceVersion,
  type ResourceVersionInput,
  SealedResourceStore,
} from './resources.js';
export { type RewrapOptions, type RewrapProgress, rewrapDataKeys } from './rotation.js';
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
