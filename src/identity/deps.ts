/**
 * @module identity/deps
 * What the identity domain needs, passed in by the composition root.
 */
import type { Kysely } from 'kysely';
import type { Clock, EventInput, Role } from '../core/index.js';
import { makeEvent } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { VigilConfig } from '../platform/config/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import type { Logger } from '../platform/log/index.js';
import type { IdentityTables } from './tables.js';

export interface IdentityDeps {
  db: AnyDb;
  keys: KeyRing;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  auth: VigilConfig['auth'];
}

export interface RequestContext {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** Who is calling: a console session or an API token. */
export interface Principal {
  kind: 'session' | 'token';
  /** User id for sessions; token id for tokens. */
  id: string;
  username: string;
  displayName: string;
  role: Role;
  /** Session id (hash) or token id: what to revoke. */
  credentialId: string;
  /** For sessions: how far the sign-in got. Tokens are always 'ok'. */
  state: 'password' | 'enroll' | 'mfa' | 'ok';
  mfaEnrolled: boolean;
}

export function tables(db: AnyDb): Kysely<IdentityTables> {
  return db.withTables<IdentityTables>();
}

/** Publishes security events; a bus failure is logged, never turned into a failed login. */
export async function publish(deps: IdentityDeps, ...inputs: EventInput[]): Promise<void> {
  const now = deps.clock.now();
  try {
    await deps.bus.publish(inputs.map((i) => makeEvent(i, now)));
  } catch (err) {
    deps.logger.error(
      { err: (err as Error).message, kinds: inputs.map((i) => i.kind) },
      'could not publish events',
    );
  }
}
