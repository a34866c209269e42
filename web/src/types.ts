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

/** One risk signal's verdict inside a gateway decision. */
export interface SignalResult {
  signal: string;
  score: number;
  reason: string;
  /** This signal alone denies, whatever the score. */
  deny?: boolean;
  /** The signal had no data to judge (e.g. no GeoIP database) and scored 0. */
  unknown?: boolean;
}

export const DECISION_KINDS = ['allow', 'step-up', 'deny', 'login'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

/** A decision of the access gateway, as `GET /api/access/decisions` lists it. */
export interface AccessDecision {
  id: string;
  time: string;
  /** allow, step-up, deny or login; typed as string because the server does. */
  decision: string;
  risk: number;
  app: string | null;
  userId: string | null;
  username: string | null;
  sourceIp: string | null;
  host: string | null;
  path: string | null;
  method: string | null;
  reasons: SignalResult[];
}

export interface DecisionFilter {
  limit: number;
  decision?: DecisionKind | undefined;
  userId?: string | undefined;
}

/** A gateway session that is not revoked. */
export interface GatewaySession {
  id: string;
  userId: string;
  ip: string | null;
  createdAt: string;
  mfaAt: string | null;
}

/** An address or range blocked at the gateway from the console. */
export interface AccessBlock {
  id: string;
  cidr: string;
  reason: string;
  createdBy: string | null;
  createdAt: string;
}

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** An event of the event log (`core/events.ts` on the server). */
export interface VigilEvent {
  v: number;
  id: string;
  time: string;
  kind: string;
  source: string;
  severity?: Severity;
  user?: { id?: string; name?: string; role?: string };
  device?: { id?: string; mac?: string; ip?: string };
  net?: { srcIp?: string; srcPort?: number; dstIp?: string; dstPort?: number; proto?: string };
  patientRef?: string;
  data?: Record<string, unknown>;
}

export interface EventFilter {
  limit: number;
  /** A kind prefix such as `auth.`; absent for every kind. */
  kind?: string | undefined;
}
