/**
 * @module access/cache
 * Established gateway sessions, in memory, so a check costs no database round trip. An entry is
 * re-validated against the database every few seconds (which also keeps the session's idle clock
 * moving for other processes), dropped at once when its session is revoked, and turned into a
 * "disabled" tombstone when its user is disabled, so the next check answers 403 at once.
 */
import type { Role } from '../core/index.js';
import type { KnownPlaces } from './geo.js';
import type { HourHistogram } from './hours.js';
import type { SignalResult } from './types.js';

export interface CachedSession {
  id: string;
  userId: string;
  username: string;
  roles: readonly Role[];
  /** Absolute expiry (ms). */
  expiresAt: number;
  /** Last use in this process (ms), for the idle timeout. */
  lastSeen: number;
  /** When the database last confirmed the session (ms). */
  validatedAt: number;
  deviceId: string | null;
  mfaAt: number | null;
  mfaDeviceId: string | null;
  mfaIp: string | null;
  knownDevices: ReadonlySet<string>;
  hours: HourHistogram;
  /** Countries, ASNs and networks this user signed in from with MFA. */
  places: KnownPlaces;
  /** Impossible travel between the previous sign-in and this session's, judged once at fill. */
  travel: SignalResult;
  /**
   * The reasons of this session's last decision. A check whose reasons are the same reuses the
   * array, so its JSON and hash are computed once (store.ts), not per request. Never mutated.
   */
  lastReasons?: readonly SignalResult[];
}

/** Bounded map of sessions by id, indexed by user for invalidation. */
export class SessionCache {
  private readonly entries = new Map<string, CachedSession>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly disabled = new Set<string>();

  constructor(private readonly maxEntries = 100_000) {}

  get(id: string): CachedSession | undefined {
    return this.entries.get(id);
  }

  set(entry: CachedSession): void {
    this.drop(entry.id);
    this.entries.set(entry.id, entry);
    let ids = this.byUser.get(entry.userId);
    if (!ids) {
      ids = new Set();
      this.byUser.set(entry.userId, ids);
    }
    ids.add(entry.id);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
  }

  drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    const ids = this.byUser.get(e.userId);
    ids?.delete(id);
    if (ids?.size === 0) this.byUser.delete(e.userId);
  }

  /** Forgets a user's sessions (they are re-read from the database on the next check). */
  dropUser(userId: string): void {
    for (const id of [...(this.byUser.get(userId) ?? [])]) this.drop(id);
  }

  /** The user was disabled: their cached sessions stay, so the next check denies with the reason. */
  markDisabled(userId: string): void {
    this.disabled.add(userId);
  }

  markEnabled(userId: string): void {
    this.disabled.delete(userId);
    this.dropUser(userId);
  }

  isDisabled(userId: string): boolean {
    return this.disabled.has(userId);
  }

  get size(): number {
    return this.entries.size;
  }
}
