/**
 * @module access/webauthn
 * Passkeys as a second factor at the portal, with `@simplewebauthn/server`: the registration and
 * authentication ceremonies. The relying party is the portal's public origin. Challenges are
 * random, stored per user, browser and purpose, expire after a few minutes and are taken once,
 * so a response cannot be replayed against a new challenge; a signature counter that does not move
 * forward (a cloned authenticator, a replayed assertion) is refused.
 */
import { createHash } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { z } from 'zod';
import { type Clock, VigilError } from '../core/index.js';
import type { Passkey, PasskeyStore } from './webauthn-store.js';

/** The portal as a WebAuthn relying party: its host name (RP ID) and its origin. */
export interface RelyingParty {
  id: string;
  origin: string;
  name: string;
}

/** The relying party for a portal base URL (`https://apps.hospital.org/access`). */
export function relyingPartyOf(portalBase: string): RelyingParty {
  const url = new URL(portalBase);
  return { id: url.hostname, origin: url.origin, name: 'Vigil remote access' };
}

export type Ceremony = 'register' | 'authenticate';

const CHALLENGE_TTL_MS = 5 * 60_000;
const MAX_PASSKEYS = 10;
const TIMEOUT_MS = 120_000;

const b64url = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*={0,2}$/);
const transports = z.array(z.string().max(32)).max(10).optional();
const registrationShape = z.object({
  id: b64url.max(1024),
  rawId: b64url.max(1024),
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    transports,
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.string().max(32).optional(),
});
const authenticationShape = z.object({
  id: b64url.max(1024),
  rawId: b64url.max(1024),
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.string().max(32).optional(),
});

/** Parses the browser's JSON (a form field): a clear error for anything that is not a credential. */
function parseResponse<T>(raw: unknown, shape: z.ZodType<T>): T {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 32_768)
    throw new VigilError('BAD_REQUEST', 'The passkey answer is missing or too large');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new VigilError('BAD_REQUEST', 'The passkey answer is not readable');
  }
  const parsed = shape.safeParse(json);
  if (!parsed.success) throw new VigilError('BAD_REQUEST', 'The passkey answer is not a WebAuthn credential');
  return parsed.data;
}

function denied(why: string): VigilError {
  return new VigilError('MFA_INVALID', `The passkey was not accepted: ${why}`);
}

/** Why the library refused a response, in words safe to show (no internals). */
function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : '';
  if (/challenge/i.test(msg)) return 'it answered a different or expired challenge';
  if (/origin/i.test(msg)) return 'it was made for a different site';
  if (/RP ID/i.test(msg)) return 'it was made for a different site';
  if (/counter/i.test(msg)) return 'its signature counter did not move forward (replayed or cloned)';
  if (/signature/i.test(msg)) return 'its signature does not verify';
  if (/user verif|user present/i.test(msg)) return 'the authenticator did not verify you';
  if (/type/i.test(msg)) return 'it is the wrong kind of answer';
  return 'it could not be verified';
}

export interface PasskeyUser {
  id: string;
  username: string;
  displayName: string;
}

/** The WebAuthn ceremonies over a passkey store. */
export class Passkeys {
  constructor(
    private readonly store: PasskeyStore,
    private readonly clock: Clock,
  ) {}

  private key(userId: string, browser: string, ceremony: Ceremony): string {
    return createHash('sha256').update(`${ceremony}\0${userId}\0${browser}`).digest('hex');
  }

  list(userId: string): Promise<Passkey[]> {
    return this.store.list(userId);
  }

