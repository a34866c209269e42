/**
 * Creates a user with a real password and enrolled TOTP through the identity domain (as the
 * console would), keeping the recovery codes so a test can pass a second MFA check in the same
 * 30-second step (TOTP codes are never accepted twice).
 */
import { generateSync } from 'otplib';
import type { Role } from '../../src/core/index.js';
import type { Services } from '../../src/server/index.js';
import { STRONG_PASSWORD } from '../support/server-fixture.js';

export interface TestUser {
  id: string;
  username: string;
  password: string;
  secret: string;
  recoveryCodes: string[];
}

export async function enrolledUser(services: Services, username: string, role: Role): Promise<TestUser> {
  const { identity } = services;
  const { user, oneTimePassword } = await identity.users.create({ username, displayName: username, role });
  const ctx = { ip: '127.0.0.1' };
  const first = await identity.auth.login(username, oneTimePassword, ctx);
  const p1 = await identity.sessions.authenticate(first.token);
  const changed = await identity.auth.changePassword(p1!, oneTimePassword, STRONG_PASSWORD, ctx);
  const p2 = await identity.sessions.authenticate(changed.token);
  const { secret } = await identity.auth.startEnrolment(p2!);
  const done = await identity.auth.confirmEnrolment(p2!, changed.token, generateSync({ secret }), ctx);
  await identity.sessions.revoke(done.token);
  return { id: user.id, username, password: STRONG_PASSWORD, secret, recoveryCodes: done.recoveryCodes };
}
