/**
 * The baseline learner: consumes flows from the bus (group `baselines`, `net.flow` and
 * `zeek.conn`), updates each device's baseline (model.ts) and raises an alert for each anomaly
 * of a device past its learning window. Each anomaly is also published as a
 * `detect.baseline.<type>` event (a stable id, so republishing is harmless), which the rule pack
 * reads with the inventory's context (a life-sustaining device's new external destination).
 *
 * Per batch: load the batch's devices, apply the flows in time order, save with a version check
 * (a device changed meanwhile by another worker or a reset is reloaded and its flows applied
 * again), then record the alerts of what was saved (the alert store's unique rule+event key makes
 * a redelivered batch harmless) and publish. A crash between the save and the alerts loses those
 * alerts (the flows are already learned); the alternative order could raise alerts for state
 * that is never saved.
 */
import { createHash } from 'node:crypto';
import { type Clock, makeEvent, type VigilEvent } from '../../core/index.js';
import type { Bus, Subscription } from '../../platform/bus/index.js';
import type { Logger } from '../../platform/log/index.js';
import type { AlertStore, NewAlert } from '../alerts/store.js';
import type { DeviceDirectory } from './directory.js';
import { observationsOf } from './flows.js';
import {
  type Anomaly,
  type AnomalyType,
  type Baseline,
  type BaselineOptions,
  DEFAULT_BASELINE_OPTIONS,
  newBaseline,
  type Observation,
  observe,
} from './model.js';
import {
  type BaselineDetail,
  type BaselineQuery,
  type BaselineStore,
  type BaselineSummary,
  detailOf,
} from './store.js';

/** The alert each anomaly raises (ATT&CK Enterprise and ICS tags as in the rule pack). */
export const BASELINE_RULES: Readonly<
  Record<AnomalyType, { id: string; title: string; level: string; tags: readonly string[] }>
> = {
  'new-peer': {
    id: 'vigil-baseline-new-peer',
    title: 'Vigil - Device talks to a new peer',
    level: 'medium',
    tags: ['attack.lateral-movement', 'attack.command-and-control', 'attack.t1021', 'attack.t0886'],
  },
  'new-port': {
    id: 'vigil-baseline-new-port',
    title: 'Vigil - Device uses a new port',
    level: 'medium',
    tags: ['attack.command-and-control', 'attack.t1571', 'attack.t0885'],
  },
  'new-protocol': {
    id: 'vigil-baseline-new-protocol',
    title: 'Vigil - Device uses a new protocol',
    level: 'medium',
    tags: ['attack.command-and-control', 'attack.t1071', 'attack.t0869'],
  },
  'volume-high': {
    id: 'vigil-baseline-volume-high',
    title: 'Vigil - Device traffic volume above its baseline',
    level: 'medium',
    tags: ['attack.exfiltration', 'attack.impact', 'attack.t1048', 'attack.t1498', 'attack.t0814'],
  },
  'volume-low': {
    id: 'vigil-baseline-volume-low',
    title: 'Vigil - Device traffic volume below its baseline',
    level: 'low',
    tags: ['attack.impact', 'attack.t0826'],
  },
};

/** What the learner needs. */
export interface BaselineDeps {
  store: BaselineStore;
  alerts: Pick<AlertStore, 'record'>;
  bus: Bus;
  clock: Clock;
  /** Resolves device references for reset (inventory id, MAC, address). */
  directory?: DeviceDirectory;
  logger?: Logger;
  options?: Partial<BaselineOptions>;
}

/** Event ids remembered to skip redeliveries within a process. */
const MAX_SEEN = 100_000;
/** Attempts to save a device that others keep changing. */
const MAX_ATTEMPTS = 5;

function severityOf(level: string): VigilEvent['severity'] {
  return level === 'high' ? 'high' : level === 'low' ? 'low' : 'medium';
}

/** Device baselines: learning from flows, anomalies, listing and reset. */
export class Baselines {
  readonly options: Readonly<BaselineOptions>;
  private readonly seen = new Set<string>();

  constructor(private readonly deps: BaselineDeps) {
    this.options = { ...DEFAULT_BASELINE_OPTIONS, ...deps.options };
  }

  /** Learns from a batch of events and returns the anomalies found (also recorded and published). */
  async handle(events: readonly VigilEvent[]): Promise<Anomaly[]> {
    const byDevice = new Map<string, Observation[]>();
    for (const e of events) {
      if (this.seen.has(e.id)) continue;
      for (const ob of observationsOf(e)) {
        const list = byDevice.get(ob.device);
        if (list) list.push(ob);
        else byDevice.set(ob.device, [ob]);
      }
    }
    for (const list of byDevice.values()) list.sort((a, b) => a.time - b.time);
    const anomalies: Anomaly[] = [];
    let pending = [...byDevice.keys()];
    for (let attempt = 0; pending.length && attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.deps.store.load(pending);
      const changed: Baseline[] = [];
      const found = new Map<string, Anomaly[]>();
      for (const device of pending) {
        const obs = byDevice.get(device)!;
        const b = stored.get(device) ?? newBaseline(device, obs[0]!.time, this.options);
        const out: Anomaly[] = [];
        for (const ob of obs) observe(b, ob, this.options, out);
        changed.push(b);
        found.set(device, out);
      }
      const lost = await this.deps.store.save(changed, this.deps.clock.now());
      for (const [device, out] of found) if (!lost.has(device)) anomalies.push(...out);
      pending = [...lost];
    }
    // What was saved is raised even when some devices could not be (their flows come again).
    if (anomalies.length) await this.raise(anomalies);
    if (pending.length)
      throw new Error(`baselines of ${pending.length} devices kept changing; batch retried`);
    for (const e of events) this.seen.add(e.id);
    for (const id of this.seen) {
      if (this.seen.size <= MAX_SEEN) break;
      this.seen.delete(id);
    }
    return anomalies;
  }

