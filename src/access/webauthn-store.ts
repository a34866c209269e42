/**
 * @module access/webauthn-store
 * Passkeys (WebAuthn credentials) per user: public key, signature counter, transports; and the
 * outstanding challenges, one per user, browser and purpose, each taken once. Times are ISO-8601
 * UTC text; transports are JSON text.
 */
import type { Kysely } from 'kysely';
import type { AnyDb } from '../platform/db/index.js';

export type AccessPasskeyRow = {
  /** The credential id, base64url. */
  id: string;
  user_id: string;
  name: string;
  /** COSE public key, base64url. */
  public_key: string;
  counter: number | string;
  transports: string;
  device_type: string;
  backed_up: number;
  created_at: string;
  last_used_at: string | null;
};

export type AccessChallengeRow = {
  id: string;
  challenge: string;
  expires_at: string;
};

type Tables = { access_passkeys: AccessPasskeyRow; access_webauthn_challenges: AccessChallengeRow };

/** A stored passkey with its counter as a number. */
export interface Passkey {
  id: string;
  userId: string;
  name: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

function toPasskey(r: AccessPasskeyRow): Passkey {
  let transports: string[] = [];
  try {
    const t: unknown = JSON.parse(r.transports);
    if (Array.isArray(t)) transports = t.filter((x): x is string => typeof x === 'string');
  } catch {
    transports = [];
  }
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    publicKey: new Uint8Array(Buffer.from(r.public_key, 'base64url')),
    counter: Number(r.counter),
    transports,
    deviceType: r.device_type,
    backedUp: r.backed_up === 1,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

export class PasskeyStore {
  private readonly db: Kysely<Tables>;

  constructor(db: AnyDb) {
    this.db = db.withTables<Tables>();
  }

  async list(userId: string): Promise<Passkey[]> {
    const rows = await this.db
      .selectFrom('access_passkeys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.map(toPasskey);
  }

  async count(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('access_passkeys')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async get(id: string): Promise<Passkey | undefined> {
    const row = await this.db
      .selectFrom('access_passkeys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toPasskey(row) : undefined;
  }

  /** Adds a credential; false when its id is already registered (to anyone). */
  async add(p: Passkey): Promise<boolean> {
    if (await this.get(p.id)) return false;
    await this.db
      .insertInto('access_passkeys')
      .values({
        id: p.id,
        user_id: p.userId,
        name: p.name,
        public_key: Buffer.from(p.publicKey).toString('base64url'),
        counter: p.counter,
        transports: JSON.stringify(p.transports),
        device_type: p.deviceType,
        backed_up: p.backedUp ? 1 : 0,
        created_at: p.createdAt,
        last_used_at: null,
      })
      .execute();
    return true;
  }

  /**
   * Moves the counter from `from` to `to` and records the use. Conditional on the stored counter,
   * so two assertions racing with the same counter cannot both pass.
   */
  async use(id: string, from: number, to: number, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('access_passkeys')
      .set({ counter: to, last_used_at: at })
      .where('id', '=', id)
      .where('counter', '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async remove(userId: string, id: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('access_passkeys')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async removeAll(userId: string): Promise<number> {
    const res = await this.db.deleteFrom('access_passkeys').where('user_id', '=', userId).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Stores (or replaces) the outstanding challenge under a key. */
  async putChallenge(id: string, challenge: string, expiresAt: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('access_webauthn_challenges').where('id', '=', id).execute();
      await trx
        .insertInto('access_webauthn_challenges')
        .values({ id, challenge, expires_at: expiresAt })
        .execute();
    });
  }

  /** Takes the outstanding challenge (deleting it, so it serves once); null when none or expired. */
  async takeChallenge(id: string, now: string): Promise<string | null> {
    const row = await this.db
      .deleteFrom('access_webauthn_challenges')
      .where('id', '=', id)
      .returning(['challenge', 'expires_at'])
      .executeTakeFirst();
    if (!row || row.expires_at <= now) return null;
    return row.challenge;
  }

  async pruneChallenges(now: string): Promise<void> {
    await this.db.deleteFrom('access_webauthn_challenges').where('expires_at', '<=', now).execute();
  }
}
