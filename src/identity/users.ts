/**
 * @module identity/users
 * Administration of console users: create (with a one-time password), list, disable, enable,
 * reset MFA. Disabling or resetting ends the user's sessions at once.
 */
import { isRole, newId, type Role, VigilError } from '../core/index.js';
import type { IdentityDeps, Principal } from './deps.js';
import { publish, tables } from './deps.js';
import { generateOneTimePassword, hashPassword } from './passwords.js';
import type { Sessions } from './sessions.js';
import type { UserRow } from './tables.js';

export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{1,63}$/;

/** What the API and CLI show of a user: never a hash or a secret. */
export interface UserView {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  role: Role;
  status: 'active' | 'disabled';
  mfaEnrolled: boolean;
  mustChangePassword: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    email: row.email,
    role: row.role,
    status: row.status,
    mfaEnrolled: row.mfa_enrolled_at !== null,
    mustChangePassword: row.must_change_password === 1,
    lastLoginAt: row.last_login_at,
    createdAt: row.created_at,
  };
}

export interface NewUser {
  username: string;
  displayName: string;
  email?: string | null | undefined;
  role: Role;
}

export interface UserStats {
  total: number;
  active: number;
  disabled: number;
  byRole: Record<string, number>;
}

export class Users {
  constructor(
    private readonly deps: IdentityDeps,
    private readonly sessions: Sessions,
  ) {}

  /** Creates a user with a one-time password that must be replaced at first sign-in. */
  async create(input: NewUser, actor?: Principal): Promise<{ user: UserView; oneTimePassword: string }> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME_RE.test(username)) {
      throw new VigilError(
        'BAD_REQUEST',
        'username: 2-64 characters, lower-case letters, digits, dot, dash or underscore',
        {
          details: { field: 'username' },
        },
      );
    }
    if (!isRole(input.role))
      throw new VigilError('BAD_REQUEST', `role: unknown role ${String(input.role)}`, {
        details: { field: 'role' },
      });
    const db = tables(this.deps.db);
    const exists = await db
      .selectFrom('users')
      .select('id')
      .where('username', '=', username)
      .executeTakeFirst();
    if (exists)
      throw new VigilError('CONFLICT', `A user named ${username} exists already`, {
        details: { field: 'username' },
      });
    const oneTimePassword = generateOneTimePassword();
    const now = this.deps.clock.now().toISOString();
    const row: UserRow = {
      id: newId(),
      username,
      display_name: input.displayName.trim() || username,
      email: input.email?.trim() || null,
      role: input.role,
      status: 'active',
      password_hash: await hashPassword(oneTimePassword),
      must_change_password: 1,
      mfa_secret_sealed: null,
      mfa_enrolled_at: null,
      mfa_last_step: null,
      failed_count: 0,
      next_attempt_at: null,
      locked_until: null,
      last_login_at: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await db.insertInto('users').values(row).execute();
    } catch (err) {
      // Two creations racing for one name: the unique index decides.
      if (/unique|duplicate/i.test((err as Error).message)) {
        throw new VigilError('CONFLICT', `A user named ${username} exists already`, {
          details: { field: 'username' },
        });
      }
      throw err;
    }
    await publish(this.deps, {
      kind: 'user.created',
      source: 'identity',
      user: actor ? { id: actor.id, name: actor.username, role: actor.role } : { name: 'system' },
      data: { userId: row.id, username, role: row.role },
    });
    return { user: toUserView(row), oneTimePassword };
  }

  async get(idOrUsername: string): Promise<UserRow | undefined> {
    return tables(this.deps.db)
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrUsername), eb('username', '=', idOrUsername.toLowerCase())]))
      .executeTakeFirst();
  }

  private async mustGet(idOrUsername: string): Promise<UserRow> {
    const user = await this.get(idOrUsername);
    if (!user) throw new VigilError('NOT_FOUND', `No user ${idOrUsername}`);
    return user;
  }

  async list(): Promise<UserView[]> {
    const rows = await tables(this.deps.db).selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUserView);
  }

  async count(): Promise<number> {
    const row = await tables(this.deps.db)
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async stats(): Promise<UserStats> {
    const rows = await tables(this.deps.db)
      .selectFrom('users')
      .select(['role', 'status', (eb) => eb.fn.countAll().as('n')])
      .groupBy(['role', 'status'])
      .execute();
    const stats: UserStats = { total: 0, active: 0, disabled: 0, byRole: {} };
    for (const r of rows) {
      const n = Number(r.n);
      stats.total += n;
      if (r.status === 'active') stats.active += n;
      else stats.disabled += n;
      stats.byRole[r.role] = (stats.byRole[r.role] ?? 0) + n;
    }
    return stats;
  }

  async setStatus(idOrUsername: string, status: 'active' | 'disabled', actor?: Principal): Promise<UserView> {
    const user = await this.mustGet(idOrUsername);
    if (actor?.kind === 'session' && actor.id === user.id && status === 'disabled') {
      throw new VigilError('BAD_REQUEST', 'You cannot disable your own account');
    }
    const now = this.deps.clock.now().toISOString();
    await tables(this.deps.db)
      .updateTable('users')
      .set({
        status,
        updated_at: now,
        ...(status === 'active' ? { failed_count: 0, locked_until: null, next_attempt_at: null } : {}),
      })
      .where('id', '=', user.id)
      .execute();
    if (status === 'disabled') await this.sessions.revokeAllFor(user.id);
    await publish(this.deps, {
      kind: status === 'disabled' ? 'user.disabled' : 'user.enabled',
      source: 'identity',
      severity: status === 'disabled' ? 'medium' : 'info',
      user: actor ? { id: actor.id, name: actor.username, role: actor.role } : { name: 'system' },
      data: { userId: user.id, username: user.username },
    });
    return toUserView({ ...user, status, updated_at: now });
  }

  /** Removes the user's TOTP and recovery codes and ends their sessions; they enrol again at next sign-in. */
  async resetMfa(idOrUsername: string, actor?: Principal): Promise<UserView> {
    const user = await this.mustGet(idOrUsername);
    const now = this.deps.clock.now().toISOString();
    await tables(this.deps.db)
      .transaction()
      .execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ mfa_secret_sealed: null, mfa_enrolled_at: null, mfa_last_step: null, updated_at: now })
          .where('id', '=', user.id)
          .execute();
        await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      });
    await this.sessions.revokeAllFor(user.id);
    await publish(this.deps, {
      kind: 'auth.mfa.reset',
      source: 'identity',
      severity: 'medium',
      user: actor ? { id: actor.id, name: actor.username, role: actor.role } : { name: 'system' },
      data: { userId: user.id, username: user.username },
    });
    return toUserView({
      ...user,
      mfa_secret_sealed: null,
      mfa_enrolled_at: null,
      mfa_last_step: null,
      updated_at: now,
    });
  }

  /**
   * The first start: when no user exists, creates `admin` with a one-time password and returns it
   * (to be shown once on the terminal, never logged). Returns null when users exist.
   */
  async ensureFirstAdmin(): Promise<{ username: string; oneTimePassword: string } | null> {
    if ((await this.count()) > 0) return null;
    const { user, oneTimePassword } = await this.create({
      username: 'admin',
      displayName: 'Administrator',
      role: 'admin',
    });
    return { username: user.username, oneTimePassword };
  }
}
