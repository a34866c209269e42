/**
 * @module server/services
 * The composition root: opens the database, runs migrations, opens the key ring and the bus, and
 * builds each domain with its dependencies. The server, the CLI and the tests all start here.
 */
import path from 'node:path';
import { ActivityLog, activityMigrations } from '../activity/index.js';
import { type Clock, systemClock } from '../core/index.js';
import { createIdentity, type Identity, identityMigrations } from '../identity/index.js';
import { type Bus, createBus } from '../platform/bus/index.js';
import type { VigilConfig } from '../platform/config/index.js';
import { type Database, type Migration, openDatabase, runMigrations } from '../platform/db/index.js';
import { FileKeyRing, type KeyRing } from '../platform/keys/index.js';
import type { Logger } from '../platform/log/index.js';

/** Every domain's migrations, foundation first. A new domain appends its list here. */
export const ALL_MIGRATIONS: readonly Migration[] = [...identityMigrations, ...activityMigrations];

export interface Services {
  config: Readonly<VigilConfig>;
  logger: Logger;
  clock: Clock;
  database: Database;
  bus: Bus;
  keys: KeyRing;
  identity: Identity;
  activity: ActivityLog;
  close(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  /** Use this bus instead of creating one from the configuration (tests). */
  bus?: Bus;
  /** Skip migrations (they are normally applied on every start). */
  migrate?: boolean;
}

export function sqliteFileOf(config: Readonly<VigilConfig>): string {
  return path.join(config.dataDir, 'vigil.sqlite');
}

export async function openDatabaseFor(config: Readonly<VigilConfig>): Promise<Database> {
  return openDatabase({
    url: config.database.url,
    sqliteFile: sqliteFileOf(config),
    poolSize: config.database.poolSize,
  });
}

export async function createServices(
  config: Readonly<VigilConfig>,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Services> {
  const clock = options.clock ?? systemClock;
  const keys = FileKeyRing.open(config.keys.dir ?? path.join(config.dataDir, 'keys'));
  const database = await openDatabaseFor(config);
  let bus: Bus | undefined;
  try {
    if (options.migrate !== false) {
      const result = await runMigrations(database, ALL_MIGRATIONS, (id) =>
        logger.info({ migration: id }, 'migration applied'),
      );
      if (result.applied.length) logger.info({ applied: result.applied.length }, 'database migrated');
    }
    bus = options.bus ?? (await createBus(config.bus, logger));
  } catch (err) {
    await database.close();
    throw err;
  }
  const identity = createIdentity({ db: database.db, keys, bus, clock, logger, auth: config.auth });
  const activity = new ActivityLog(database.db, clock);
  const theBus = bus;
  return {
    config,
    logger,
    clock,
    database,
    bus: theBus,
    keys,
    identity,
    activity,
    async close() {
      await theBus.close();
      await database.close();
    },
  };
}
