/**
 * @module server/services
 * The composition root: opens the database, runs migrations, opens the key ring and the bus, and
 * builds each domain with its dependencies. The server, the CLI and the tests all start here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Access, accessMigrations, createAccess } from '../access/index.js';
import { ActivityLog, activityMigrations } from '../activity/index.js';
import {
  type Awareness,
  awarenessMigrations,
  Curriculum,
  createAwareness,
  PhishingLibrary,
} from '../awareness/index.js';
import { type Clock, systemClock } from '../core/index.js';
import { AlertStore, Detector, defaultRuleSources, detectMigrations } from '../detect/index.js';
import { createDevices, type Devices, devicesMigrations } from '../devices/index.js';
import { createIdentity, type Identity, identityMigrations } from '../identity/index.js';
import { type Bus, createBus, EchoBus, type Subscription } from '../platform/bus/index.js';
import type { VigilConfig } from '../platform/config/index.js';
import { type Database, type Migration, openDatabase, runMigrations } from '../platform/db/index.js';
import { FileKeyRing, type KeyRing } from '../platform/keys/index.js';
import type { Logger } from '../platform/log/index.js';
import { createVault, type Vault, vaultMigrations } from '../vault/index.js';

/** Every domain's migrations, foundation first. A new domain appends its list here. */
export const ALL_MIGRATIONS: readonly Migration[] = [
  ...identityMigrations,
  ...activityMigrations,
  ...accessMigrations,
  ...awarenessMigrations,
  ...vaultMigrations,
  ...devicesMigrations,
  ...detectMigrations,
];

export interface Services {
  config: Readonly<VigilConfig>;
  logger: Logger;
  clock: Clock;
  database: Database;
  bus: Bus;
  keys: KeyRing;
  identity: Identity;
  activity: ActivityLog;
  access: Access;
  awareness: Awareness;
  vault: Vault;
  devices: Devices;
  /** Detection: the rule pipeline (attach it to the bus) and its alerts. */
  detect: { detector: Detector; alerts: AlertStore };
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
  // Identity's events reach the gateway's session cache synchronously (disable = denied at once).
  const echo = new EchoBus(bus);
  const identity = createIdentity({ db: database.db, keys, bus: echo, clock, logger, auth: config.auth });
  // The shipped curriculum and phishing templates (content/ beside src/ and dist/).
  const content = (dir: string) => fileURLToPath(new URL(`../../content/${dir}`, import.meta.url));
  const awareness = createAwareness({
    db: database.db,
    bus,
    clock,
    keys,
    curriculum: await Curriculum.load(content('courses')),
    library: await PhishingLibrary.load(content('phishing')),
  });
  const access = await createAccess({
    db: database.db,
    bus: echo,
    echo,
    clock,
    logger,
    keys,
    identity,
    config: config.access,
    auth: config.auth,
    awareness: awareness.risk,
  });
  const activity = new ActivityLog(database.db, clock);
  const vault = createVault({
    db: database.db,
    keys,
    bus,
    clock,
    logger,
    checkpointEvery: config.vault.auditCheckpointEvery,
    care: { windowDays: config.vault.careWindowDays },
    breakGlassMinutes: config.vault.breakGlassMinutes,
  });
  const alerts = new AlertStore(database.db, clock);
  const detector = new Detector(defaultRuleSources(config.dataDir), { alerts, bus, clock, logger });
  const devices = createDevices({ db: database.db, clock });
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
    access,
    awareness,
    vault,
    detect: { detector, alerts },
    devices,
    async close() {
      await access.close();
      await theBus.close();
      await database.close();
    },
  };
}

/**
 * Attaches every domain's bus consumer: the event log, the device inventory and detection. The
 * server, `vigil worker` and the CLI's in-process runs use this one list; a domain with a consumer
 * adds it here. Close the returned subscriptions before the services.
 */
export async function attachConsumers(services: Services): Promise<Subscription[]> {
  return [
    await services.activity.attach(services.bus),
    await services.devices.attach(services.bus),
    await services.detect.detector.attach(services.bus),
  ];
}

/**
 * Periodic work of a running site: session and event-log pruning, due phishing campaigns, training
 * reminders and awareness risk. Each job's failure is logged and never stops the others.
 */
export function scheduleJobs(services: Services): () => void {
  const { logger, config } = services;
  const run = (name: string, job: () => Promise<unknown>) => () =>
    void job().catch((err: Error) => logger.warn({ job: name, err: err.message }, 'periodic job failed'));
  const timers = [
    setInterval(
      run('send-campaigns', () => services.awareness.sendDueCampaigns()),
      60_000,
    ),
    setInterval(
      run('training-reminders', () => services.awareness.sendDueReminders()),
      15 * 60_000,
    ),
    setInterval(
      run('housekeeping', () =>
        Promise.all([
          services.identity.sessions.prune(),
          services.activity.prune(config.events.retentionDays),
        ]),
      ),
      60 * 60_000,
    ),
    setInterval(
      run('awareness-risk', () => services.awareness.risk.recomputeAll()),
      6 * 60 * 60_000,
    ),
  ];
  for (const t of timers) t.unref();
  // The gateway reads the risk from the first request on: compute it now, in the background.
  run('awareness-risk', () => services.awareness.risk.recomputeAll())();
  return () => {
    for (const t of timers) clearInterval(t);
  };
}
