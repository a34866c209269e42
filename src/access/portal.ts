/**
 * @module access/portal
 * The gateway's sign-in: the same users, passwords, TOTP, back-off and lockout as the console
 * (identity does the work), with the gateway's own session record (device, MFA time and address)
 * and learned hours. A new session token is issued at every step, so the token changes at login
 * and at step-up. Step-up re-opens the session's MFA step and passes it with identity's own TOTP
 * check (replay protection included).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Role, VigilError } from '../core/index.js';
import type { RequestContext } from '../identity/index.js';
import type { SessionCache } from './cache.js';
import { type AccessDeps, sessionIdOf } from './deps.js';
import { recordHour } from './hours.js';
import type { AccessStore } from './store.js';

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

  constructor(
    private readonly deps: AccessDeps,
    private readonly store: AccessStore,
    private readonly cache: SessionCache,
  ) {
    this.csrfKey = deps.keys.deriveKey('access-csrf');
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
    if (r.state !== 'ok') {
      // A one-time password to replace or MFA to enrol: the console does that, not the gateway.
      await this.deps.identity.sessions.revoke(r.token);
      return { token: null, next: 'console', ...who };
    }
    await this.established(r.token, r.user.id, ctx, deviceId, false);
    return { token: r.token, next: 'done', ...who };
  }

  /** TOTP (or recovery code) step after the password. */
  async verifyMfa(
    token: string,
    code: string,
    ctx: RequestContext,
    deviceId: string | null,
  ): Promise<PortalStep> {
    const principal = await this.deps.identity.sessions.authenticate(token);
    if (principal?.state !== 'mfa') throw new VigilError('UNAUTHENTICATED', 'Sign in again');
    const r = await this.deps.identity.auth.verifyMfa(principal, token, code, ctx);
    await this.established(r.token, r.user.id, ctx, deviceId, true);
    return { token: r.token, next: 'done', username: r.user.username, roles: [r.user.role] };
  }

  /**
   * Step-up: the session goes back to its MFA step under a new token, and the code is checked as
   * at sign-in. A wrong code leaves the session waiting for MFA (the new token is returned either way).
   */
  async stepUp(
    token: string,
    code: string,
    ctx: RequestContext,
    deviceId: string | null,
  ): Promise<{ step: PortalStep | null; pendingToken: string; error?: VigilError }> {
    const { identity } = this.deps;
    const principal = await identity.sessions.authenticate(token);
    let pendingToken = token;
    if (principal?.state === 'ok') {
      const user = await identity.users.get(principal.id);
      if (!user?.mfa_enrolled_at) {
        throw new VigilError(
          'MFA_REQUIRED',
          'This access needs MFA, and your account has none. Enrol MFA in the console first.',
        );
      }
      const oldId = sessionIdOf(token);
      pendingToken = (await identity.sessions.issue(user, 'mfa', ctx, token)).token;
      this.cache.drop(oldId);
      await this.store.deleteSession(oldId);
    } else if (principal?.state !== 'mfa') throw new VigilError('UNAUTHENTICATED', 'Sign in again');
    try {
      return { step: await this.verifyMfa(pendingToken, code, ctx, deviceId), pendingToken };
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

  /** Records the gateway session; a device that passed MFA becomes known for the user; hours are learned. */
  private async established(
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
