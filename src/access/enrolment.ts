/**
 * @module access/enrolment
 * Self-service MFA at the portal for a signed-in person: enrol an authenticator app (TOTP, with a
 * QR code), add, list and remove passkeys, and replace the recovery codes. Every change needs a
 * fresh second factor: a step-up within the configured minutes (or, for someone with no factor
 * yet, a password sign-in that recent). Identity does TOTP and recovery codes; passkeys are here.
 */
import { VigilError } from '../core/index.js';
import type { RequestContext } from '../identity/index.js';
import { type AccessDeps, sessionIdOf } from './deps.js';
import type { Portal, PortalStep } from './portal.js';
import type { AccessStore } from './store.js';
import type { RelyingParty } from './webauthn.js';
import type { Passkey } from './webauthn-store.js';

/** What the security page shows. */
export interface AccountView {
  userId: string;
  username: string;
  displayName: string;
  totpEnrolled: boolean;
  passkeys: Passkey[];
  /** Whether a change may be made now without a new step-up. */
  fresh: boolean;
  /** Whether the person has any second factor (else enrolment needs only a recent sign-in). */
  hasFactor: boolean;
}

export class Enrolment {
  constructor(
    private readonly deps: AccessDeps,
    private readonly store: AccessStore,
    private readonly portal: Portal,
  ) {}

  /** The signed-in principal behind a portal session token, or UNAUTHENTICATED. */
  private async principal(token: string | undefined) {
    const principal = token ? await this.deps.identity.sessions.authenticate(token) : null;
    if (principal?.state !== 'ok' || principal.kind !== 'session')
      throw new VigilError('UNAUTHENTICATED', 'Sign in first');
    const session = await this.store.session(sessionIdOf(token!));
    if (!session || session.revoked_at) throw new VigilError('UNAUTHENTICATED', 'Sign in first');
    return { principal, session };
  }

  async view(token: string | undefined): Promise<AccountView> {
    const { principal, session } = await this.principal(token);
    const user = await this.deps.identity.users.get(principal.id);
    if (!user) throw new VigilError('UNAUTHENTICATED', 'Sign in first');
    const passkeys = await this.portal.passkeys.list(user.id);
    const hasFactor = user.mfa_enrolled_at !== null || passkeys.length > 0;
    const windowMs = this.deps.config.stepUpValidMinutes * 60_000;
    const now = this.deps.clock.now().getTime();
    const since = hasFactor ? session.mfa_at : session.created_at;
    const fresh = since !== null && now - Date.parse(since) <= windowMs;
    return {
      userId: user.id,
      username: user.username,
      displayName: user.display_name,
      totpEnrolled: user.mfa_enrolled_at !== null,
      passkeys,
      fresh,
      hasFactor,
    };
  }

  /** The view, or STEP_UP_REQUIRED when a change would need a fresh second factor first. */
  private async fresh(token: string | undefined): Promise<AccountView> {
    const v = await this.view(token);
    if (!v.fresh)
      throw new VigilError(
        'FORBIDDEN',
        'Confirm it is you first: changes to your sign-in need a fresh check',
      );
    return v;
  }

  /** Starts TOTP enrolment: a new secret, shown as a QR code and as text. */
  async startTotp(token: string | undefined) {
    const v = await this.fresh(token);
    if (v.totpEnrolled) throw new VigilError('CONFLICT', 'An authenticator app is already enrolled');
    const { principal } = await this.principal(token);
    const e = await this.deps.identity.auth.startEnrolment(principal);
    return { secret: e.secret, qrDataUrl: e.qrDataUrl };
  }

  /** Confirms TOTP with a first code: the session is rotated and recovery codes are returned once. */
  async confirmTotp(
    token: string | undefined,
    code: string,
    ctx: RequestContext,
    deviceId: string | null,
  ): Promise<{ step: PortalStep; recoveryCodes: string[] }> {
    await this.fresh(token);
    const { principal } = await this.principal(token);
    const r = await this.deps.identity.auth.confirmEnrolment(principal, token!, code, ctx);
    await this.store.deleteSession(sessionIdOf(token!));
    await this.portal.established(r.token, r.user.id, ctx, deviceId, true);
    return {
      step: { token: r.token, next: 'done', username: r.user.username, roles: [r.user.role] },
      recoveryCodes: r.recoveryCodes,
    };
  }

  /** Options for registering a new passkey (the browser calls `navigator.credentials.create`). */
  async passkeyRegistration(token: string | undefined, rp: RelyingParty, deviceId: string) {
    const v = await this.fresh(token);
    return this.portal.passkeys.registrationOptions(
      rp,
      { id: v.userId, username: v.username, displayName: v.displayName },
      deviceId,
    );
  }

  async addPasskey(
    token: string | undefined,
    rp: RelyingParty,
    deviceId: string,
    response: unknown,
    name: string,
  ): Promise<Passkey> {
    const v = await this.fresh(token);
    const passkey = await this.portal.passkeys.register(rp, v.userId, deviceId, response, name);
    this.deps.logger.info({ userId: v.userId, passkey: passkey.id.slice(0, 12) }, 'access: passkey added');
    return passkey;
  }

  async removePasskey(token: string | undefined, id: string): Promise<void> {
    const v = await this.fresh(token);
    await this.portal.passkeys.remove(v.userId, id);
    this.deps.logger.info({ userId: v.userId, passkey: id.slice(0, 12) }, 'access: passkey removed');
  }

  async regenerateRecoveryCodes(token: string | undefined, ctx: RequestContext): Promise<string[]> {
    await this.fresh(token);
    const { principal } = await this.principal(token);
    return this.deps.identity.auth.regenerateRecoveryCodes(principal, ctx);
  }
}