  count(userId: string): Promise<number> {
    return this.store.count(userId);
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.store.remove(userId, id))) throw new VigilError('NOT_FOUND', 'No such passkey');
  }

  /** Removes every passkey of a user (their MFA was reset). */
  async removeAll(userId: string): Promise<number> {
    return this.store.removeAll(userId);
  }

  private async challengeFor(userId: string, browser: string, ceremony: Ceremony, challenge: string) {
    const now = this.clock.now();
    await this.store.pruneChallenges(now.toISOString());
    await this.store.putChallenge(
      this.key(userId, browser, ceremony),
      challenge,
      new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString(),
    );
  }

  /** Options for `navigator.credentials.create`; the user's existing passkeys are excluded. */
  async registrationOptions(
    rp: RelyingParty,
    user: PasskeyUser,
    browser: string,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.store.list(user.id);
    if (existing.length >= MAX_PASSKEYS)
      throw new VigilError('CONFLICT', `At most ${MAX_PASSKEYS} passkeys; remove one first`);
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: user.username,
      userDisplayName: user.displayName,
      userID: new Uint8Array(Buffer.from(user.id, 'utf8')),
      attestationType: 'none',
      timeout: TIMEOUT_MS,
      excludeCredentials: existing.map((p) => ({
        id: p.id,
        transports: p.transports as AuthenticatorTransport[],
      })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      supportedAlgorithmIDs: [-7, -257],
    });
    await this.challengeFor(user.id, browser, 'register', options.challenge);
    return options;
  }

  /** Verifies a registration response against the outstanding challenge and stores the passkey. */
  async register(
    rp: RelyingParty,
    userId: string,
    browser: string,
    raw: unknown,
    nameRaw: string,
  ): Promise<Passkey> {
    const response = parseResponse(raw, registrationShape) as RegistrationResponseJSON;
    const now = this.clock.now().toISOString();
    const challenge = await this.store.takeChallenge(this.key(userId, browser, 'register'), now);
    if (!challenge) throw denied('the registration expired; start again');
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo'];
    try {
      const v = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: false,
        supportedAlgorithmIDs: [-7, -257],
      });
      if (!v.verified || !v.registrationInfo) throw new Error('not verified');
      info = v.registrationInfo;
    } catch (err) {
      throw denied(reasonOf(err));
    }
    const name = nameRaw.trim().slice(0, 60) || 'Passkey';
    const passkey: Passkey = {
      id: info.credential.id,
      userId,
      name,
      publicKey: info.credential.publicKey,
      counter: info.credential.counter,
      transports: (response.response.transports ?? []).slice(0, 10),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      createdAt: now,
      lastUsedAt: null,
    };
    if (!(await this.store.add(passkey)))
      throw new VigilError('CONFLICT', 'This passkey is already registered');
    return passkey;
  }

  /** Options for `navigator.credentials.get`, or null when the user has no passkey. */
  async authenticationOptions(
    rp: RelyingParty,
    userId: string,
    browser: string,
  ): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
    const keys = await this.store.list(userId);
    if (!keys.length) return null;
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      timeout: TIMEOUT_MS,
      userVerification: 'preferred',
      allowCredentials: keys.map((p) => ({
        id: p.id,
        transports: p.transports as AuthenticatorTransport[],
      })),
    });
    await this.challengeFor(userId, browser, 'authenticate', options.challenge);
    return options;
  }

  /**
   * Verifies an assertion by one of the user's passkeys against the outstanding challenge. The
   * counter must move forward (unless the authenticator keeps none: both zero), and it is
   * advanced conditionally, so the same assertion never passes twice. Throws `MFA_INVALID`.
   */
  async authenticate(rp: RelyingParty, userId: string, browser: string, raw: unknown): Promise<Passkey> {
    const response = parseResponse(raw, authenticationShape) as AuthenticationResponseJSON;
    const now = this.clock.now().toISOString();
    const challenge = await this.store.takeChallenge(this.key(userId, browser, 'authenticate'), now);
    if (!challenge) throw denied('the sign-in expired; start again');
    const passkey = await this.store.get(response.id);
    if (passkey?.userId !== userId) throw denied('it is not one of your passkeys');
    let newCounter: number;
    try {
      const v = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: false,
        credential: {
          id: passkey.id,
          publicKey: new Uint8Array(passkey.publicKey),
          counter: passkey.counter,
          transports: passkey.transports as AuthenticatorTransport[],
        },
      });
      // The library answers `verified: false` (rather than throwing) when the signature fails.
      if (!v.verified) throw new Error('signature');
      newCounter = v.authenticationInfo.newCounter;
    } catch (err) {
      throw denied(reasonOf(err));
    }
    if ((newCounter > 0 || passkey.counter > 0) && newCounter <= passkey.counter)
      throw denied(reasonOf(new Error('counter')));
    if (!(await this.store.use(passkey.id, passkey.counter, newCounter, now)))
      throw denied(reasonOf(new Error('counter')));
    return { ...passkey, counter: newCounter, lastUsedAt: now };
  }
}
