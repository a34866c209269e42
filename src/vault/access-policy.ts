/**
 * @module vault/access-policy
 * The seam where access to patient data is decided: one function from (principal, patient,
 * resource type, action) to allow, deny, or "needs break-the-glass". The vault asks it before
 * every read, search result, write and delete, and audits every denial. This session's policy is
 * by role only; care relationships (Encounter participants, CareTeam members), break-the-glass
 * grants and Consent denials plug in here without touching the repository.
 */
import type { Role } from '../core/index.js';

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

/** The answer: `needs-break-glass` tells a clinician they may declare an emergency. */
export type AccessDecision = 'allow' | 'deny' | 'needs-break-glass';

/** Decides access; may be async (a care-relationship lookup). */
export type AccessPolicy = (question: AccessQuestion) => AccessDecision | Promise<AccessDecision>;

/**
 * Separation of duties by role: clinicians read and write clinical data; privacy officers read
 * the audit trail (AuditEvent) and nothing clinical; everyone else, admins included, nothing.
 */
export const rolePolicy: AccessPolicy = ({ principal, resourceType, action }) => {
  if (resourceType === 'AuditEvent')
    return principal.role === 'privacy-officer' && (action === 'read' || action === 'search')
      ? 'allow'
      : 'deny';
  return principal.role === 'clinician' ? 'allow' : 'deny';
};
