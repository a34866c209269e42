/**
 * @module identity/tokens
 * API tokens for integrations: `vgl_<id>.<secret>`, shown once, stored as SHA-256 of the 256-bit
 * secret (a slow hash adds nothing for a random secret and would slow every API call), scoped to
 * one role, revocable. Compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import { isRole, newId, type Role, randomToken, UUID_RE, VigilError } from '../core/index.js';
import type { IdentityDeps, Principal } from './deps.js';
import { publish, tables } from './deps.js';
import type { ApiTokenRow } from './tables.js';
import { sha256 } from './totp.js';

const TOKEN_RE = /^vgl_([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export interface TokenView {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function toView(row: ApiTokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

const TOUCH_EVERY_MS = 60_000;

export class ApiTokens {
  constructor(private readonly deps: IdentityDeps) {}

  async create(name: string, role: Role, actor?: Principal): Promise<{ token: TokenView; secret: string }> {
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100)
      throw new VigilError('BAD_REQUEST', 'name: 1-100 characters', { details: { field: 'name' } });
    if (!isRole(role))
      throw new VigilError('BAD_REQUEST', `role: unknown role ${String(role)}`, {
        details: { field: 'role' },
      });
    const id = newId();
    const secret = randomToken(32);
    const row: ApiTokenRow = {
      id,
      name: trimmed,
      role,
      secret_hash: sha256(secret),
      created_by: actor?.id ?? null,
      created_at: this.deps.clock.now().toISOString(),
      last_used_at: null,
      revoked_at: null,
    };
    await tables(this.deps.db).insertInto('api_tokens').values(row).execute();
    await publish(this.deps, {
      kind: 'auth.token.created',
      source: 'identity',
      user: actor ? { id: actor.id, name: actor.username, role: actor.role } : { name: 'system' },
      data: { tokenId: id, name: trimmed, role },
    });
    return { token: toView(row), secret: `vgl_${id}.${secret}` };
  }

  async list(): Promise<TokenView[]> {
    const rows = await tables(this.deps.db)
      .selectFrom('api_tokens')
      .selectAll()
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toView);
  }

  async revoke(id: string, actor?: Principal): Promise<void> {
    if (!UUID_RE.test(id)) throw new VigilError('NOT_FOUND', 'No such token');
    const res = await tables(this.deps.db)
      .updateTable('api_tokens')
      .set({ revoked_at: this.deps.clock.now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new VigilError('NOT_FOUND', 'No such active token');
    await publish(this.deps, {
      kind: 'auth.token.revoked',
      source: 'identity',
      user: actor ? { id: actor.id, name: actor.username, role: actor.role } : { name: 'system' },
      data: { tokenId: id },
    });
  }

  /** The principal of a bearer token, or null when it is malformed, unknown or revoked. */
  async authenticate(bearer: string): Promise<Principal | null> {
    const m = TOKEN_RE.exec(bearer);
    if (!m) return null;
    const db = tables(this.deps.db);
    const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', m[1]!).executeTakeFirst();
    if (!row || row.revoked_at) return null;
    const expected = Buffer.from(row.secret_hash, 'hex');
    const given = Buffer.from(sha256(m[2]!), 'hex');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const now = this.deps.clock.now();
    if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > TOUCH_EVERY_MS) {
      await db
        .updateTable('api_tokens')
        .set({ last_used_at: now.toISOString() })
        .where('id', '=', row.id)
        .execute();
    }
    return {
      kind: 'token',
      id: row.id,
      username: `token:${row.name}`,
      displayName: row.name,
      role: row.role,
      credentialId: row.id,
      state: 'ok',
      mfaEnrolled: false,
    };
  }
}
