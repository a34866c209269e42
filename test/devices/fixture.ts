/**
 * Helpers of the devices tests: an inventory on a test database with a memory bus, every text
 * column of the domain's tables (to prove no patient data lands there), and the shared data's paths.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { ManualClock, type VigilEvent } from '../../src/core/index.js';
import { createDevices, type Devices, devicesMigrations, OuiRegistry } from '../../src/devices/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import type { TestDatabase } from '../support/databases.js';

export const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const PCAP_DIR = `${DATA}pcap/`;
export const ZEEK_DIR = `${DATA}zeek/`;
export const hasPcaps = existsSync(PCAP_DIR);
export const hasZeek = existsSync(ZEEK_DIR);

/** Debian's ieee-data when installed, else an empty registry (vendor tests then say so). */
export const IEEE_DIR = '/usr/share/ieee-data';
export const hasIeee = existsSync(`${IEEE_DIR}/oui.csv`);

export interface Inventory {
  db: Database;
  devices: Devices;
  bus: MemoryBus;
  clock: ManualClock;
  /** Findings published on the bus. */
  published: VigilEvent[];
  /** Publishes events and waits until the inventory has applied them. */
  feed(events: readonly VigilEvent[]): Promise<void>;
  close(): Promise<void>;
}

let registry: Promise<OuiRegistry> | undefined;

/** An inventory attached to a memory bus, on the given engine. */
export async function openInventory(engine: TestDatabase): Promise<Inventory> {
  const db = await engine.open();
  await runMigrations(db, devicesMigrations);
  const clock = new ManualClock('2026-06-02T12:00:00.000Z');
  registry ??= hasIeee ? OuiRegistry.load(IEEE_DIR) : Promise.resolve(OuiRegistry.empty());
  const devices = createDevices({ db: db.db, clock, oui: await registry });
  const bus = new MemoryBus({ capacity: 100_000, logger: silentLogger() });
  const sub = await devices.attach(bus);
  const published: VigilEvent[] = [];
  const watch = await bus.subscribe({
    group: 'watch',
    subjects: ['vigil.devices.>'],
    handler: async (events) => {
      published.push(...events);
    },
  });
  const drain = async () => {
    while (bus.stats().queued > 0) await new Promise((r) => setTimeout(r, 5));
  };
  return {
    db,
    devices,
    bus,
    clock,
    published,
    async feed(events) {
      for (let i = 0; i < events.length; i += 1000) await bus.publish(events.slice(i, i + 1000));
      await drain();
    },
    async close() {
      await drain();
      await sub.close();
      await watch.close();
      await bus.close();
      await db.close();
    },
  };
}

/** Every text value in every devices_ table, for "no patient data here" checks. */
export async function allText(db: Database): Promise<string> {
  const tables = [
    'devices',
    'devices_attributes',
    'devices_edges',
    'devices_findings',
    'devices_seen_events',
  ];
  const parts: string[] = [];
  for (const t of tables) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(db.db);
    for (const r of rows.rows) for (const v of Object.values(r)) if (typeof v === 'string') parts.push(v);
  }
  return parts.join('\n');
}

/** Row counts of the domain's tables. */
export async function counts(db: Database): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['devices', 'devices_attributes', 'devices_edges', 'devices_findings']) {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(db.db);
    out[t] = Number(r.rows[0]?.n ?? 0);
  }
  return out;
}
