/**
 * @module identity
 * Console users, sessions, MFA and API tokens: the public face of the identity domain. The access
 * gateway and the console authenticate the same people through it.
 */
import { Auth } from './auth.js';
import type { IdentityDeps } from './deps.js';
import { Sessions } from './sessions.js';
import { ApiTokens } from './tokens.js';
import { Users } from './users.js';

export type { SignInResult } from './auth.js';
export { DEMO_STAFF, identityDemoSeed } from './demo.js';
export type { IdentityDeps, Principal, RequestContext } from './deps.js';
export { identityMigrations } from './migrations.js';
export type { IssuedSession } from './sessions.js';
export type { SessionState } from './tables.js';
export type { TokenView } from './tokens.js';
export { type NewUser, toUserView, USERNAME_RE, type UserStats, type UserView } from './users.js';

export interface Identity {
  users: Users;
  sessions: Sessions;
  auth: Auth;
  tokens: ApiTokens;
}

export function createIdentity(deps: IdentityDeps): Identity {
  const sessions = new Sessions(deps);
  return {
    sessions,
    users: new Users(deps, sessions),
    auth: new Auth(deps, sessions),
    tokens: new ApiTokens(deps),
  };
}
