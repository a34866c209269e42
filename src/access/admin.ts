/**
 * @module access/admin
 * What analysts and administrators do with the gateway from the console: read recent decisions
 * with their reasons, list and revoke gateway sessions, block an address or range. A revocation or
 * a block takes effect in this process at once and in the others through the bus.
 */
import { makeEvent, newId, VigilError } from '../core/index.js';
import type { Principal } from '../identity/index.js';
import type { Blocklists } from './blocklist.js';
import type { SessionCache } from './cache.js';
import type { AccessDeps } from './deps.js';
import { isCidr } from './ip.js';
import type { AccessStore, DecisionView } from './store.js';
import type { AccessBlockRow, AccessSessionRow } from './tables.js';

/** The list an analyst's blocks go to. */
export const CONSOLE_BLOCKLIST = 'console';

export class AccessAdmin {
  constructor(
    private readonly deps: AccessDeps,
    private readonly store: AccessStore,
    private readonly cache: SessionCache,
    private readonly blocklists: Blocklists,
  ) {}

  decisions(opts: {
    limit: number;
    userId?: string | undefined;
    decision?: string | undefined;
  }): Promise<DecisionView[]> {
    return this.store.recentDecisions(opts);
  }

  sessions(opts: { limit: number; userId?: string | undefined }): Promise<AccessSessionRow[]> {
    return this.store.sessions(opts);
  }

  async revokeSession(sessionId: string, actor: Principal): Promise<void> {
    const userId = await this.store.revokeSession(sessionId, this.deps.clock.now().toISOString());
    if (!userId) throw new VigilError('NOT_FOUND', 'No such gateway session');
    this.cache.drop(sessionId);
    // The sign-in behind it ends too, so the same cookie cannot reach the console either.
    await this.deps.identity.sessions.revokeById(sessionId);
    await this.publish('access.session.revoked', actor, { sessionId, userId });
  }

  async block(cidr: string, reason: string, actor: Principal): Promise<AccessBlockRow> {
    const entry = cidr.trim();
    if (!isCidr(entry))
      throw new VigilError('BAD_REQUEST', 'cidr: not an IPv4/IPv6 address or CIDR range', {
        details: { field: 'cidr' },
      });
    const row: AccessBlockRow = {
      id: newId(),
      cidr: entry,
      reason: reason.trim().slice(0, 500),
      created_by: actor.username,
      created_at: this.deps.clock.now().toISOString(),
    };
    await this.store.addBlock(row);
    this.blocklists.add(CONSOLE_BLOCKLIST, entry);
    await this.publish('access.block.added', actor, { cidr: entry, reason: row.reason });
    return row;
  }

  blocks(): Promise<AccessBlockRow[]> {
    return this.store.blocks();
  }

  private async publish(kind: string, actor: Principal, data: Record<string, unknown>): Promise<void> {
    await this.deps.bus.publish([
      makeEvent(
        {
          kind,
          source: 'access',
          severity: 'medium',
          user: { id: actor.id, name: actor.username, role: actor.role },
          data,
        },
        this.deps.clock.now(),
      ),
    ]);
  }
}
