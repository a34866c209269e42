/**
 * @module access/deps
 * What the gateway needs, passed in by the composition root.
 */
import { hash } from 'node:crypto';
import type { Clock } from '../core/index.js';
import type { Identity } from '../identity/index.js';
import type { Bus, EchoBus } from '../platform/bus/index.js';
import type { VigilConfig } from '../platform/config/index.js';
import type { AnyDb, OffThreadWriter } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import type { Logger } from '../platform/log/index.js';
import type { AwarenessSignals } from './awareness.js';
import type { GeoSignals } from './geo.js';

export interface AccessDeps {
  db: AnyDb;
  /** Off-thread writes of the database, when it offers them (decisions are written there). */
  offThread?: OffThreadWriter;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  keys: KeyRing;
  identity: Identity;
  config: VigilConfig['access'];
  auth: VigilConfig['auth'];
  /** Default: reports nothing. */
  awareness?: AwarenessSignals;
  /** Default: no GeoIP data (geo signals say unknown). */
  geo?: GeoSignals;
  /** Where downloaded blocklists live (`access.lists.dir`, default `<dataDir>/access-lists`). */
  listsDir?: string;
  /** When given, identity's events reach the session cache synchronously (same-process invalidation). */
  echo?: EchoBus;
}

/** The session id identity stores: SHA-256 hex of the token. */
export function sessionIdOf(token: string): string {
  // One-shot hash: the same digest without a Hash object per request (the check's hot path).
  return hash('sha256', token, 'hex');
}

/** Identity's session token shape: 32 random bytes, base64url. */
export const SESSION_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
