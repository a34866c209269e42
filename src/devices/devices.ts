/**
 * @module devices/devices
 * The inventory as one object: the bus consumer that fills it (group `devices`, subjects
 * `vigil.net.>` and `vigil.zeek.>`), publishing `devices.finding.*` events after each committed
 * batch, and the queries the API and CLI read. The OUI registry is loaded on first use, so
 * commands that never see a MAC never pay for it.
 */
import type { Clock } from '../core/index.js';
import type { Bus, Subscription } from '../platform/bus/index.js';
import type { AnyDb } from '../platform/db/index.js';
import { shippedClassifier } from './classification-file.js';
import type { Classifier } from './classify.js';
import { DeviceEdits } from './edits.js';
import { DeviceIngest } from './ingest.js';
import { DEFAULT_IEEE_DATA_DIR, OuiRegistry } from './oui.js';
import { DeviceQueries } from './queries.js';
import type { DeviceTables } from './tables.js';

/** What the devices domain needs. */
export interface DevicesDeps {
  db: AnyDb;
  clock: Clock;
  /** Where Debian's ieee-data lives (default `/usr/share/ieee-data`), or a registry to use. */
  oui?: string | OuiRegistry;
  /** How long applied event ids are remembered for redelivery (default 7 days). */
  seenRetentionDays?: number;
  /** The classification rules (default: the shipped ones; see loadClassifier for a user file). */
  classifier?: Classifier;
}

const PRUNE_EVERY_MS = 3_600_000;

/** The device inventory and communication map. */
export class Devices {
  readonly ingest: DeviceIngest;
  readonly queries: DeviceQueries;
  /** Hand edits (type, criticality, owner, location, notes) and the CMMS CSV import and export. */
  readonly edits: DeviceEdits;
  #oui: Promise<OuiRegistry> | undefined;
  #lastPrune = 0;

  constructor(private readonly deps: DevicesDeps) {
    const oui = deps.oui;
    const classifier = deps.classifier ?? shippedClassifier();
    this.ingest = new DeviceIngest({
      db: deps.db,
      clock: deps.clock,
      classifier,
      oui: () => {
        this.#oui ??=
          typeof oui === 'object' ? Promise.resolve(oui) : OuiRegistry.load(oui ?? DEFAULT_IEEE_DATA_DIR);
        return this.#oui;
      },
    });
    this.queries = new DeviceQueries(deps.db.withTables<DeviceTables>());
    this.edits = new DeviceEdits(deps.db.withTables<DeviceTables>(), deps.clock, classifier);
  }

  /** Subscribes the inventory to the sensor's and Zeek's events as the `devices` group. */
  attach(bus: Bus): Promise<Subscription> {
    return bus.subscribe({
      group: 'devices',
      subjects: ['vigil.net.>', 'vigil.zeek.>'],
      batchSize: 512,
      handler: async (events) => {
        const findings = await this.ingest.apply(events);
        if (findings.length) await bus.publish(findings);
        await this.pruneNow();
      },
    });
  }

  /** Forgets applied event ids older than the retention (at most hourly); returns rows removed. */
  async pruneNow(force = false): Promise<number> {
    const now = this.deps.clock.now().getTime();
    if (!force && now - this.#lastPrune < PRUNE_EVERY_MS) return 0;
    this.#lastPrune = now;
    const cutoff = new Date(now - (this.deps.seenRetentionDays ?? 7) * 86_400_000).toISOString();
    const res = await this.deps.db
      .withTables<DeviceTables>()
      .deleteFrom('devices_seen_events')
      .where('seen_at', '<', cutoff)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

/** Builds the devices domain. */
export function createDevices(deps: DevicesDeps): Devices {
  return new Devices(deps);
}
