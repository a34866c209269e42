/**
 * @module access/portal
 * The gateway's sign-in: the same users, passwords, TOTP, back-off and lockout as the console
 * (identity does the work), with the gateway's own session record (device, MFA time and address)
 * and learned hours. A new session token is issued at every step, so the token changes at login
 * and at step-up. Step-up re-opens the session's MFA step and passes it with identity's own TOTP
 * check (replay protection included) or with one of the user's passkeys (WebAuthn). A user with a
 * passkey is always asked for a second factor, even without TOTP.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Role, VigilError } from '../core/index.js';
import type { RequestContext } from '../identity/index.js';
import type { SessionCache } from './cache.js';
import { type AccessDeps, sessionIdOf } from './deps.js';
import { recordHour } from './hours.js';
import type { AccessStore } from './store.js';
import { Passkeys, type RelyingParty } from './webauthn.js';
import { PasskeyStore } from './webauthn-store.js';

/** The second factor a person gives: a TOTP or recovery code, or a passkey's answer (JSON text). */
export type SecondFactor = { code: string } | { passkey: unknown; rp: RelyingParty };

/** What a portal step led to: a session token to set (or clear) and what to show next. */
export interface PortalStep {
  /** The new session token for the cookie; null = clear the cookie. */
  token: string | null;
  /** `done`: signed in; `mfa`: ask the TOTP code; `console`: finish in the console first. */
  next: 'done' | 'mfa' | 'console';
  username: string;
  roles: readonly Role[];
}

export class Portal {
  private readonly csrfKey: Buffer;
  readonly passkeys: Passkeys;

  constructor(
    private readonly deps: AccessDeps,
    private readonly store: AccessStore,
    private readonly cache: SessionCache,
  ) {
    this.csrfKey = deps.keys.deriveKey('access-csrf');
    this.passkeys = new Passkeys(new PasskeyStore(deps.db), deps.clock);
  }

  /** A fresh value for the portal's CSRF cookie. */
  newCsrfCookie(): string {
    return randomBytes(24).toString('base64url');
  }

  /** The form token bound to the CSRF cookie (double submit, keyed so it cannot be forged). */
  csrfFor(cookie: string): string {
    return createHmac('sha256', this.csrfKey).update(cookie).digest('base64url');
  }

