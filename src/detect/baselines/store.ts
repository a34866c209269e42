/**
 * The `detect_baselines` table and its store: one row per device address, the learned state as
 * one JSON document (bounded: see model.ts), counts for listing, and a version for optimistic
 * concurrency, so `vigil worker` processes sharing the flows (and a reset from the API or the
 * CLI) never overwrite each other's changes: a save whose version moved is retried on the fresh
 * row.
 */
import type { Kysely } from 'kysely';
import { VigilError } from '../../core/index.js';
import type { AnyDb, Migration } from '../../platform/db/index.js';
import {
  type Baseline,
  type BaselineOptions,
  type BaselineState,
  isLearning,
  resetBaseline,
} from './model.js';

type BaselineRow = {
  device: string;
  learning_since: string;
  learning_until: string;
  first_seen: string;
  last_seen: string;
  state: string;
  peers: number;
  ports: number;
  protocols: number;
  anomalies: number;
  resets: number;
  version: number;
  updated_at: string;
};
type BaselineTables = { detect_baselines: BaselineRow };

/** Migrations of the device baselines (appended to the detection domain's). */
export const baselineMigrations: Migration[] = [
  {
    id: 'detect-0101-baselines',
    async up(db) {
      await db.schema
        .createTable('detect_baselines')
        .addColumn('device', 'text', (c) => c.primaryKey())
        .addColumn('learning_since', 'text', (c) => c.notNull())
        .addColumn('learning_until', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('peers', 'integer', (c) => c.notNull())
        .addColumn('ports', 'integer', (c) => c.notNull())
        .addColumn('protocols', 'integer', (c) => c.notNull())
        .addColumn('anomalies', 'integer', (c) => c.notNull())
        .addColumn('resets', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('detect_baselines_until')
        .on('detect_baselines')
        .column('learning_until')
        .execute();
    },
  },
];

/** A baseline as listed: the counts and state, without the learned values. */
export interface BaselineSummary {
  device: string;
  /** learning until `learningUntil`, then active. */
  status: 'learning' | 'active';
  learningSince: string;
  learningUntil: string;
  firstSeen: string;
  lastSeen: string;
  peers: number;
  ports: number;
  protocols: number;
  saturated: BaselineState['saturated'];
  anomalies: number;
  resets: number;
}

/** One baseline with what it learned. */
export interface BaselineDetail extends BaselineSummary {
  knownPeers: string[];
  knownPorts: string[];
  knownProtocols: string[];
  /** Hours of the week with volume history, and how many values each holds. */
  volumeHours: number;
}

export interface BaselineQuery {
  status?: 'learning' | 'active';
  limit?: number;
  offset?: number;
}

const n = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));

function fromRow(r: BaselineRow): Baseline {
  return {
    device: r.device,
    learningSince: r.learning_since,
    learningUntil: r.learning_until,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    state: JSON.parse(r.state) as BaselineState,
    anomalies: n(r.anomalies),
    resets: n(r.resets),
    version: n(r.version),
  };
}

function toRow(b: Baseline, version: number, now: string): BaselineRow {
  return {
    device: b.device,
    learning_since: b.learningSince,
    learning_until: b.learningUntil,
    first_seen: b.firstSeen,
    last_seen: b.lastSeen,
    state: JSON.stringify(b.state),
    peers: b.state.peers.length,
    ports: b.state.ports.length,
    protocols: b.state.protocols.length,
    anomalies: b.anomalies,
    resets: b.resets,
    version,
    updated_at: now,
  };
}

/** The summary of a baseline, its status judged at `now`. */
export function summaryOf(b: Baseline, now: Date): BaselineSummary {
  return {
    device: b.device,
    status: isLearning(b, now.getTime()) ? 'learning' : 'active',
    learningSince: b.learningSince,
    learningUntil: b.learningUntil,
    firstSeen: b.firstSeen,
    lastSeen: b.lastSeen,
    peers: b.state.peers.length,
    ports: b.state.ports.length,
    protocols: b.state.protocols.length,
    saturated: b.state.saturated,
    anomalies: b.anomalies,
    resets: b.resets,
  };
}

