/**
 * @module vault/tables
 * Row types of the vault tables. No column holds plaintext patient data: resource bodies are
 * AES-256-GCM ciphertext, data keys are sealed by the KeyRing, searchable values are keyed hashes
 * (blind indexes), and the audit trail names patients only by a keyed hash. Times are ISO-8601 UTC
 * text; booleans are 0/1 integers; 64-bit counters come back from PostgreSQL as strings, so readers
 * convert them with `Number()`.
 */
import type { Kysely } from 'kysely';

/**
 * One data key per owner (`Patient/<id>`, or `type/<ResourceType>` for resources with no patient).
 * `wrapped_key` is the 32-byte key sealed by the KeyRing with aad `vault-data-key|<owner>`;
 * `kek_id` repeats the KEK the seal was made with so rotation finds the stale rows by index. A
 * destroyed (crypto-shredded) key keeps its row as a tombstone with `wrapped_key` null, so no new
 * key is ever silently created for an erased patient.
 */
export type DataKeyRow = {
  owner: string;
  wrapped_key: string | null;
  kek_id: string | null;
  created_at: string;
  rewrapped_at: string | null;
  destroyed_at: string | null;
};

/** One version of one resource: the body is ciphertext bound to `resource_type|id|version_id`. */
export type ResourceRow = {
  resource_type: string;
  id: string;
  version_id: string;
  key_owner: string;
  last_updated: string;
  deleted: number;
  body: string;
};

/**
 * The head of each resource's history: its latest version (an integer, so "latest" never depends
 * on text ordering), whether that version is a deletion, and its key owner (which decides access
 * without decrypting). `last_updated` is the server's write time (not clinical data), so
 * `_lastUpdated` searches and ranges run in SQL. Kept in the same transaction as the version.
 */
export type CurrentRow = {
  resource_type: string;
  id: string;
  version_id: number;
  key_owner: string;
  last_updated: string;
  deleted: number;
};

/** One blind-index token of one resource: `token_hash` is a truncated HMAC (see blind-index.ts). */
export type SearchRow = {
  resource_type: string;
  resource_id: string;
  param: string;
  token_hash: string;
};

/** One audit entry, a link of the hash chain (see audit-trail.ts). JSON arrays are text. */
export type AuditRow = {
  seq: number | string;
  time: string;
  actor_id: string;
  actor_role: string;
  action: string;
  resources: string;
  patient_ref: string | null;
  outcome: string;
  break_glass_reason: string | null;
  search_result_ids: string | null;
  prev_hash: string;
  hash: string;
};

/** The single chain-head row (`id` = 1): the last seq and hash, locked by every append. */
export type AuditHeadRow = {
  id: number;
  seq: number | string;
  hash: string;
};

/** A signed statement "the chain up to `upto_seq` ends in `hash`". */
export type AuditCheckpointRow = {
  upto_seq: number | string;
  hash: string;
  signature: string;
  key_id: string;
  created_at: string;
};

/**
 * Which practitioner a console user (or API token) is: the care policy finds their Encounters and
 * CareTeams through it. Set by an operator (`vigil vault link-staff`) or an admin; ids only.
 */
export type StaffLinkRow = {
  user_id: string;
  practitioner_id: string;
  linked_by: string;
  linked_at: string;
};

/**
 * A break-the-glass grant: `user_id` may reach `patient_id`'s records until `expires_at`. The
 * reason is sealed by the KeyRing (it may describe the emergency, so it is not stored in clear
 * here; the audit entries made under the grant carry it, as the audit trail must).
 */
export type BreakGlassRow = {
  id: string;
  user_id: string;
  patient_id: string;
  reason_sealed: string;
  granted_at: string;
  expires_at: string;
};

/**
 * One stored binary (a FHIR Binary, e.g. a DocumentReference's PDF): metadata only, the bytes are
 * in `vault_binary_chunks`. The ciphertext is bound to `id` and `key_owner` (the patient whose
 * data key encrypts it). `content_type` (one of a short allow-list) and `size` are in clear: the
 * ciphertext's length reveals the size anyway. `digest_sealed` holds the plaintext's SHA-256 and
 * SHA-1 sealed under the same data key: a bare hash of a document would tell anyone with the
 * database that two patients hold the same file (or that a patient holds a known one), and it
 * must vanish with the key when the patient is erased. `complete` is 0 while an upload streams
 * in; such rows are removed when the upload fails, and swept when a crash left them behind.
 */
export type BinaryRow = {
  id: string;
  key_owner: string;
  content_type: string;
  size: number | string;
  digest_sealed: string | null;
  complete: number;
  created_at: string;
};

/** One piece of a binary's ciphertext (the stream-cipher format, cut in rows of at most 256 KiB). */
export type BinaryChunkRow = {
  binary_id: string;
  seq: number;
  data: Buffer;
};

/**
 * A legal hold: while it stands, the patient's erasure is refused with its reason. The reason is
 * free text (a case, a court, a person), so it is sealed by the KeyRing with aad naming the
 * patient (`vigil-vault-legal-hold|<patient id>`) and re-sealed by `vigil keys rotate`.
 */
export type LegalHoldRow = {
  patient_id: string;
  reason_sealed: string;
  set_by: string;
  set_at: string;
};

/** Every vault table, for `db.withTables<VaultTables>()`. */
export type VaultTables = {
  vault_data_keys: DataKeyRow;
  vault_resources: ResourceRow;
  vault_current: CurrentRow;
  vault_search: SearchRow;
  vault_audit: AuditRow;
  vault_audit_head: AuditHeadRow;
  vault_audit_checkpoints: AuditCheckpointRow;
  vault_binaries: BinaryRow;
  vault_binary_chunks: BinaryChunkRow;
  vault_staff_links: StaffLinkRow;
  vault_break_glass: BreakGlassRow;
  vault_legal_holds: LegalHoldRow;
};

/** The names of the vault tables (the plaintext scan in the tests walks all of them). */
export const VAULT_TABLES = [
  'vault_data_keys',
  'vault_resources',
  'vault_current',
  'vault_search',
  'vault_audit',
  'vault_audit_head',
  'vault_audit_checkpoints',
  'vault_binaries',
  'vault_binary_chunks',
  'vault_staff_links',
  'vault_break_glass',
  'vault_legal_holds',
] as const;

/**
 * A Kysely database or transaction of any table map: what the vault's methods accept as `exec`
 * so a caller's transaction (whatever tables its domain declares) carries the vault's writes.
 * Structural on purpose: `Kysely<A>` and `Transaction<B>` do not assign to one generic type.
 */
export interface VaultExecutor {
  readonly isTransaction: boolean;
  readonly withTables: unknown;
}

/**
 * A database or transaction seen as the vault's tables. A caller's `Transaction` stays a
 * transaction: `withTables` keeps its connection.
 */
export function vaultDb(db: VaultExecutor): Kysely<VaultTables> {
  return (db as unknown as Kysely<object>).withTables<VaultTables>() as unknown as Kysely<VaultTables>;
}
