/**
 * @module identity/tables
 * Row types of the identity tables. Times are ISO-8601 UTC strings (they sort as text on both
 * engines); booleans are 0/1 integers. No secret is stored in the clear: passwords are argon2id
 * hashes, TOTP secrets are sealed by the KeyRing, session ids, API token secrets and recovery
 * codes are SHA-256 hashes of high-entropy values.
 */
import type { Role } from '../core/index.js';

export type SessionState = 'password' | 'enroll' | 'mfa' | 'ok';
export type UserStatus = 'active' | 'disabled';

export type UserRow = {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  role: Role;
  status: UserStatus;
  password_hash: string;
  must_change_password: number;
  mfa_secret_sealed: string | null;
  mfa_enrolled_at: string | null;
  mfa_last_step: number | null;
  failed_count: number;
  next_attempt_at: string | null;
  locked_until: string | null;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
};

export type RecoveryCodeRow = {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: string | null;
};

export type SessionRow = {
  id: string;
  user_id: string;
  state: SessionState;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  revoked_at: string | null;
};

export type ApiTokenRow = {
  id: string;
  name: string;
  role: Role;
  secret_hash: string;
  created_by: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
};

export type IdentityTables = {
  users: UserRow;
  recovery_codes: RecoveryCodeRow;
  sessions: SessionRow;
  api_tokens: ApiTokenRow;
};
