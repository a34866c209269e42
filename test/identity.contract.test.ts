/**
 * The identity domain on every engine: users, the sign-in flow (one-time password, TOTP, recovery
 * codes), back-off and lockout, session expiry, API tokens, and hostile input.
 */
import { generateSync } from 'otplib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../src/identity/index.js';
import type { Database } from '../src/platform/db/index.js';
import { testDatabases } from './support/databases.js';
import { type IdentityFixture, identityFixture } from './support/identity-fixture.js';

const ctx = { ip: '10.1.2.3', userAgent: 'vitest' };
const STRONG = 'correct horse battery staple';

for (const engine of testDatabases()) {
  describe(`identity on ${engine.name}`, () => {
    let database: Database;
    let f: IdentityFixture;

    beforeEach(async () => {
      database = await engine.open();
      f = await identityFixture(database, { backoffAfter: 3, lockoutThreshold: 6, lockoutMinutes: 15 });
    });
    afterEach(async () => {
      await f.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    async function principalOf(token: string): Promise<Principal> {
      const p = await f.identity.sessions.authenticate(token);
      expect(p).not.toBeNull();
      return p!;
    }

    /** Signs a new user in all the way: one-time password, new password, and (for admin roles) MFA. */
    async function signInFully(username: string, role: 'admin' | 'clinician') {
      const { oneTimePassword } = await f.identity.users.create({ username, displayName: username, role });
      const first = await f.identity.auth.login(username, oneTimePassword, ctx);
      expect(first.state).toBe('password');
      const changed = await f.identity.auth.changePassword(
        await principalOf(first.token),
        oneTimePassword,
        STRONG,
        ctx,
      );
      if (role === 'clinician') {
        expect(changed.state).toBe('ok');
        return { token: changed.token, secret: undefined };
      }
      expect(changed.state).toBe('enroll');
      const p = await principalOf(changed.token);
      const { secret, otpauthUrl, qrDataUrl } = await f.identity.auth.startEnrolment(p);
      expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Vigil:/);
      expect(qrDataUrl).toMatch(/^data:image\/png;base64,/);
      const code = generateSync({ secret, epoch: Math.floor(f.clock.now().getTime() / 1000) });
      const done = await f.identity.auth.confirmEnrolment(p, changed.token, code, ctx);
      expect(done.state).toBe('ok');
      expect(done.recoveryCodes).toHaveLength(10);
      return { token: done.token, secret, recoveryCodes: done.recoveryCodes };
    }

    it('creates users with a one-time password and refuses duplicates and bad names', async () => {
      const { user, oneTimePassword } = await f.identity.users.create({
        username: 'Alice.M',
        displayName: 'Alice M',
        role: 'clinician',
      });
      expect(user.username).toBe('alice.m');
      expect(user.mustChangePassword).toBe(true);
      expect(oneTimePassword).toHaveLength(20);
      await expect(
        f.identity.users.create({ username: 'alice.m', displayName: 'x', role: 'staff' }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      for (const bad of [
        "x' OR 1=1 --",
        'a',
        '',
        'ümlaut',
        'a'.repeat(65),
        'robert"); drop table users;--',
      ]) {
        await expect(
          f.identity.users.create({ username: bad, displayName: 'x', role: 'staff' }),
        ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
      expect(await f.identity.users.count()).toBe(1);
      const stats = await f.identity.users.stats();
      expect(stats).toEqual({ total: 1, active: 1, disabled: 0, byRole: { clinician: 1 } });
    });

    it('never tells an unknown user from a wrong password, and hostile usernames are just unknown', async () => {
      await f.identity.users.create({ username: 'bob', displayName: 'Bob', role: 'staff' });
      const unknown = await f.identity.auth.login('nobody', 'x', ctx).catch((e: unknown) => e);
      const wrong = await f.identity.auth.login('bob', 'x', ctx).catch((e: unknown) => e);
      const injection = await f.identity.auth.login("bob' --", 'x', ctx).catch((e: unknown) => e);
      for (const e of [unknown, wrong, injection])
        expect(e).toMatchObject({ code: 'INVALID_CREDENTIALS', message: 'Invalid username or password' });
      await f.settle();
      expect(f.events.filter((e) => e.kind === 'auth.login.failed')).toHaveLength(3);
    });

    it('takes a clinician from one-time password to a full session, and stores no secret in the clear', async () => {
      const { token } = await signInFully('carol', 'clinician');
      const p = await principalOf(token);
      expect(p).toMatchObject({ kind: 'session', username: 'carol', role: 'clinician', state: 'ok' });
      const row = await database.db
        .withTables<{ sessions: { id: string } }>()
        .selectFrom('sessions')
        .select('id')
        .execute();
      expect(row.map((r) => r.id)).not.toContain(token);
      await f.settle();
      expect(f.events.map((e) => e.kind)).toEqual(
        expect.arrayContaining(['user.created', 'auth.password.changed', 'auth.login.succeeded']),
      );
      expect(JSON.stringify(f.events)).not.toContain(STRONG);
    });

    it('rejects weak new passwords with a message naming the rule', async () => {
      const { oneTimePassword } = await f.identity.users.create({
        username: 'dave',
        displayName: 'Dave',
        role: 'staff',
      });
      const s = await f.identity.auth.login('dave', oneTimePassword, ctx);
      const p = await principalOf(s.token);
      await expect(f.identity.auth.changePassword(p, oneTimePassword, 'short', ctx)).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('at least 12'),
      });
      await expect(
        f.identity.auth.changePassword(p, oneTimePassword, 'dave-is-my-password', ctx),
      ).rejects.toMatchObject({ message: expect.stringContaining('username') });
      await expect(
        f.identity.auth.changePassword(p, oneTimePassword, 'aaaaaaaaaaaaaaaa', ctx),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(f.identity.auth.changePassword(p, 'wrong-current', STRONG, ctx)).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      });
    });

    it('forces MFA enrolment for an admin, then asks for TOTP at every sign-in and refuses a replayed code', async () => {
      const { secret } = await signInFully('erin', 'admin');
      const s = await f.identity.auth.login('erin', STRONG, ctx);
      expect(s.state).toBe('mfa');
      const p = await principalOf(s.token);
      // The code used at enrolment (same time step) cannot be replayed.
      const sameStep = generateSync({ secret: secret!, epoch: Math.floor(f.clock.now().getTime() / 1000) });
      await expect(f.identity.auth.verifyMfa(p, s.token, sameStep, ctx)).rejects.toMatchObject({
        code: 'MFA_INVALID',
      });
      f.clock.advance(30_000);
      const fresh = generateSync({ secret: secret!, epoch: Math.floor(f.clock.now().getTime() / 1000) });
      const ok = await f.identity.auth.verifyMfa(p, s.token, fresh, ctx);
      expect(ok.state).toBe('ok');
      // The session token was replaced: the old one is gone (no fixation).
      expect(await f.identity.sessions.authenticate(s.token)).toBeNull();
      expect((await principalOf(ok.token)).state).toBe('ok');
    });

    it('accepts each recovery code once', async () => {
      const { recoveryCodes } = await signInFully('fay', 'admin');
      const s1 = await f.identity.auth.login('fay', STRONG, ctx);
      const ok = await f.identity.auth.verifyMfa(
        await principalOf(s1.token),
        s1.token,
        recoveryCodes![0]!.toUpperCase(),
        ctx,
      );
      expect(ok.state).toBe('ok');
      const s2 = await f.identity.auth.login('fay', STRONG, ctx);
      await expect(
        f.identity.auth.verifyMfa(await principalOf(s2.token), s2.token, recoveryCodes![0]!, ctx),
      ).rejects.toMatchObject({ code: 'MFA_INVALID' });
      await f.settle();
      expect(f.events.find((e) => e.kind === 'auth.mfa.verified')?.data).toMatchObject({
        method: 'recovery',
      });
    });

    it('backs off after repeated failures and locks the account, publishing a lockout', async () => {
      await signInFully('gus', 'clinician');
      for (let i = 1; i <= 3; i++) {
        await expect(f.identity.auth.login('gus', 'wrong', ctx)).rejects.toMatchObject({
          code: 'INVALID_CREDENTIALS',
        });
      }
      // Back-off: the next attempt within the wait is refused without checking the password.
      await expect(f.identity.auth.login('gus', STRONG, ctx)).rejects.toMatchObject({
        code: 'RATE_LIMITED',
        details: { retryAfterSeconds: 1 },
      });
      for (let i = 4; i <= 5; i++) {
        f.clock.advance(60_000);
        await expect(f.identity.auth.login('gus', 'wrong', ctx)).rejects.toMatchObject({
          code: 'INVALID_CREDENTIALS',
        });
      }
      f.clock.advance(60_000);
      await expect(f.identity.auth.login('gus', 'wrong', ctx)).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      });
      // Locked now, even with the right password.
      f.clock.advance(60_000);
      await expect(f.identity.auth.login('gus', STRONG, ctx)).rejects.toMatchObject({
        code: 'ACCOUNT_LOCKED',
      });
      await f.settle();
      expect(f.events.filter((e) => e.kind === 'auth.lockout')).toHaveLength(1);
      f.clock.advance(15 * 60_000);
      expect((await f.identity.auth.login('gus', STRONG, ctx)).state).toBe('ok');
    });

    it('ends sessions when idle, at their absolute lifetime, on logout and when the user is disabled', async () => {
      const { token } = await signInFully('hal', 'clinician');
      f.clock.advance(29 * 60_000);
      expect(await f.identity.sessions.authenticate(token)).not.toBeNull();
      f.clock.advance(31 * 60_000);
      expect(await f.identity.sessions.authenticate(token)).toBeNull();

      let s = await f.identity.auth.login('hal', STRONG, ctx);
      for (let i = 0; i < 13; i++) {
        f.clock.advance(59 * 60_000);
        await f.identity.sessions.authenticate(s.token);
        f.clock.advance(60_000);
        await f.identity.sessions.authenticate(s.token);
      }
      expect(await f.identity.sessions.authenticate(s.token)).toBeNull();

      s = await f.identity.auth.login('hal', STRONG, ctx);
      expect(await f.identity.sessions.countActive()).toBe(1);
      await f.identity.auth.logout(await principalOf(s.token), s.token, ctx);
      expect(await f.identity.sessions.authenticate(s.token)).toBeNull();

      s = await f.identity.auth.login('hal', STRONG, ctx);
      await f.identity.users.setStatus('hal', 'disabled');
      expect(await f.identity.sessions.authenticate(s.token)).toBeNull();
      await expect(f.identity.auth.login('hal', STRONG, ctx)).rejects.toMatchObject({
        code: 'ACCOUNT_DISABLED',
      });
      await f.identity.users.setStatus('hal', 'active');
      expect((await f.identity.auth.login('hal', STRONG, ctx)).state).toBe('ok');
    });

    it('checks CSRF tokens in constant time against the session they belong to', async () => {
      const { token } = await signInFully('ivy', 'clinician');
      const csrf = f.identity.sessions.csrfFor(token);
      expect(f.identity.sessions.checkCsrf(token, csrf)).toBe(true);
      expect(f.identity.sessions.checkCsrf(token, undefined)).toBe(false);
      expect(f.identity.sessions.checkCsrf(token, `${csrf}x`)).toBe(false);
      const other = await signInFully('jon', 'clinician');
      expect(f.identity.sessions.checkCsrf(other.token, csrf)).toBe(false);
    });

    it('resets MFA: sessions end and the next sign-in enrols again', async () => {
      const { token } = await signInFully('kim', 'admin');
      await f.identity.users.resetMfa('kim');
      expect(await f.identity.sessions.authenticate(token)).toBeNull();
      expect((await f.identity.auth.login('kim', STRONG, ctx)).state).toBe('enroll');
    });

    it('issues API tokens scoped to a role, authenticates them, and revokes them', async () => {
      const { token, secret } = await f.identity.tokens.create('siem export', 'analyst');
      expect(secret).toMatch(/^vgl_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
      const p = await f.identity.tokens.authenticate(secret);
      expect(p).toMatchObject({ kind: 'token', role: 'analyst', state: 'ok', id: token.id });
      const tampered = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      expect(await f.identity.tokens.authenticate(tampered)).toBeNull();
      expect(await f.identity.tokens.authenticate('vgl_garbage')).toBeNull();
      expect(await f.identity.tokens.authenticate(`vgl_${'0'.repeat(36)}.${'a'.repeat(43)}`)).toBeNull();
      const listed = await f.identity.tokens.list();
      expect(JSON.stringify(listed)).not.toContain(secret.split('.')[1]);
      await f.identity.tokens.revoke(token.id);
      expect(await f.identity.tokens.authenticate(secret)).toBeNull();
      await expect(f.identity.tokens.revoke(token.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(f.identity.tokens.create('', 'analyst')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('creates the first administrator once', async () => {
      const first = await f.identity.users.ensureFirstAdmin();
      expect(first?.username).toBe('admin');
      expect(first?.oneTimePassword).toHaveLength(20);
      expect(await f.identity.users.ensureFirstAdmin()).toBeNull();
      expect((await f.identity.auth.login('admin', first!.oneTimePassword, ctx)).state).toBe('password');
    });
  });
}
