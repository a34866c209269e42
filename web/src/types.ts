/** The shapes the Vigil HTTP API answers with (the console's view of the contract). */

export const ROLES = ['admin', 'analyst', 'privacy-officer', 'biomed', 'clinician', 'staff'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'Administrator',
  analyst: 'Security analyst',
  'privacy-officer': 'Privacy officer',
  biomed: 'Biomedical engineer',
  clinician: 'Clinician',
  staff: 'Staff',
};

export function roleLabel(role: string): string {
  return (ROLE_LABELS as Record<string, string | undefined>)[role] ?? role;
}

export type SessionState = 'none' | 'password' | 'enroll' | 'mfa' | 'ok';

export interface SessionUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  mfaEnrolled: boolean;
}

export interface Session {
  state: SessionState;
  user?: SessionUser;
  csrfToken?: string;
}

export interface EnrollStart {
  secret: string;
  otpauthUrl: string;
  qrDataUrl: string;
}

export interface EnrollConfirm extends Session {
  recoveryCodes: string[];
}

export interface Overview {
  users: { total: number; active: number; disabled: number; byRole: Record<string, number> };
  sessions: { active: number };
  events24h: { total: number; byKind: Array<{ kind: string; count: number }> };
  bus: { kind: string; published: number; delivered: number; queued: number };
  generatedAt: string;
}

export interface User {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  role: Role;
  status: 'active' | 'disabled';
  mfaEnrolled: boolean;
  /** Still holds the one-time password (not signed in yet). Optional: not every server sends it. */
  mustChangePassword?: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface NewUser {
  username: string;
  displayName: string;
  email?: string;
  role: Role;
}

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}