/** The detail of a baseline, its status judged at `now`. */
export function detailOf(b: Baseline, now: Date): BaselineDetail {
  return {
    ...summaryOf(b, now),
    knownPeers: [...b.state.peers],
    knownPorts: [...b.state.ports],
    knownProtocols: [...b.state.protocols],
    volumeHours: b.state.volume.filter((v) => v.length > 0).length,
  };
}

/** Rows per `IN (…)` query. */
const CHUNK = 500;

/** Reads and writes baselines. */
export class BaselineStore {
  readonly #db: Kysely<BaselineTables>;

  constructor(db: AnyDb) {
    this.#db = db.withTables<BaselineTables>();
  }

  /** The stored baselines of these devices. */
  async load(devices: readonly string[]): Promise<Map<string, Baseline>> {
    const out = new Map<string, Baseline>();
    for (let i = 0; i < devices.length; i += CHUNK) {
      const rows = await this.#db
        .selectFrom('detect_baselines')
        .selectAll()
        .where('device', 'in', devices.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.device, fromRow(r));
    }
    return out;
  }

  async get(device: string): Promise<Baseline | undefined> {
    return (await this.load([device])).get(device);
  }

  /**
   * Saves baselines in one transaction, each only if its stored version is still the one it was
   * loaded at (`version`, 0 for a new one). Returns the devices whose save lost that race (to be
   * retried on a fresh load); the others' versions are incremented in place.
   */
  async save(baselines: readonly Baseline[], now: Date): Promise<Set<string>> {
    const iso = now.toISOString();
    const lost = new Set<string>();
    if (!baselines.length) return lost;
    await this.#db.transaction().execute(async (trx) => {
      for (const b of baselines) {
        const row = toRow(b, b.version + 1, iso);
        if (b.version === 0) {
          const r = await trx
            .insertInto('detect_baselines')
            .values(row)
            .onConflict((oc) => oc.column('device').doNothing())
            .executeTakeFirst();
          if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 0) lost.add(b.device);
        } else {
          const { device: _d, ...set } = row;
          const r = await trx
            .updateTable('detect_baselines')
            .set(set)
            .where('device', '=', b.device)
            .where('version', '=', b.version)
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) === 0) lost.add(b.device);
        }
      }
    });
    for (const b of baselines) if (!lost.has(b.device)) b.version += 1;
    return lost;
  }

  /** Baselines by device address, with a status judged at `now`. */
  async list(now: Date, q: BaselineQuery = {}): Promise<{ baselines: BaselineSummary[]; total: number }> {
    let base = this.#db.selectFrom('detect_baselines');
    const iso = now.toISOString();
    if (q.status === 'learning') base = base.where('learning_until', '>', iso);
    if (q.status === 'active') base = base.where('learning_until', '<=', iso);
    const [rows, total] = await Promise.all([
      base
        .selectAll()
        .orderBy('device')
        .limit(Math.min(Math.max(q.limit ?? 100, 1), 1000))
        .offset(Math.max(q.offset ?? 0, 0))
        .execute(),
      base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
    ]);
    return { baselines: rows.map((r) => summaryOf(fromRow(r), now)), total: n(total?.n) };
  }

  /**
   * Returns a device's baseline to learning from `now`: what it learned is forgotten and no
   * anomaly is raised until the window has passed again. NOT_FOUND when it has no baseline.
   */
  async reset(device: string, now: Date, options: BaselineOptions): Promise<Baseline> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(device);
      if (!current) throw new VigilError('NOT_FOUND', `No baseline for ${device}.`);
      const fresh = resetBaseline(current, now.getTime(), options);
      const lost = await this.save([fresh], now);
      if (!lost.has(device)) return fresh;
    }
    throw new VigilError('CONFLICT', `The baseline of ${device} kept changing; try again.`);
  }
}