  /** Constant-time check of a form's CSRF token against the cookie. */
  checkCsrf(cookie: string | undefined, token: unknown): boolean {
    if (!cookie || typeof token !== 'string' || cookie.length > 64) return false;
    const a = Buffer.from(this.csrfFor(cookie));
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Password step. */
  async login(
    username: string,
    password: string,
    ctx: RequestContext,
    deviceId: string | null,
  ): Promise<PortalStep> {
    const r = await this.deps.identity.auth.login(username, password, ctx);
    const who = { username: r.user.username, roles: [r.user.role] as const };
    if (r.state === 'mfa') return { token: r.token, next: 'mfa', ...who };
    if ((r.state === 'ok' || r.state === 'enroll') && (await this.passkeys.count(r.user.id)) > 0) {
      // A passkey is a second factor: its owner passes it here even without TOTP.
      const pending = await this.deps.identity.sessions.issue(r.user, 'mfa', ctx, r.token);
      return { token: pending.token, next: 'mfa', ...who };
    }
    if (r.state !== 'ok') {
      // A one-time password to replace or MFA to enrol: the console does that, not the gateway.
      await this.deps.identity.sessions.revoke(r.token);
      return { token: null, next: 'console', ...who };
    }
    await this.established(r.token, r.user.id, ctx, deviceId, false);
    return { token: r.token, next: 'done', ...who };
  }

  /** Second-factor step after the password: TOTP, recovery code or passkey. */
  async verifyMfa(
    token: string,
    factor: SecondFactor | string,
    ctx: RequestContext,
    deviceId: string | null,
  ): Promise<PortalStep> {
    const { identity } = this.deps;
    const principal = await identity.sessions.authenticate(token);
    if (principal?.state !== 'mfa') throw new VigilError('UNAUTHENTICATED', 'Sign in again');
    const f = typeof factor === 'string' ? { code: factor } : factor;
    let r: Awaited<ReturnType<typeof identity.auth.verifyMfa>>;
    if ('code' in f) r = await identity.auth.verifyMfa(principal, token, f.code, ctx);
    else {
      try {
        await this.passkeys.authenticate(f.rp, principal.id, deviceId ?? '', f.passkey);
      } catch (err) {
        if (!(err instanceof VigilError) || err.status >= 500) throw err;
        // The refusal counts towards back-off and lockout; the passkey's own reason is shown.
        await identity.auth.externalMfa(principal, token, 'passkey', false, ctx).catch((e: unknown) => {
          if (!(e instanceof VigilError) || e.code !== 'MFA_INVALID') throw e;
        });
        throw err;
      }
      r = await identity.auth.externalMfa(principal, token, 'passkey', true, ctx);
    }
    await this.established(r.token, r.user.id, ctx, deviceId, true);
    return { token: r.token, next: 'done', username: r.user.username, roles: [r.user.role] };
  }

  /**
   * WebAuthn options for the user behind a session waiting for (or able to do) a second factor,
   * or null when the user has no passkey. Each call replaces the outstanding challenge.
   */
  async passkeyOptions(token: string | undefined, rp: RelyingParty, deviceId: string) {
    const principal = token ? await this.deps.identity.sessions.authenticate(token) : null;
    if (principal?.state !== 'mfa' && principal?.state !== 'ok') return null;
    return this.passkeys.authenticationOptions(rp, principal.id, deviceId);
  }

  /**
   * Step-up: the session goes back to its MFA step under a new token, and the code is checked as
   * at sign-in. A wrong code leaves the session waiting for MFA (the new token is returned either way).
   */
  async stepUp(
    token: string,
    factor: SecondFactor | string,
    ctx: RequestContext,
    deviceId: string | null,
  ): Promise<{ step: PortalStep | null; pendingToken: string; error?: VigilError }> {
    const { identity } = this.deps;
    const principal = await identity.sessions.authenticate(token);
    let pendingToken = token;
    if (principal?.state === 'ok') {
      const user = await identity.users.get(principal.id);
      if (!user) throw new VigilError('UNAUTHENTICATED', 'Sign in again');
      if (!user.mfa_enrolled_at && (await this.passkeys.count(user.id)) === 0) {
        throw new VigilError(
          'MFA_REQUIRED',
          'This access needs MFA, and your account has none. Enrol an authenticator app or a passkey first (Security settings).',
        );
      }
      const oldId = sessionIdOf(token);
      pendingToken = (await identity.sessions.issue(user, 'mfa', ctx, token)).token;
      this.cache.drop(oldId);
      await this.store.deleteSession(oldId);
    } else if (principal?.state !== 'mfa') throw new VigilError('UNAUTHENTICATED', 'Sign in again');
    try {
      return { step: await this.verifyMfa(pendingToken, factor, ctx, deviceId), pendingToken };
    } catch (err) {
      if (err instanceof VigilError) return { step: null, pendingToken, error: err };
      throw err;
    }
  }

  /** Ends the gateway session. */
  async logout(token: string, ctx: RequestContext): Promise<void> {
    const id = sessionIdOf(token);
    const principal = await this.deps.identity.sessions.authenticate(token);
    if (principal) await this.deps.identity.auth.logout(principal, token, ctx);
    else await this.deps.identity.sessions.revoke(token);
    this.cache.drop(id);
    await this.store.revokeSession(id, this.deps.clock.now().toISOString());
  }

  /**
   * Records the gateway session (also after self-service enrolment rotated the token); a device
   * that passed MFA becomes known for the user; hours are learned.
   */
  async established(
    token: string,
    userId: string,
    ctx: RequestContext,
    deviceId: string | null,
    mfa: boolean,
  ): Promise<void> {
    const now = this.deps.clock.now();
    const at = now.toISOString();
    const ip = ctx.ip?.slice(0, 64) ?? null;
    await this.store.insertSession({
      id: sessionIdOf(token),
      user_id: userId,
      device_id: deviceId,
      ip,
      created_at: at,
      mfa_at: mfa ? at : null,
      mfa_device_id: mfa ? deviceId : null,
      mfa_ip: mfa ? ip : null,
      revoked_at: null,
    });
    if (mfa && deviceId) await this.store.rememberDevice(userId, deviceId, at);
    await this.store.saveHours(userId, recordHour(await this.store.hours(userId), now.getHours()), at);
    // Known devices and hours changed: cached sessions of this user are re-read.
    this.cache.dropUser(userId);
  }
}
