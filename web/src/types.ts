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

/** A FHIR Patient, as far as the console shows it. */
export interface FhirPatient {
  resourceType: 'Patient';
  id: string;
  name?: Array<{ text?: string; family?: string; given?: string[] }>;
  birthDate?: string;
  gender?: string;
  identifier?: Array<{ system?: string; value?: string }>;
}

/** A FHIR Attachment: where a document's file is and what it is. */
export interface FhirAttachment {
  url?: string;
  contentType?: string;
  size?: number;
  /** SHA-1 of the file, base64 (FHIR R4). */
  hash?: string;
  title?: string;
  creation?: string;
}

/** A FHIR DocumentReference, as far as the console shows it. */
export interface FhirDocumentReference {
  resourceType: 'DocumentReference';
  id: string;
  status?: string;
  date?: string;
  description?: string;
  type?: { text?: string; coding?: Array<{ system?: string; code?: string; display?: string }> };
  content?: Array<{ attachment?: FhirAttachment }>;
  meta?: { lastUpdated?: string };
}

/** A stored file (FHIR Binary) as the upload answers it: its id, type and patient; no bytes. */
export interface FhirBinary {
  resourceType: 'Binary';
  id: string;
  contentType: string;
  securityContext?: { reference?: string };
}

/** A break-the-glass grant, as `GET /api/vault/break-glass` lists it for privacy review. */
export interface BreakGlassGrant {
  id: string;
  userId: string;
  patientId: string;
  reason: string;
  grantedAt: string;
  expiresAt: string;
}

/** Which Practitioner a console user is (`GET /api/vault/staff-links`). */
export interface StaffLink {
  userId: string;
  practitionerId: string;
  /** The id of the user (or operator) who set the link. */
  linkedBy: string;
  linkedAt: string;
}

/** A FHIR AuditEvent of the vault's audit trail, as far as the console shows it. */
export interface FhirAuditEvent {
  resourceType: 'AuditEvent';
  id: string;
  recorded: string;
  /** C R U D E. */
  action?: string;
  /** 0 success, 4 denied, 8 failure. */
  outcome?: string;
  /** The vault's own action (`urn:vigil:audit-action`): read, search, break-glass… */
  subtype?: Array<{ system?: string; code?: string }>;
  /** ETREAT with the declared reason when the access was made under break-the-glass. */
  purposeOfEvent?: Array<{ coding?: Array<{ system?: string; code?: string }>; text?: string }>;
  agent?: Array<{
    who?: { reference?: string; identifier?: { system?: string; value?: string } };
    role?: Array<{ text?: string }>;
    requestor?: boolean;
  }>;
  entity?: Array<{
    what?: { reference?: string; identifier?: { system?: string; value?: string } };
    role?: { code?: string };
    description?: string;
  }>;
}

/** The AuditEvent search of the Privacy page; empty values are left out. */
export interface AuditFilter {
  /** A user or API token id. */
  agent?: string | undefined;
  /** A patient id (entries of erased patients are found too). */
  patient?: string | undefined;
  /** C, R, U, D or E. */
  action?: string | undefined;
  /** First day, YYYY-MM-DD (UTC), inclusive. */
  from?: string | undefined;
  /** Last day, YYYY-MM-DD (UTC), inclusive. */
  to?: string | undefined;
}

/** One page of AuditEvents, newest first, with where the next page is. */
export interface AuditPage {
  events: FhirAuditEvent[];
  /** Same-origin path of the next page; absent on the last. */
  next?: string | undefined;
}

/** A signed checkpoint of the audit chain (`GET /api/vault/audit/checkpoints`). */
export interface AuditCheckpoint {
  uptoSeq: number;
  hash: string;
  signature: string;
  keyId: string;
  createdAt: string;
  message: string;
}
