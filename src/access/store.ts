/**
 * @module access/store
 * The gateway's rows: recent decisions (written in batches), gateway sessions, known devices,
 * learned hours and analysts' blocks. Only sign-in, step-up and cache refills read or write here;
 * an established session's check never does.
 */
import { hash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type AnyDb, type OffThreadWriter, rowInserter, writeInTransaction } from '../platform/db/index.js';
import type { KnownPlaces } from './geo.js';
import { emptyHistogram, type HourHistogram, parseHistogram } from './hours.js';
import type {
  AccessBlockRow,
  AccessDecisionRow,
  AccessLoginRow,
  AccessPlaceRow,
  AccessReasonSetRow,
  AccessSessionRow,
  AccessTables,
} from './tables.js';
import type { Decision, SignalResult } from './types.js';

/** A decision as the console lists it. */
export interface DecisionView extends Omit<Decision, 'user' | 'reasons'> {
  userId: string | null;
  username: string | null;
  reasons: SignalResult[];
}

/** Places loaded per user (a user rarely has more; the oldest fall out). */
const MAX_PLACES = 500;

export class AccessStore {
  private readonly db: Kysely<AccessTables>;

  /**
   * `offThread`: where the database offers it (a server on SQLite), decisions are written by its
   * writer thread, so their inserts and commit do not hold up the checks meanwhile.
   */
  constructor(
    db: AnyDb,
    private readonly offThread?: OffThreadWriter,
  ) {
    this.db = db.withTables<AccessTables>();
  }

  /**
   * Writes decisions in one transaction: each distinct reason list once (by its hash, its
   * `seen_at` moved to now), then the decision rows that point to it.
   */
  async insertDecisions(decisions: readonly Decision[]): Promise<void> {
    if (!decisions.length) return;
    const sets = new Map<string, AccessReasonSetRow>();
    const rows: AccessDecisionRow[] = [];
    for (const d of decisions) {
      const { reasons, hash } = reasonSetOf(d.reasons);
      if (!sets.has(hash)) sets.set(hash, { hash, reasons, seen_at: d.time });
      rows.push({
        id: d.id,
        time: d.time,
        user_id: d.user?.id ?? null,
        username: d.user?.name ?? null,
        app: d.app,
        decision: d.decision,
        risk: d.risk,
        reasons: '',
        reasons_hash: hash,
        source_ip: d.sourceIp,
        host: d.host,
        path: d.path?.slice(0, 512) ?? null,
        method: d.method,
      });
    }
    const statements = [this.#insertSets.statement(this.db, [...sets.values()])];
    for (let i = 0; i < rows.length; i += 1000)
      statements.push(this.#insertDecisions.statement(this.db, rows.slice(i, i + 1000)));
    await (this.offThread ? this.offThread.write(statements) : writeInTransaction(this.db, statements));
  }

  readonly #insertSets = rowInserter(
    (db: Kysely<AccessTables>, row: AccessReasonSetRow) =>
      db
        .insertInto('access_reason_sets')
        .values(row)
        .onConflict((oc) => oc.column('hash').doUpdateSet({ seen_at: (eb) => eb.ref('excluded.seen_at') })),
    ['hash', 'reasons', 'seen_at'],
  );

  readonly #insertDecisions = rowInserter(
    (db: Kysely<AccessTables>, row: AccessDecisionRow) => db.insertInto('access_decisions').values(row),
    [
      'id',
      'time',
      'user_id',
      'username',
      'app',
      'decision',
      'risk',
      'reasons',
      'reasons_hash',
      'source_ip',
      'host',
      'path',
      'method',
    ],
  );

