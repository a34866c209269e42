/**
 * @module vault/break-glass
 * Break-the-glass grants (`vault_break_glass`): a clinician without a care relationship declares
 * an emergency with a reason and may then reach that patient's records until the grant expires.
 * The reason is sealed by the KeyRing at rest; the audit entries made under the grant carry it.
 */
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import type { VaultTables } from './tables.js';

/** A grant as the vault and the privacy officer see it. */
export interface BreakGlassGrant {
  id: string;
  userId: string;
  patientId: string;
  reason: string;
  grantedAt: string;
  expiresAt: string;
}

/** Shortest and longest reason accepted. */
export const REASON_MIN = 10;
export const REASON_MAX = 500;

const aad = (id: string) => `vault-break-glass|${id}`;

/** A reason cleaned of control characters and checked for length; BAD_REQUEST otherwise. */
export function cleanReason(reason: unknown): string {
  if (typeof reason !== 'string')
    throw new VigilError('BAD_REQUEST', 'Give the reason for the emergency access (a sentence)');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const text = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (text.length < REASON_MIN || text.length > REASON_MAX)
    throw new VigilError(
      'BAD_REQUEST',
      `The reason must be ${REASON_MIN} to ${REASON_MAX} characters: say what the emergency is, without patient identifiers`,
    );
  return text;
}

/** Records a grant. */
export async function insertGrant(
  db: Kysely<VaultTables>,
  keys: KeyRing,
  grant: BreakGlassGrant,
): Promise<void> {
  await db
    .insertInto('vault_break_glass')
    .values({
      id: grant.id,
      user_id: grant.userId,
      patient_id: grant.patientId,
      reason_sealed: keys.seal(Buffer.from(grant.reason, 'utf8'), aad(grant.id)),
      granted_at: grant.grantedAt,
      expires_at: grant.expiresAt,
    })
    .execute();
}

type Row = VaultTables['vault_break_glass'];
const toGrant = (keys: KeyRing, r: Row): BreakGlassGrant => ({
  id: r.id,
  userId: r.user_id,
  patientId: r.patient_id,
  reason: keys.open(r.reason_sealed, aad(r.id)).toString('utf8'),
  grantedAt: r.granted_at,
  expiresAt: r.expires_at,
});

/** The live grant of a user for a patient (the latest to expire), or null. */
export async function activeGrant(
  db: Kysely<VaultTables>,
  keys: KeyRing,
  userId: string,
  patientId: string,
  now: string,
): Promise<BreakGlassGrant | null> {
  const row = await db
    .selectFrom('vault_break_glass')
    .selectAll()
    .where('user_id', '=', userId)
    .where('patient_id', '=', patientId)
    .where('expires_at', '>', now)
    .where('granted_at', '<=', now)
    .orderBy('expires_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toGrant(keys, row) : null;
}

/** Patients a user holds live grants for. */
export async function grantedPatients(
  db: Kysely<VaultTables>,
  userId: string,
  now: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('vault_break_glass')
    .select('patient_id')
    .where('user_id', '=', userId)
    .where('expires_at', '>', now)
    .where('granted_at', '<=', now)
    .execute();
  return rows.map((r) => r.patient_id);
}

/** Grants made since `since`, newest first, at most `limit` (the privacy officer's review list). */
export async function listGrants(
  db: Kysely<VaultTables>,
  keys: KeyRing,
  opts: { since: string; limit: number },
): Promise<BreakGlassGrant[]> {
  const rows = await db
    .selectFrom('vault_break_glass')
    .selectAll()
    .where('granted_at', '>=', opts.since)
    .orderBy('granted_at', 'desc')
    .orderBy('id', 'desc')
    .limit(opts.limit)
    .execute();
  return rows.map((r) => toGrant(keys, r));
}