  private async raise(anomalies: readonly Anomaly[]): Promise<void> {
    anomalies = [...anomalies].sort((a, b) => a.time.localeCompare(b.time));
    const events: VigilEvent[] = anomalies.map((a) => anomalyEvent(a));
    const alerts: NewAlert[] = anomalies.map((a, i) => {
      const rule = BASELINE_RULES[a.type];
      return {
        time: a.time,
        ruleId: rule.id,
        ruleTitle: rule.title,
        level: rule.level,
        eventIds: [a.eventId],
        dedupKey: `${rule.id}|${a.device}|${a.value}`,
        tags: rule.tags,
        evidence: [events[i]],
      };
    });
    const created = await this.deps.alerts.record(alerts);
    const now = this.deps.clock.now();
    for (const c of created)
      events.push(
        makeEvent(
          {
            kind: 'detect.alert',
            source: 'detect',
            severity: severityOf(c.level),
            data: {
              alertId: c.id,
              ruleId: c.ruleId,
              title: c.ruleTitle,
              level: c.level,
              eventIds: c.eventIds,
            },
          },
          now,
        ),
      );
    await this.deps.bus.publish(events);
    if (created.length) this.deps.logger?.info({ alerts: created.length }, 'baseline anomalies raised');
  }

  /** Subscribes to flows as the `baselines` group. */
  attach(bus: Bus = this.deps.bus): Promise<Subscription> {
    return bus.subscribe({
      group: 'baselines',
      subjects: ['vigil.net.flow', 'vigil.zeek.conn'],
      batchSize: 512,
      handler: async (events) => {
        await this.handle(events);
      },
    });
  }

  /** Baselines by device address. */
  list(q: BaselineQuery = {}): Promise<{ baselines: BaselineSummary[]; total: number }> {
    return this.deps.store.list(this.deps.clock.now(), q);
  }

  /** One device's baseline (by inventory id, MAC or address), undefined when it has none. */
  async get(ref: string): Promise<BaselineDetail | undefined> {
    const device = await this.addressOf(ref);
    const b = device ? await this.deps.store.get(device) : undefined;
    return b ? detailOf(b, this.deps.clock.now()) : undefined;
  }

  /**
   * Returns a device (inventory id, MAC or address) to learning from now; `by` is recorded in
   * the `detect.baseline.reset` event. NOT_FOUND when the device has no baseline.
   */
  async reset(ref: string, by?: { id?: string; name?: string; role?: string }): Promise<BaselineDetail> {
    const device = (await this.addressOf(ref)) ?? ref.trim();
    const now = this.deps.clock.now();
    const b = await this.deps.store.reset(device, now, this.options);
    await this.deps.bus.publish([
      makeEvent(
        {
          kind: 'detect.baseline.reset',
          source: 'detect',
          severity: 'low',
          ...(by ? { user: by } : {}),
          device: { ip: device },
          data: { learningUntil: b.learningUntil },
        },
        now,
      ),
    ]);
    return detailOf(b, now);
  }

  private async addressOf(ref: string): Promise<string | undefined> {
    const r = ref.trim();
    if (!r) return undefined;
    const found = this.deps.directory ? await this.deps.directory.resolve(r) : undefined;
    return found?.ip ?? r.toLowerCase();
  }
}

/** The event announcing an anomaly (its id is stable: the same anomaly is the same event). */
export function anomalyEvent(a: Anomaly): VigilEvent {
  const rule = BASELINE_RULES[a.type];
  const ob = a.observation;
  const id = `bl_${createHash('sha256').update(`${rule.id}\0${a.device}\0${a.eventId}\0${a.value}`).digest('hex').slice(0, 32)}`;
  return makeEvent({
    id,
    time: a.time,
    kind: `detect.baseline.${a.type}`,
    source: 'detect',
    severity: severityOf(rule.level),
    device: { ip: a.device },
    net: ob.net,
    data: {
      anomaly: a.type,
      value: a.value,
      direction: ob.direction,
      peer: ob.peer,
      peerExternal: ob.peerExternal,
      port: `${ob.transport}/${ob.port}`,
      protocol: ob.protocol,
      eventId: a.eventId,
      ...(a.volume ? { volume: a.volume } : {}),
    },
  });
}
