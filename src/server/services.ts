/**
 * @module server/services
 * The composition root: opens the database, runs migrations, opens the key ring and the bus, and
 * builds each domain with its dependencies. The server, the CLI and the tests all start here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Access, accessMigrations, createAccess } from '../access/index.js';
import { ActivityLog, activityMigrations } from '../activity/index.js';
import {
  type Awareness,
  awarenessMigrations,
  Curriculum,
  createAwareness,
  PERSON_TERMINATED,
  PhishingLibrary,
} from '../awareness/index.js';
import { type Clock, systemClock } from '../core/index.js';
import {
  AlertDispatcher,
  AlertStore,
  BaselineStore,
  Baselines,
  baselineMigrations,
  buildOutputs,
  CaseStore,
  correlationMigrations,
  Detector,
  DeviceEnricher,
  defaultRuleSources,
  detectMigrations,
  InventoryDirectory,
} from '../detect/index.js';
import { createDevices, type Devices, devicesMigrations, loadClassifier } from '../devices/index.js';
import { createIdentity, type Identity, identityMigrations } from '../identity/index.js';
import { type Bus, createBus, EchoBus, type Subscription } from '../platform/bus/index.js';
import type { VigilConfig } from '../platform/config/index.js';
import { type Database, type Migration, openDatabase, runMigrations } from '../platform/db/index.js';
import { FileKeyRing, type KeyRing } from '../platform/keys/index.js';
import type { Logger } from '../platform/log/index.js';
import { createVault, type Vault, vaultMigrations } from '../vault/index.js';

/** The package version (outputs name it: CEF header, OCSF metadata, webhook user agent). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Every domain's migrations, foundation first. A new domain appends its list here. */
export const ALL_MIGRATIONS: readonly Migration[] = [
  ...identityMigrations,
  ...activityMigrations,
  ...accessMigrations,
  ...awarenessMigrations,
  ...vaultMigrations,
  ...devicesMigrations,
  ...detectMigrations,
  ...baselineMigrations,
  ...correlationMigrations,
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
  /** Detection: the rule pipeline (attach it to the bus), its alerts and the device baselines. */
  detect: {
    detector: Detector;
    alerts: AlertStore;
    baselines: Baselines;
    /** Cases that group alerts. */
    cases: CaseStore;
    /** Sends new alerts to the configured webhooks, syslog receivers and mailboxes. */
    outputs: AlertDispatcher;
  };
  close(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  /** Use this bus instead of creating one from the configuration (tests). */
  bus?: Bus;
  /** Skip migrations (they are normally applied on every start). */
  migrate?: boolean;
  /** SQLite WAL checkpoints in a worker thread (long-running processes: the server, workers). */
  backgroundCheckpoints?: boolean;
}

export function sqliteFileOf(config: Readonly<VigilConfig>): string {
  return path.join(config.dataDir, 'vigil.sqlite');
}

export async function openDatabaseFor(
  config: Readonly<VigilConfig>,
  options: { backgroundCheckpoints?: boolean } = {},
): Promise<Database> {
  return openDatabase({
    url: config.database.url,
    sqliteFile: sqliteFileOf(config),
    poolSize: config.database.poolSize,
    backgroundCheckpoints: options.backgroundCheckpoints,
  });
}

export async function createServices(
  config: Readonly<VigilConfig>,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Services> {
  const clock = options.clock ?? systemClock;
  const keys = FileKeyRing.open(config.keys.dir ?? path.join(config.dataDir, 'keys'));
  // The device classification rules (shipped, and the user's file first): a bad file stops start-up.
  const classifier = loadClassifier({ userFile: config.devices.classificationFile });
  // Alert outputs read their secrets now, so a missing one stops start-up before anything opens.
  const alertOutputs = buildOutputs(config.alerts, {
    keys,
    product: { name: 'Vigil', vendor: 'Vigil', version: VERSION },
    logger,
  });
  const database = await openDatabaseFor(config, { backgroundCheckpoints: options.backgroundCheckpoints });
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
    sending: config.awareness.sending,
  });
  const access = await createAccess({
    db: database.db,
    ...(database.offThread ? { offThread: database.offThread } : {}),
    bus: echo,
    echo,
    clock,
    logger,
    keys,
    identity,
    config: config.access,
    auth: config.auth,
    awareness: awareness.risk,
    listsDir: config.access.lists.dir ?? path.join(config.dataDir, 'access-lists'),
  });
  // A person who left (directory API, CSV import or SCIM) loses their console account: disabling
  // it ends their sessions, and the gateway, told through the echo bus, denies them at once.
  const leavers = await bus.subscribe({
    group: 'identity-leavers',
    subjects: [`vigil.${PERSON_TERMINATED}`],
    handler: async (events) => {
      for (const e of events) {
        const userId = e.data?.consoleUserId;
        if (typeof userId !== 'string') continue;
        await identity.users
          .setStatus(userId, 'disabled')
          .catch((err: Error) =>
            logger.warn({ userId, err: err.message }, 'leaver: console user not disabled'),
          );
      }
    },
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
  // Analysts and admins may be assigned alerts and cases; the workflow checks who through this.
  const people = {
    find: async (id: string) => {
      const u = await identity.users.get(id);
      return u && u.id === id
        ? { id: u.id, username: u.username, role: u.role, status: u.status }
        : undefined;
    },
  };
  const alerts = new AlertStore(database.db, clock, {
    dedupWindowMs: config.alerts.dedupWindowMinutes * 60_000,
    evidence: { events: config.alerts.evidenceEvents, eventBytes: config.alerts.evidenceEventBytes },
    bus,
    people,
    logger,
  });
  const cases = new CaseStore(database.db, alerts, { clock, bus, people, logger });
  const outputs = new AlertDispatcher(alerts, alertOutputs, logger);
  const devices = createDevices({ db: database.db, clock, classifier });
  // Rules and baselines see the inventory's type and criticality of the addresses in events.
  const directory = new InventoryDirectory(devices.queries, clock);
  const detector = new Detector(defaultRuleSources(config.dataDir), {
    alerts,
    bus,
    clock,
    logger,
    enricher: new DeviceEnricher(directory),
    // Over NATS, workers share the detect group: correlation state is shared in the database.
    correlationDb: bus.kind === 'nats' ? database.db : undefined,
  });
  const baselines = new Baselines({
    store: new BaselineStore(database.db),
    alerts,
    bus,
    clock,
    directory,
    logger,
    options: config.baselines,
  });
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
    detect: { detector, alerts, baselines, cases, outputs },
    devices,
    async close() {
      await outputs.close();
      await leavers.close();
      await access.close();
      await awareness.close();
      await theBus.close();
      await database.close();
    },
  };
}

/**
 * Attaches every domain's bus consumer: the event log, the device inventory, detection and the
 * device baselines. The server, `vigil worker` and the CLI's in-process runs use this one list; a
 * domain with a consumer adds it here. Close the returned subscriptions before the services.
 */
export async function attachConsumers(services: Services): Promise<Subscription[]> {
  return [
    await services.activity.attach(services.bus),
    await services.devices.attach(services.bus),
    await services.detect.detector.attach(services.bus),
    await services.detect.baselines.attach(services.bus),
    await services.detect.outputs.attach(services.bus),
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
