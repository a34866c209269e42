/**
 * @module identity/sessions
 * Console sessions. The cookie holds a random 256-bit token; the database holds only its SHA-256,
 * so a database leak cannot be replayed as a session. Sessions end after an idle period and at an
 * absolute lifetime, on logout, when the user is disabled, and on every change of sign-in state
 * (a new token is issued, which defeats session fixation).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../core/index.js';
import type { IdentityDeps, Principal, RequestContext } from './deps.js';
import { tables } from './deps.js';
import type { SessionState, UserRow } from './tables.js';
import { sha256 } from './totp.js';

const TOUCH_EVERY_MS = 60_000;

export interface IssuedSession {
  token: string;
  csrfToken: string;
  state: SessionState;
  expiresAt: string;
}

export class Sessions {
  constructor(private readonly deps: IdentityDeps) {}

  csrfFor(token: string): string {
    return createHmac('sha256', this.deps.keys.deriveKey('csrf')).update(token).digest('base64url');
  }

  /** Constant-time check of a CSRF header against the session token it must belong to. */
  checkCsrf(token: string, header: string | undefined): boolean {
    if (!header) return false;
    const a = Buffer.from(this.csrfFor(token));
    const b = Buffer.from(header);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async issue(
    user: UserRow,
    state: SessionState,
    ctx: RequestContext,
    replaces?: string,
  ): Promise<IssuedSession> {
    const now = this.deps.clock.now();
    const token = randomToken(32);
    const expiresAt = new Date(now.getTime() + this.deps.auth.sessionAbsoluteHours * 3_600_000).toISOString();
    const db = tables(this.deps.db);
    await db.transaction().execute(async (trx) => {
      if (replaces) await trx.deleteFrom('sessions').where('id', '=', sha256(replaces)).execute();
      await trx
        .insertInto('sessions')
        .values({
          id: sha256(token),
          user_id: user.id,
          state,
          created_at: now.toISOString(),
          last_seen_at: now.toISOString(),
          expires_at: expiresAt,
          ip: ctx.ip?.slice(0, 64) ?? null,
          user_agent: ctx.userAgent?.slice(0, 256) ?? null,
          revoked_at: null,
        })
        .execute();
    });
    return { token, csrfToken: this.csrfFor(token), state, expiresAt };
  }

  /** The principal behind a session token, or null when it is unknown, expired, revoked or its user disabled. */
  async authenticate(token: string): Promise<Principal | null> {
    if (token.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
    const db = tables(this.deps.db);
    const id = sha256(token);
    const row = await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id as sid',
        'sessions.state',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'sessions.revoked_at',
        'users.id as uid',
        'users.username',
        'users.display_name',
        'users.role',
        'users.status',
        'users.mfa_enrolled_at',
      ])
      .where('sessions.id', '=', id)
      .executeTakeFirst();
    if (!row || row.revoked_at) return null;
    const now = this.deps.clock.now().getTime();
    const idleMs = this.deps.auth.sessionIdleMinutes * 60_000;
    if (
      Date.parse(row.expires_at) <= now ||
      Date.parse(row.last_seen_at) + idleMs <= now ||
      row.status !== 'active'
    ) {
      await db.deleteFrom('sessions').where('id', '=', id).execute();
      return null;
    }
    if (now - Date.parse(row.last_seen_at) > TOUCH_EVERY_MS) {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: new Date(now).toISOString() })
        .where('id', '=', id)
        .execute();
    }
    return {
      kind: 'session',
      id: row.uid,
      username: row.username,
      displayName: row.display_name,
      role: row.role,
      credentialId: row.sid,
      state: row.state,
      mfaEnrolled: row.mfa_enrolled_at !== null,
    };
  }

  async revoke(token: string): Promise<void> {
    await tables(this.deps.db).deleteFrom('sessions').where('id', '=', sha256(token)).execute();
  }

  /** Ends one session by its id (the stored hash, as `Principal.credentialId` gives it). */
  async revokeById(id: string): Promise<boolean> {
    const res = await tables(this.deps.db).deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async revokeAllFor(userId: string): Promise<void> {
    await tables(this.deps.db).deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  /** Sessions fully signed in and not idle or expired. */
  async countActive(): Promise<number> {
    const now = this.deps.clock.now();
    const idleCutoff = new Date(now.getTime() - this.deps.auth.sessionIdleMinutes * 60_000).toISOString();
    const row = await tables(this.deps.db)
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('state', '=', 'ok')
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now.toISOString())
      .where('last_seen_at', '>', idleCutoff)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Deletes expired and idle sessions (housekeeping). */
  async prune(): Promise<number> {
    const now = this.deps.clock.now();
    const idleCutoff = new Date(now.getTime() - this.deps.auth.sessionIdleMinutes * 60_000).toISOString();
    const res = await tables(this.deps.db)
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now.toISOString()), eb('last_seen_at', '<=', idleCutoff)]))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
