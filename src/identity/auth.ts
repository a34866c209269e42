/**
 * @module identity/auth
 * The sign-in flow: password (with back-off and lockout), one-time password replacement, TOTP
 * enrolment and verification (or a recovery code). Each step publishes an `auth.*` event, which
 * detection uses. The answers never tell an unknown username from a wrong password.
 */
import { newId, roleRequiresMfa, VigilError } from '../core/index.js';
import type { IdentityDeps, Principal, RequestContext } from './deps.js';
import { publish, tables } from './deps.js';
import { checkPasswordPolicy, dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import type { IssuedSession, Sessions } from './sessions.js';
import type { SessionState, UserRow } from './tables.js';
import {
  checkTotp,
  newRecoveryCodes,
  newTotpSecret,
  normaliseRecoveryCode,
  sha256,
  totpEnrolment,
} from './totp.js';

const MAX_BACKOFF_S = 15 * 60;

export interface SignInResult extends IssuedSession {
  user: UserRow;
}

export class Auth {
  constructor(
    private readonly deps: IdentityDeps,
    private readonly sessions: Sessions,
  ) {}

  private now(): Date {
    return this.deps.clock.now();
  }

  private async user(id: string): Promise<UserRow> {
    const user = await tables(this.deps.db)
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (user?.status !== 'active') throw new VigilError('UNAUTHENTICATED', 'Sign in again');
    return user;
  }

  /** The state a user reaches after the password step. */
  private nextState(user: UserRow): SessionState {
    if (user.must_change_password) return 'password';
    if (user.mfa_enrolled_at) return 'mfa';
    return roleRequiresMfa(user.role) ? 'enroll' : 'ok';
  }

  async login(usernameRaw: string, password: string, ctx: RequestContext): Promise<SignInResult> {
    const username = usernameRaw.trim().toLowerCase();
    const db = tables(this.deps.db);
    const user = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    const net = { srcIp: ctx.ip };
    if (!user) {
      await verifyPassword(await dummyPasswordHash(), password);
      await publish(this.deps, {
        kind: 'auth.login.failed',
        source: 'identity',
        severity: 'low',
        user: { name: username.slice(0, 64) },
        net,
        data: { reason: 'unknown-user', userAgent: ctx.userAgent },
      });
      throw new VigilError('INVALID_CREDENTIALS', 'Invalid username or password');
    }
    const now = this.now();
    const who = { id: user.id, name: user.username, role: user.role };
    if (user.locked_until && Date.parse(user.locked_until) > now.getTime()) {
      const retryAfterSeconds = Math.ceil((Date.parse(user.locked_until) - now.getTime()) / 1000);
      await publish(this.deps, {
        kind: 'auth.login.failed',
        source: 'identity',
        severity: 'medium',
        user: who,
        net,
        data: { reason: 'locked' },
      });
      throw new VigilError(
        'ACCOUNT_LOCKED',
        `Too many failed sign-ins. Try again in ${Math.ceil(retryAfterSeconds / 60)} minutes or ask an administrator.`,
        {
          details: { retryAfterSeconds },
        },
      );
    }
    if (user.next_attempt_at && Date.parse(user.next_attempt_at) > now.getTime()) {
      const retryAfterSeconds = Math.ceil((Date.parse(user.next_attempt_at) - now.getTime()) / 1000);
      throw new VigilError(
        'RATE_LIMITED',
        `Too many failed sign-ins. Wait ${retryAfterSeconds} seconds before trying again.`,
        {
          details: { retryAfterSeconds },
        },
      );
    }
    if (!(await verifyPassword(user.password_hash, password))) {
      await this.recordFailure(user, 'password', ctx);
      throw new VigilError('INVALID_CREDENTIALS', 'Invalid username or password');
    }
    if (user.status !== 'active') {
      await publish(this.deps, {
        kind: 'auth.login.failed',
        source: 'identity',
        severity: 'medium',
        user: who,
        net,
        data: { reason: 'disabled' },
      });
      throw new VigilError('ACCOUNT_DISABLED', 'This account is disabled. Ask an administrator.');
    }
    await db
      .updateTable('users')
      .set({ failed_count: 0, next_attempt_at: null, locked_until: null, updated_at: now.toISOString() })
      .where('id', '=', user.id)
      .execute();
    const state = this.nextState(user);
    const session = await this.sessions.issue(user, state, ctx);
    if (state === 'ok') await this.succeeded(user, ctx, false);
    else if (state === 'mfa') {
      await publish(this.deps, { kind: 'auth.mfa.challenged', source: 'identity', user: who, net });
    }
    return { ...session, user };
  }

  /** Counts a failed password or MFA attempt: back-off after a few, lockout after many. */
  private async recordFailure(user: UserRow, factor: 'password' | 'mfa', ctx: RequestContext): Promise<void> {
    const now = this.now();
    const { backoffAfter, lockoutThreshold, lockoutMinutes } = this.deps.auth;
    const failed = user.failed_count + 1;
    const who = { id: user.id, name: user.username, role: user.role };
    const net = { srcIp: ctx.ip };
    const db = tables(this.deps.db);
    if (failed >= lockoutThreshold) {
      const lockedUntil = new Date(now.getTime() + lockoutMinutes * 60_000).toISOString();
      await db
        .updateTable('users')
        .set({
          failed_count: 0,
          next_attempt_at: null,
          locked_until: lockedUntil,
          updated_at: now.toISOString(),
        })
        .where('id', '=', user.id)
        .execute();
      await publish(
        this.deps,
        {
          kind: `auth.${factor === 'mfa' ? 'mfa' : 'login'}.failed`,
          source: 'identity',
          severity: 'medium',
          user: who,
          net,
          data: { reason: factor, failedCount: failed },
        },
        {
          kind: 'auth.lockout',
          source: 'identity',
          severity: 'high',
          user: who,
          net,
          data: { failedCount: failed, lockedUntil },
        },
      );
      return;
    }
    const delayS = failed >= backoffAfter ? Math.min(2 ** (failed - backoffAfter), MAX_BACKOFF_S) : 0;
    await db
      .updateTable('users')
      .set({
        failed_count: failed,
        next_attempt_at: delayS ? new Date(now.getTime() + delayS * 1000).toISOString() : null,
        updated_at: now.toISOString(),
      })
      .where('id', '=', user.id)
      .execute();
    await publish(this.deps, {
      kind: `auth.${factor === 'mfa' ? 'mfa' : 'login'}.failed`,
      source: 'identity',
      severity: 'low',
      user: who,
      net,
      data: { reason: factor, failedCount: failed, userAgent: ctx.userAgent },
    });
  }

  private async succeeded(user: UserRow, ctx: RequestContext, mfa: boolean): Promise<void> {
    const now = this.now().toISOString();
    await tables(this.deps.db)
      .updateTable('users')
      .set({ last_login_at: now, updated_at: now })
      .where('id', '=', user.id)
      .execute();
    await publish(this.deps, {
      kind: 'auth.login.succeeded',
      source: 'identity',
      user: { id: user.id, name: user.username, role: user.role },
      net: { srcIp: ctx.ip },
      data: { mfa, userAgent: ctx.userAgent },
    });
  }

  /** Replaces the password (the one-time password at first sign-in, or a voluntary change). */
  async changePassword(
    principal: Principal,
    currentPassword: string,
    newPassword: string,
    ctx: RequestContext,
  ): Promise<SignInResult> {
    if (principal.kind !== 'session')
      throw new VigilError('FORBIDDEN', 'Only a signed-in person can change a password');
    if (principal.state !== 'password' && principal.state !== 'ok')
      throw new VigilError('MFA_REQUIRED', 'Finish signing in first');
    const user = await this.user(principal.id);
    if (!(await verifyPassword(user.password_hash, currentPassword))) {
      await this.recordFailure(user, 'password', ctx);
      throw new VigilError('INVALID_CREDENTIALS', 'The current password is wrong', {
        details: { field: 'currentPassword' },
      });
    }
    checkPasswordPolicy(newPassword, this.deps.auth.passwordMinLength, user.username);
    if (newPassword === currentPassword) {
      throw new VigilError('BAD_REQUEST', 'The new password must differ from the current one', {
        details: { field: 'newPassword' },
      });
    }
    const now = this.now().toISOString();
    const updated = {
      ...user,
      password_hash: await hashPassword(newPassword),
      must_change_password: 0,
      updated_at: now,
    };
    await tables(this.deps.db)
      .updateTable('users')
      .set({ password_hash: updated.password_hash, must_change_password: 0, updated_at: now })
      .where('id', '=', user.id)
      .execute();
    // Every other session of this user ends: a changed password must lock out whoever knew the old one.
    await this.sessions.revokeAllFor(user.id);
    const state = principal.state === 'ok' ? 'ok' : this.nextState(updated);
    const session = await this.sessions.issue(updated, state, ctx);
    await publish(this.deps, {
      kind: 'auth.password.changed',
      source: 'identity',
      user: { id: user.id, name: user.username, role: user.role },
      net: { srcIp: ctx.ip },
    });
    if (state === 'ok' && principal.state !== 'ok') await this.succeeded(updated, ctx, false);
    return { ...session, user: updated };
  }

  /** Starts (or restarts) TOTP enrolment: a new secret, sealed until confirmed. */
  async startEnrolment(principal: Principal) {
    if (principal.kind !== 'session' || (principal.state !== 'enroll' && principal.state !== 'ok')) {
      throw new VigilError('FORBIDDEN', 'MFA enrolment is not available in this sign-in state');
    }
    const user = await this.user(principal.id);
    if (user.mfa_enrolled_at)
      throw new VigilError('CONFLICT', 'MFA is already enrolled; an administrator can reset it');
    const secret = newTotpSecret();
    await tables(this.deps.db)
      .updateTable('users')
      .set({ mfa_secret_sealed: this.seal(user.id, secret), updated_at: this.now().toISOString() })
      .where('id', '=', user.id)
      .execute();
    return totpEnrolment(secret, user.username);
  }

  async confirmEnrolment(principal: Principal, sessionToken: string, code: string, ctx: RequestContext) {
    if (principal.kind !== 'session' || (principal.state !== 'enroll' && principal.state !== 'ok')) {
      throw new VigilError('FORBIDDEN', 'MFA enrolment is not available in this sign-in state');
    }
    const user = await this.user(principal.id);
    if (user.mfa_enrolled_at) throw new VigilError('CONFLICT', 'MFA is already enrolled');
    if (!user.mfa_secret_sealed) throw new VigilError('BAD_REQUEST', 'Start the enrolment first');
    const secret = this.open(user.id, user.mfa_secret_sealed);
    const step = await checkTotp(secret, code.trim(), this.now().getTime(), null);
    if (step === null) {
      await publish(this.deps, {
        kind: 'auth.mfa.failed',
        source: 'identity',
        severity: 'low',
        user: { id: user.id, name: user.username, role: user.role },
        net: { srcIp: ctx.ip },
        data: { reason: 'enrolment-code' },
      });
      throw new VigilError(
        'MFA_INVALID',
        'That code is not right. Check the time on your phone and enter the current code.',
        { details: { field: 'code' } },
      );
    }
    const recoveryCodes = newRecoveryCodes();
    const now = this.now().toISOString();
    await tables(this.deps.db)
      .transaction()
      .execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ mfa_enrolled_at: now, mfa_last_step: step, updated_at: now })
          .where('id', '=', user.id)
          .execute();
        await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await trx
          .insertInto('recovery_codes')
          .values(
            recoveryCodes.map((c) => ({
              id: newId(),
              user_id: user.id,
              code_hash: sha256(`${user.id}:${c}`),
              used_at: null,
            })),
          )
          .execute();
      });
    const enrolled = { ...user, mfa_enrolled_at: now, mfa_last_step: step };
    const session = await this.sessions.issue(enrolled, 'ok', ctx, sessionToken);
    await publish(this.deps, {
      kind: 'auth.mfa.enrolled',
      source: 'identity',
      user: { id: user.id, name: user.username, role: user.role },
      net: { srcIp: ctx.ip },
    });
    if (principal.state !== 'ok') await this.succeeded(enrolled, ctx, true);
    return { ...session, user: enrolled, recoveryCodes };
  }

  /** Second factor at sign-in: a TOTP code, or a one-time recovery code. */
  async verifyMfa(
    principal: Principal,
    sessionToken: string,
    codeRaw: string,
    ctx: RequestContext,
  ): Promise<SignInResult> {
    if (principal.kind !== 'session' || principal.state !== 'mfa')
      throw new VigilError('FORBIDDEN', 'No MFA check is pending for this session');
    const user = await this.user(principal.id);
    const now = this.now();
    if (user.locked_until && Date.parse(user.locked_until) > now.getTime()) {
      await this.sessions.revoke(sessionToken);
      throw new VigilError(
        'ACCOUNT_LOCKED',
        'Too many failed attempts. Try again later or ask an administrator.',
      );
    }
    const code = codeRaw.trim();
    let method: 'totp' | 'recovery' | null = null;
    if (/^\d{6}$/.test(code) && user.mfa_secret_sealed) {
      const step = await checkTotp(
        this.open(user.id, user.mfa_secret_sealed),
        code,
        now.getTime(),
        user.mfa_last_step,
      );
      if (step !== null) {
        method = 'totp';
        await tables(this.deps.db)
          .updateTable('users')
          .set({ mfa_last_step: step })
          .where('id', '=', user.id)
          .execute();
      }
    } else if (code.length <= 32) {
      const hash = sha256(`${user.id}:${normaliseRecoveryCode(code)}`);
      const used = await tables(this.deps.db)
        .updateTable('recovery_codes')
        .set({ used_at: now.toISOString() })
        .where('user_id', '=', user.id)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) === 1) method = 'recovery';
    }
    if (!method) {
      await this.recordFailure(user, 'mfa', ctx);
      throw new VigilError('MFA_INVALID', 'That code is not right or was already used', {
        details: { field: 'code' },
      });
    }
    return this.mfaPassed(user, sessionToken, method, ctx);
  }

  /** The second factor passed: failures reset, the session leaves its MFA step under a new token. */
  private async mfaPassed(
    user: UserRow,
    sessionToken: string,
    method: string,
    ctx: RequestContext,
  ): Promise<SignInResult> {
    await tables(this.deps.db)
      .updateTable('users')
      .set({ failed_count: 0, next_attempt_at: null })
      .where('id', '=', user.id)
      .execute();
    const session = await this.sessions.issue(user, 'ok', ctx, sessionToken);
    await publish(this.deps, {
      kind: 'auth.mfa.verified',
      source: 'identity',
      user: { id: user.id, name: user.username, role: user.role },
      net: { srcIp: ctx.ip },
      data: { method },
    });
    await this.succeeded(user, ctx, true);
    return { ...session, user };
  }

  /**
   * A second factor checked by another domain (a passkey at the access portal). Passed: the
   * session leaves its MFA step under a new token, as after a code. Failed: the attempt counts
   * towards back-off and lockout like a wrong code.
   */
  async externalMfa(
    principal: Principal,
    sessionToken: string,
    method: 'passkey',
    passed: boolean,
    ctx: RequestContext,
  ): Promise<SignInResult> {
    if (principal.kind !== 'session' || principal.state !== 'mfa')
      throw new VigilError('FORBIDDEN', 'No MFA check is pending for this session');
    const user = await this.user(principal.id);
    if (user.locked_until && Date.parse(user.locked_until) > this.now().getTime()) {
      await this.sessions.revoke(sessionToken);
      throw new VigilError(
        'ACCOUNT_LOCKED',
        'Too many failed attempts. Try again later or ask an administrator.',
      );
    }
    if (!passed) {
      await this.recordFailure(user, 'mfa', ctx);
      throw new VigilError('MFA_INVALID', 'The second factor was not accepted');
    }
    return this.mfaPassed(user, sessionToken, method, ctx);
  }

  /** New recovery codes for a signed-in user with TOTP enrolled; the old ones stop working. */
  async regenerateRecoveryCodes(principal: Principal, ctx: RequestContext): Promise<string[]> {
    if (principal.kind !== 'session' || principal.state !== 'ok')
      throw new VigilError('FORBIDDEN', 'Finish signing in first');
    const user = await this.user(principal.id);
    if (!user.mfa_enrolled_at) throw new VigilError('CONFLICT', 'Enrol an authenticator app first');
    const codes = newRecoveryCodes();
    await tables(this.deps.db)
      .transaction()
      .execute(async (trx) => {
        await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await trx
          .insertInto('recovery_codes')
          .values(
            codes.map((c) => ({
              id: newId(),
              user_id: user.id,
              code_hash: sha256(`${user.id}:${c}`),
              used_at: null,
            })),
          )
          .execute();
      });
    await publish(this.deps, {
      kind: 'auth.mfa.recovery.regenerated',
      source: 'identity',
      user: { id: user.id, name: user.username, role: user.role },
      net: { srcIp: ctx.ip },
    });
    return codes;
  }

  async logout(principal: Principal, sessionToken: string, ctx: RequestContext): Promise<void> {
    await this.sessions.revoke(sessionToken);
    await publish(this.deps, {
      kind: 'auth.logout',
      source: 'identity',
      user: { id: principal.id, name: principal.username, role: principal.role },
      net: { srcIp: ctx.ip },
    });
  }

  private seal(userId: string, secret: string): string {
    return this.deps.keys.seal(Buffer.from(secret, 'utf8'), `users.mfa_secret:${userId}`);
  }

  private open(userId: string, sealed: string): string {
    return this.deps.keys.open(sealed, `users.mfa_secret:${userId}`).toString('utf8');
  }
}
