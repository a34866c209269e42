/**
 * What detection knows about the devices behind addresses: the inventory's id, type and
 * criticality, and whether the type is a medical device. A directory looks addresses up ahead of
 * a batch (`prepare`, async, cached) so that rules can read the answers synchronously (`known`).
 *
 * The {@link DeviceEnricher} adds them to sensor and Zeek events (and baseline anomalies) before
 * the rules run, as `srcDevice.*` and `dstDevice.*` for the two ends of `net`:
 *
 * | field | value |
 * |---|---|
 * | `srcDevice.id`, `dstDevice.id` | the inventory's device id (`dev_…`) |
 * | `srcDevice.type`, `dstDevice.type` | `ventilator`, `infusion-pump`, `patient-monitor`, `imaging-modality`, `pacs`, `dicom-workstation`, `hl7-interface-engine`, `lab-analyser`, `nurse-call`, `workstation`, `server`, `printer`, `network-gear`, `iot`, `unknown` |
 * | `srcDevice.criticality`, `dstDevice.criticality` | `life-sustaining`, `patient-care`, `clinical-support`, `business` |
 * | `srcDevice.medical`, `dstDevice.medical` | true for the medical types (ventilators, monitors, pumps, modalities, PACS, lab analysers) |
 *
 * An address the inventory does not hold gets no such field. Only internal addresses are looked
 * up (the inventory holds no public ones). Answers are kept for a minute (a device's type can
 * change as evidence arrives), absent ones for fifteen seconds, and at most `maxEntries` of them.
 */
import type { Clock, VigilEvent } from '../../core/index.js';
import { MEDICAL_TYPES } from '../../devices/index.js';
import type { EventEnricher } from '../pipeline/detector.js';
import type { SigmaEvent } from '../sigma/types.js';
import { canonicalAddress, isDeviceAddress } from './flows.js';

/** A device as detection sees it. */
export interface DeviceInfo {
  id: string;
  name: string | null;
  type: string;
  criticality: string;
  medical: boolean;
}

/** Looks devices up by address; see the module comment. */
export interface DeviceDirectory {
  /** Looks these addresses up (those not answered recently), so that `known` can answer. */
  prepare(ips: Iterable<string>): Promise<void>;
  /** The device at this address as last looked up (undefined: not in the inventory). */
  known(ip: string): DeviceInfo | undefined;
  /** The current address and device of a reference (inventory id, MAC or address). */
  resolve(ref: string): Promise<{ ip: string; device?: DeviceInfo } | undefined>;
}

/** What the directory needs from the inventory (the devices domain's queries). */
export interface InventoryLookup {
  find(
    ref: string,
  ): Promise<
    { id: string; ip: string | null; name: string | null; type: string; criticality: string } | undefined
  >;
}

/** Device views are shared by every event that names the address: frozen, never copied. */
function infoOf(row: { id: string; name: string | null; type: string; criticality: string }): DeviceInfo {
  return Object.freeze({
    id: row.id,
    name: row.name,
    type: row.type,
    criticality: row.criticality,
    medical: MEDICAL_TYPES.has(row.type),
  });
}

/** A fixed directory (tests, benchmarks, or a site without an inventory). */
export class StaticDirectory implements DeviceDirectory {
  private readonly byIp = new Map<string, DeviceInfo>();

  constructor(devices: Record<string, Partial<DeviceInfo> & { type: string }> = {}) {
    for (const [ip, d] of Object.entries(devices))
      this.byIp.set(
        ip,
        Object.freeze({
          id: d.id ?? `dev_${ip}`,
          name: d.name ?? null,
          type: d.type,
          criticality: d.criticality ?? 'business',
          medical: d.medical ?? MEDICAL_TYPES.has(d.type),
        }),
      );
  }

  async prepare(): Promise<void> {}

  known(ip: string): DeviceInfo | undefined {
    return this.byIp.get(ip);
  }

  async resolve(ref: string): Promise<{ ip: string; device?: DeviceInfo } | undefined> {
    const ip = canonicalAddress(ref);
    if (ip) {
      const device = this.byIp.get(ip);
      return device ? { ip, device } : { ip };
    }
    for (const [addr, d] of this.byIp) if (d.id === ref) return { ip: addr, device: d };
    return undefined;
  }
}

