/**
 * @module vault/legal-holds
 * Legal holds: a patient under a hold (litigation, an investigation, a retention law) cannot be
 * erased; erasure answers CONFLICT with the hold's reason. The vault does not decide holds; a
 * privacy officer (HTTP) or an operator (`vigil vault hold`) sets and releases them.
 *
 * The reason is free text that may name a case, a court or a person, so it is stored sealed by the
 * KeyRing (aad `vigil-vault-legal-hold|<patient id>`, so a sealed reason copied to another
 * patient's row does not open) rather than restricted to a code list; the patient id, who set the
 * hold and when are in clear (ids only, as elsewhere in the vault). Holds are few: listing them
 * reads them all, and `rewrap` re-seals them after a KEK rotation in one pass.
 */
import type { Kysely } from 'kysely';
import { type Clock, systemClock, VigilError } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import { type VaultExecutor, type VaultTables, vaultDb } from './tables.js';

/** Longest reason accepted, in characters. */
export const MAX_HOLD_REASON = 500;

const PATIENT_ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
// Control characters (tabs and newlines included): a reason is one line in a table and a message.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** One hold, as a privacy officer sees it. */
export interface LegalHold {
  patientId: string;
  reason: string;
  setBy: string;
  setAt: string;
}

function aad(patientId: string): string {
  return `vigil-vault-legal-hold|${patientId}`;
}

/** A FHIR id a hold may name; BAD_REQUEST otherwise. */
export function checkPatientId(patientId: unknown): string {
  if (typeof patientId !== 'string' || !PATIENT_ID_RE.test(patientId))
    throw new VigilError('BAD_REQUEST', 'The patient id is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)');
  return patientId;
}

/** A reason trimmed and checked: 1 to {@link MAX_HOLD_REASON} characters, one line. */
export function checkHoldReason(reason: unknown): string {
  if (typeof reason !== 'string') throw new VigilError('BAD_REQUEST', 'reason: a text is required');
  const r = reason.trim();
  if (!r) throw new VigilError('BAD_REQUEST', 'reason: say why the patient is held');
  if (r.length > MAX_HOLD_REASON)
    throw new VigilError('BAD_REQUEST', `reason: at most ${MAX_HOLD_REASON} characters`);
  if (CONTROL_RE.test(r)) throw new VigilError('BAD_REQUEST', 'reason: one line, without control characters');
  return r;
}

/** Stores legal holds (see the module comment). No access checks here: the Vault makes them. */
export class LegalHoldStore {
  readonly #db: Kysely<VaultTables>;
  readonly #keys: KeyRing;
  readonly #clock: Clock;

  constructor(db: AnyDb, keys: KeyRing, clock: Clock = systemClock) {
    this.#db = vaultDb(db);
    this.#keys = keys;
    this.#clock = clock;
  }

  /** Sets (or replaces the reason of) a hold; returns it. `setBy` is the user or operator id. */
  async set(patientId: string, reason: string, setBy: string): Promise<LegalHold> {
    const id = checkPatientId(patientId);
    const r = checkHoldReason(reason);
    const hold: LegalHold = { patientId: id, reason: r, setBy, setAt: this.#clock.now().toISOString() };
    const sealed = this.#keys.seal(Buffer.from(r, 'utf8'), aad(id));
    await this.#db
      .insertInto('vault_legal_holds')
      .values({ patient_id: id, reason_sealed: sealed, set_by: setBy, set_at: hold.setAt })
      .onConflict((oc) =>
        oc.column('patient_id').doUpdateSet({ reason_sealed: sealed, set_by: setBy, set_at: hold.setAt }),
      )
      .execute();
    return hold;
  }

  /** Releases a hold; false when there was none. */
  async release(patientId: string): Promise<boolean> {
    const res = await this.#db
      .deleteFrom('vault_legal_holds')
      .where('patient_id', '=', checkPatientId(patientId))
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** The hold's reason, or null (in `exec`'s transaction when given). */
  async reasonFor(patientId: string, exec?: VaultExecutor): Promise<string | null> {
    const row = await (exec ? vaultDb(exec) : this.#db)
      .selectFrom('vault_legal_holds')
      .select(['patient_id', 'reason_sealed'])
      .where('patient_id', '=', patientId)
      .executeTakeFirst();
    return row ? this.#open(row) : null;
  }

  /** Every hold, newest first. */
  async list(): Promise<LegalHold[]> {
    const rows = await this.#db
      .selectFrom('vault_legal_holds')
      .selectAll()
      .orderBy('set_at', 'desc')
      .orderBy('patient_id')
      .execute();
    return rows.map((row) => ({
      patientId: row.patient_id,
      reason: this.#open(row),
      setBy: row.set_by,
      setAt: row.set_at,
    }));
  }

  /**
   * Re-seals every reason sealed under an older KEK with the current one (after a rotation); each
   * row by compare-and-set, so a hold changed meanwhile keeps its new value. Returns how many.
   */
  async rewrap(): Promise<number> {
    const current = this.#keys.refresh();
    const rows = await this.#db
      .selectFrom('vault_legal_holds')
      .select(['patient_id', 'reason_sealed'])
      .execute();
    let n = 0;
    for (const row of rows) {
      if (this.#keys.kekIdOf(row.reason_sealed) === current) continue;
      const plain = this.#keys.open(row.reason_sealed, aad(row.patient_id));
      const sealed = this.#keys.seal(plain, aad(row.patient_id));
      plain.fill(0);
      const res = await this.#db
        .updateTable('vault_legal_holds')
        .set({ reason_sealed: sealed })
        .where('patient_id', '=', row.patient_id)
        .where('reason_sealed', '=', row.reason_sealed)
        .executeTakeFirst();
      n += Number(res.numUpdatedRows);
    }
    return n;
  }

  /** How many reasons are sealed under a KEK other than the current one. */
  async staleCount(): Promise<number> {
    const current = this.#keys.refresh();
    const rows = await this.#db.selectFrom('vault_legal_holds').select('reason_sealed').execute();
    return rows.filter((r) => this.#keys.kekIdOf(r.reason_sealed) !== current).length;
  }

  #open(row: { patient_id: string; reason_sealed: string }): string {
    return this.#keys.open(row.reason_sealed, aad(row.patient_id)).toString('utf8');
  }
}
