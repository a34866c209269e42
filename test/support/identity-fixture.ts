/**
 * A ready identity domain on a given database: migrated, with a key ring in a temp directory, a
 * memory bus whose events the test can read, and a clock the test moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManualClock, type VigilEvent } from '../../src/core/index.js';
import { createIdentity, type Identity, identityMigrations } from '../../src/identity/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { configSchema, type VigilConfig } from '../../src/platform/config/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import { FileKeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';

export interface IdentityFixture {
  identity: Identity;
  clock: ManualClock;
  events: VigilEvent[];
  bus: MemoryBus;
  /** Waits until the bus has delivered what was published. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function identityFixture(
  database: Database,
  auth: Partial<VigilConfig['auth']> = {},
): Promise<IdentityFixture> {
  await runMigrations(database, identityMigrations);
  const keyDir = mkdtempSync(path.join(tmpdir(), 'vigil-keys-'));
  const keys = FileKeyRing.open(path.join(keyDir, 'keys'));
  const logger = silentLogger();
  const bus = new MemoryBus({ logger });
  const events: VigilEvent[] = [];
  const sub = await bus.subscribe({
    group: 'test',
    subjects: ['vigil.>'],
    handler: async (batch) => {
      events.push(...batch);
    },
  });
  const clock = new ManualClock('2026-06-01T08:00:00.000Z');
  const defaults = configSchema.parse({}).auth;
  const identity = createIdentity({
    db: database.db,
    keys,
    bus,
    clock,
    logger,
    auth: { ...defaults, ...auth },
  });
  return {
    identity,
    clock,
    events,
    bus,
    async settle() {
      for (let i = 0; i < 200 && bus.stats().queued > 0; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 5));
    },
    async close() {
      await sub.close();
      await bus.close();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