  /** Most recent first; optionally one user's or one decision kind's. */
  async recentDecisions(opts: {
    limit: number;
    userId?: string | undefined;
    decision?: string | undefined;
  }): Promise<DecisionView[]> {
    let q = this.db
      .selectFrom('access_decisions as d')
      .leftJoin('access_reason_sets as rs', 'rs.hash', 'd.reasons_hash')
      .selectAll('d')
      .select('rs.reasons as set_reasons')
      .orderBy('d.time', 'desc')
      .orderBy('d.id', 'desc')
      .limit(opts.limit);
    if (opts.userId) q = q.where('d.user_id', '=', opts.userId);
    if (opts.decision) q = q.where('d.decision', '=', opts.decision);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      time: r.time,
      decision: r.decision as Decision['decision'],
      risk: Number(r.risk),
      app: r.app,
      userId: r.user_id,
      username: r.username,
      sourceIp: r.source_ip,
      host: r.host,
      path: r.path,
      method: r.method,
      reasons: parseReasons(r.reasons || r.set_reasons || '[]'),
    }));
  }

  /** Deletes decisions older than `before` (ISO time), then the reason sets no decision uses any more. */
  async pruneDecisions(before: string): Promise<number> {
    const res = await this.db.deleteFrom('access_decisions').where('time', '<', before).executeTakeFirst();
    await this.db
      .deleteFrom('access_reason_sets')
      .where('seen_at', '<', before)
      .where((eb) =>
        eb(
          'hash',
          'not in',
          eb.selectFrom('access_decisions').select('reasons_hash').where('reasons_hash', 'is not', null),
        ),
      )
      .execute();
    return Number(res.numDeletedRows);
  }

  async insertSession(row: AccessSessionRow): Promise<void> {
    await this.db.insertInto('access_sessions').values(row).execute();
  }

  async session(id: string): Promise<AccessSessionRow | undefined> {
    return this.db.selectFrom('access_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.deleteFrom('access_sessions').where('id', '=', id).execute();
  }

  /** Marks a gateway session revoked; returns its user, or null when there is no such session. */
  async revokeSession(id: string, at: string): Promise<string | null> {
    const row = await this.session(id);
    if (!row) return null;
    await this.db.updateTable('access_sessions').set({ revoked_at: at }).where('id', '=', id).execute();
    return row.user_id;
  }

  async sessions(opts: { limit: number; userId?: string | undefined }): Promise<AccessSessionRow[]> {
    let q = this.db
      .selectFrom('access_sessions')
      .selectAll()
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .limit(opts.limit);
    if (opts.userId) q = q.where('user_id', '=', opts.userId);
    return q.execute();
  }

  async pruneSessions(createdBefore: string): Promise<void> {
    await this.db.deleteFrom('access_sessions').where('created_at', '<', createdBefore).execute();
  }

  async knownDevices(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('access_devices')
      .select('device_id')
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.device_id);
  }

  async rememberDevice(userId: string, deviceId: string, at: string): Promise<void> {
    const res = await this.db
      .updateTable('access_devices')
      .set({ last_seen_at: at })
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) > 0) return;
    await this.db
      .insertInto('access_devices')
      .values({ user_id: userId, device_id: deviceId, first_seen_at: at, last_seen_at: at })
      .onConflict((oc) => oc.columns(['user_id', 'device_id']).doUpdateSet({ last_seen_at: at }))
      .execute();
  }

  async hours(userId: string): Promise<HourHistogram> {
    const row = await this.db
      .selectFrom('access_profiles')
      .select('hours')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row ? parseHistogram(row.hours) : emptyHistogram();
  }

  async saveHours(userId: string, hours: HourHistogram, at: string): Promise<void> {
    const text = JSON.stringify(hours);
    await this.db
      .insertInto('access_profiles')
      .values({ user_id: userId, hours: text, updated_at: at })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ hours: text, updated_at: at }))
      .execute();
  }

  /** The countries, ASNs and networks the user signed in from with MFA (most recent first, bounded). */
  async knownPlaces(userId: string): Promise<KnownPlaces> {
    const rows = await this.db
      .selectFrom('access_places')
      .select(['kind', 'value'])
      .where('user_id', '=', userId)
      .orderBy('last_seen_at', 'desc')
      .limit(MAX_PLACES)
      .execute();
    const places = { countries: new Set<string>(), asns: new Set<number>(), networks: new Set<string>() };
    for (const r of rows) {
      if (r.kind === 'country') places.countries.add(r.value);
      else if (r.kind === 'asn') places.asns.add(Number(r.value));
      else if (r.kind === 'network') places.networks.add(r.value);
    }
    return places;
  }

  async rememberPlace(
    userId: string,
    kind: AccessPlaceRow['kind'],
    value: string,
    at: string,
  ): Promise<void> {
    await this.db
      .insertInto('access_places')
      .values({ user_id: userId, kind, value, first_seen_at: at, last_seen_at: at })
      .onConflict((oc) => oc.columns(['user_id', 'kind', 'value']).doUpdateSet({ last_seen_at: at }))
      .execute();
  }

  /** Records a sign-in once (the first time the gateway sees its session). */
  async recordLogin(row: AccessLoginRow): Promise<void> {
    await this.db
      .insertInto('access_logins')
      .values(row)
      .onConflict((oc) => oc.column('session_id').doNothing())
      .execute();
  }

  /** The user's sign-in just before `at` (another session), if any. */
  async previousLogin(
    userId: string,
    at: string,
    exceptSessionId: string,
  ): Promise<{ ip: string; at: string } | undefined> {
    return this.db
      .selectFrom('access_logins')
      .select(['ip', 'at'])
      .where('user_id', '=', userId)
      .where('at', '<=', at)
      .where('session_id', '!=', exceptSessionId)
      .orderBy('at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  async pruneLogins(before: string): Promise<void> {
    await this.db.deleteFrom('access_logins').where('at', '<', before).execute();
  }

  async addBlock(row: AccessBlockRow): Promise<void> {
    await this.db.insertInto('access_blocks').values(row).execute();
  }

  async blocks(): Promise<AccessBlockRow[]> {
    return this.db.selectFrom('access_blocks').selectAll().orderBy('created_at', 'desc').execute();
  }
}

/** A reason list's JSON and key (132 bits of its SHA-256, base64url), once per list object. */
const reasonSets = new WeakMap<readonly SignalResult[], { reasons: string; hash: string }>();
function reasonSetOf(list: readonly SignalResult[]): { reasons: string; hash: string } {
  let set = reasonSets.get(list);
  if (set === undefined) {
    const reasons = JSON.stringify(list);
    set = { reasons, hash: hash('sha256', reasons, 'base64url').slice(0, 22) };
    reasonSets.set(list, set);
  }
  return set;
}

function parseReasons(text: string): SignalResult[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? (v as SignalResult[]) : [];
  } catch {
    return [];
  }
}
