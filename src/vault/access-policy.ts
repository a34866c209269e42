/**
 * @module vault/access-policy
 * The seam where access to patient data is decided: from (principal, patient, resource type,
 * action) to allow, deny, or "needs break-the-glass". The vault asks it before every read, search
 * result, write and delete, inside the interaction's transaction, and audits every denial. The
 * server uses the care-relationship policy (care-policy.ts); `rolePolicy` is separation of duties
 * alone, for tests of the storage mechanics and for tools that run as the operator.
 */
import type { Kysely } from 'kysely';
import type { Role } from '../core/index.js';
import type { VaultTables } from './tables.js';

/** Who is asking: the user (or API token) id and its role. */
export interface VaultPrincipal {
  id: string;
  role: Role;
}

/** What they want to do. */
export type AccessAction = 'read' | 'search' | 'create' | 'update' | 'delete';

/** The question a policy answers. `patientId` is null for shared resources (Practitioner, …). */
export interface AccessQuestion {
  principal: VaultPrincipal;
  patientId: string | null;
  resourceType: string;
  action: AccessAction;
}

/**
 * The answer. An allow through a break-the-glass grant carries the reason the clinician gave, and
 * every audit entry made under it records that reason. `needs-break-glass` tells a clinician they
 * may declare an emergency; `why` explains a refusal in words the caller can act on.
 */
export type AccessDecision =
  | { effect: 'allow'; breakGlass?: { reason: string } }
  | { effect: 'deny'; why: string }
  | { effect: 'needs-break-glass'; why: string };

/** Decides access. `db` is the interaction's transaction: lookups must go through it. */
export interface AccessPolicy {
  decide(question: AccessQuestion, db: Kysely<VaultTables>): AccessDecision | Promise<AccessDecision>;
  /**
   * The patients a principal may see, when that is a list the search can narrow by before
   * decrypting anything; null when access is not a list (every candidate is then asked).
   */
  visiblePatients?(principal: VaultPrincipal, db: Kysely<VaultTables>): Promise<ReadonlySet<string> | null>;
  /** Told after a committed write of these types, which may change who cares for whom. */
  changed?(resourceTypes: ReadonlySet<string>): void;
}

export const ALLOW: AccessDecision = Object.freeze({ effect: 'allow' });

/** The role part of every policy: null when the role may go on to the patient-level checks. */
export function roleDecision(q: AccessQuestion): AccessDecision | null {
  const { principal, resourceType, action } = q;
  if (resourceType === 'AuditEvent')
    return principal.role === 'privacy-officer' && (action === 'read' || action === 'search')
      ? ALLOW
      : { effect: 'deny', why: 'Only privacy officers read the audit trail' };
  if (principal.role !== 'clinician')
    return {
      effect: 'deny',
      why: `Your role (${principal.role}) may not ${action} ${resourceType} resources: clinical data is for clinicians`,
    };
  return null;
}

/**
 * Separation of duties by role only: clinicians read and write every patient's clinical data;
 * privacy officers read the audit trail (AuditEvent) and nothing clinical; everyone else, admins
 * included, nothing. Not for serving clinicians: use the care policy.
 */
export const rolePolicy: AccessPolicy = {
  decide: (q) => roleDecision(q) ?? ALLOW,
};