interface CacheEntry {
  info: DeviceInfo | undefined;
  until: number;
}

/** Options of the inventory directory. */
export interface InventoryDirectoryOptions {
  /** How long a found device is trusted, ms (default 60 s). */
  ttlMs?: number;
  /** How long "not in the inventory" is trusted, ms (default 15 s). */
  missTtlMs?: number;
  /** Addresses remembered (oldest forgotten first; default 50,000). */
  maxEntries?: number;
}

/** The device inventory as a directory, cached; see the module comment. */
export class InventoryDirectory implements DeviceDirectory {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttl: number;
  private readonly missTtl: number;
  private readonly max: number;

  constructor(
    private readonly inventory: InventoryLookup,
    private readonly clock: Clock,
    opts: InventoryDirectoryOptions = {},
  ) {
    this.ttl = opts.ttlMs ?? 60_000;
    this.missTtl = opts.missTtlMs ?? 15_000;
    this.max = opts.maxEntries ?? 50_000;
  }

  async prepare(ips: Iterable<string>): Promise<void> {
    const now = this.clock.now().getTime();
    const wanted: string[] = [];
    for (const raw of ips) {
      const ip = canonicalAddress(raw);
      if (!ip || !isDeviceAddress(ip) || wanted.includes(ip)) continue;
      const hit = this.cache.get(ip);
      if (!hit || hit.until <= now) wanted.push(ip);
    }
    // A few lookups at a time: enough to hide PostgreSQL round trips, never a flood.
    for (let i = 0; i < wanted.length; i += 16) {
      const part = wanted.slice(i, i + 16);
      const rows = await Promise.all(part.map((ip) => this.inventory.find(ip)));
      part.forEach((ip, j) => {
        const row = rows[j];
        // `find` also matches ids and MACs: only a device that holds this address counts.
        const info = row && row.ip === ip ? infoOf(row) : undefined;
        this.cache.delete(ip);
        this.cache.set(ip, { info, until: now + (info ? this.ttl : this.missTtl) });
      });
    }
    while (this.cache.size > this.max) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
  }

  known(ip: string): DeviceInfo | undefined {
    return this.cache.get(ip)?.info;
  }

  async resolve(ref: string): Promise<{ ip: string; device?: DeviceInfo } | undefined> {
    const row = await this.inventory.find(ref);
    if (row?.ip) return { ip: row.ip, device: infoOf(row) };
    const ip = canonicalAddress(ref);
    return ip ? { ip } : undefined;
  }
}

/** Event kinds whose addresses are devices' (the sensor's, Zeek's, baseline anomalies). */
function enrichable(kind: string): boolean {
  return kind.startsWith('net.') || kind.startsWith('zeek.') || kind.startsWith('detect.baseline.');
}

const addressesOf = (e: { net?: { srcIp?: unknown; dstIp?: unknown } }): unknown[] => [
  e.net?.srcIp,
  e.net?.dstIp,
];

/** Adds `srcDevice` / `dstDevice` to events from a directory; see the module comment. */
export class DeviceEnricher implements EventEnricher {
  constructor(readonly directory: DeviceDirectory) {}

  async prepare(events: readonly VigilEvent[]): Promise<void> {
    const ips = new Set<string>();
    for (const e of events)
      if (enrichable(e.kind))
        for (const a of addressesOf(e)) {
          const ip = canonicalAddress(a);
          if (ip) ips.add(ip);
        }
    if (ips.size) await this.directory.prepare(ips);
  }

  enrich(event: SigmaEvent, into: SigmaEvent = event): void {
    const kind = event.kind;
    if (typeof kind !== 'string' || !enrichable(kind)) return;
    const net = event.net as { srcIp?: unknown; dstIp?: unknown } | undefined;
    if (!net || typeof net !== 'object') return;
    // The sensor and Zeek write canonical addresses: no parsing on the hot path.
    const s = typeof net.srcIp === 'string' ? this.directory.known(net.srcIp) : undefined;
    const d = typeof net.dstIp === 'string' ? this.directory.known(net.dstIp) : undefined;
    if (s) into.srcDevice = s;
    if (d) into.dstDevice = d;
  }
}
