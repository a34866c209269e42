/**
 * @module core/roles
 * Console roles. MFA is mandatory for the roles that can see or change what matters most.
 */
export const ROLES = ['admin', 'analyst', 'privacy-officer', 'biomed', 'clinician', 'staff'] as const;
export type Role = (typeof ROLES)[number];

export const MFA_REQUIRED_ROLES: ReadonlySet<Role> = new Set<Role>(['admin', 'analyst', 'privacy-officer']);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function roleRequiresMfa(role: Role): boolean {
  return MFA_REQUIRED_ROLES.has(role);
}
