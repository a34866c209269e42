/**
 * @module vault/staff-links
 * Which Practitioner each console user is (`vault_staff_links`). The care policy starts from it:
 * a clinician without a link has no care relationships and can only break the glass.
 */
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import { requireId } from './fhir-types.js';
import type { StaffLinkRow, VaultTables } from './tables.js';

/** One link, as the API shows it. */
export interface StaffLink {
  userId: string;
  practitionerId: string;
  linkedBy: string;
  linkedAt: string;
}

const toLink = (r: StaffLinkRow): StaffLink => ({
  userId: r.user_id,
  practitionerId: r.practitioner_id,
  linkedBy: r.linked_by,
  linkedAt: r.linked_at,
});

/** The practitioner id linked to a user, or null. */
export async function practitionerOf(db: Kysely<VaultTables>, userId: string): Promise<string | null> {
  const row = await db
    .selectFrom('vault_staff_links')
    .select('practitioner_id')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.practitioner_id ?? null;
}

/** Links a user to a Practitioner (replacing an earlier link). */
export async function linkStaff(
  db: Kysely<VaultTables>,
  link: { userId: string; practitionerId: string; linkedBy: string; at: string },
): Promise<StaffLink> {
  if (!/^[A-Za-z0-9\-_.]{1,64}$/.test(link.userId))
    throw new VigilError('BAD_REQUEST', 'A user id is 1–64 letters, digits, -, _ or .');
  requireId(link.practitionerId);
  const row: StaffLinkRow = {
    user_id: link.userId,
    practitioner_id: link.practitionerId,
    linked_by: link.linkedBy,
    linked_at: link.at,
  };
  await db
    .insertInto('vault_staff_links')
    .values(row)
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({
        practitioner_id: row.practitioner_id,
        linked_by: row.linked_by,
        linked_at: row.linked_at,
      }),
    )
    .execute();
  return toLink(row);
}

/** Removes a user's link; false when there was none. */
export async function unlinkStaff(db: Kysely<VaultTables>, userId: string): Promise<boolean> {
  const r = await db.deleteFrom('vault_staff_links').where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Every link, by user id. */
export async function staffLinks(db: Kysely<VaultTables>): Promise<StaffLink[]> {
  const rows = await db.selectFrom('vault_staff_links').selectAll().orderBy('user_id').execute();
  return rows.map(toLink);
}
