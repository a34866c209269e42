/**
 * @module devices/ingest
 * Applies a batch of `net.*` and `zeek.*` events to the inventory in one transaction: skips
 * events already applied (the bus delivers at least once), extracts facts, resolves endpoints to
 * devices, upserts devices, attributes and hourly edges with aggregated multi-row statements,
 * reclassifies the devices the batch touched, and records findings. Returns the events of the
 * findings raised for the first time, for the caller to publish after the commit.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Clock, VigilEvent } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import { type AttributeView, type Classifier, MEDICAL_TYPES } from './classify.js';
import { extractSensor } from './extract-sensor.js';
import { extractZeek } from './extract-zeek.js';
import { emptyFacts, type Facts } from './facts.js';
import { draftFinding, type FindingDraft, findingEvent } from './findings.js';
import { derive } from './manual.js';
import type { OuiRegistry } from './oui.js';
import { BatchResolver, chunks, type Resolved } from './resolve.js';
import { summarise } from './summary.js';
import type { AttributeRow, DeviceRow, DeviceTables, EdgeRow } from './tables.js';
import { deviceIdOf, hourOf, isPublicIp, maxTime, minTime } from './values.js';

type Tx = Transaction<DeviceTables>;

/** What the ingest needs. */
export interface IngestDeps {
  db: AnyDb;
  clock: Clock;
  /** The MAC vendor registry, loaded on first use. */
  oui: () => Promise<OuiRegistry>;
  /** The classification rules (shipped, and the user file's first). */
  classifier: Classifier;
}

interface DeviceDraft {
  id: string;
  key: string;
  mac: string | null;
  ip: string | null;
  ipTime: string;
  first: string;
  last: string;
}

const GATEWAY_EVIDENCE = 'link-layer source of many IP addresses';

/** Turns event batches into inventory state. */
export class DeviceIngest {
  readonly #db: Kysely<DeviceTables>;
  constructor(private readonly deps: IngestDeps) {
    this.#db = deps.db.withTables<DeviceTables>();
  }

  /** Applies a batch; returns the finding events to publish (first sightings only). */
  async apply(events: readonly VigilEvent[]): Promise<VigilEvent[]> {
    const relevant = events.filter((e) => e.kind.startsWith('net.') || e.kind.startsWith('zeek.'));
    if (!relevant.length) return [];
    const oui = await this.deps.oui();
    const findings = await this.#db.transaction().execute(async (trx) => {
      const fresh = await this.unseen(trx, relevant);
      if (!fresh.length) return [];
      const facts = emptyFacts();
      for (const e of fresh) {
        if (e.kind.startsWith('zeek.')) extractZeek(facts, e);
        else extractSensor(facts, e);
      }
      return this.store(trx, facts, oui);
    });
    return findings.map(findingEvent);
  }

  /** Records the batch's event ids; returns the events not applied before. */
  private async unseen(trx: Tx, events: readonly VigilEvent[]): Promise<VigilEvent[]> {
    const now = this.deps.clock.now().toISOString();
    const byId = new Map(events.map((e) => [e.id, e]));
    const fresh = new Set<string>();
    for (const part of chunks([...byId.keys()])) {
      const rows = await trx
        .insertInto('devices_seen_events')
        .values(part.map((event_id) => ({ event_id, seen_at: now })))
        .onConflict((oc) => oc.column('event_id').doNothing())
        .returning('event_id')
        .execute();
      for (const r of rows) fresh.add(r.event_id);
    }
    return [...byId.values()].filter((e) => fresh.has(e.id));
  }

  private async store(trx: Tx, facts: Facts, oui: OuiRegistry): Promise<FindingDraft[]> {
    const ips = new Set<string>();
    for (const a of facts.attributes) ips.add(a.who.ip);
    for (const e of facts.edges) ips.add(e.src.ip).add(e.dst.ip);
    for (const b of facts.bindings) ips.add(b.ip);
    const resolver = await BatchResolver.load(trx, facts.bindings, ips);

    const drafts = new Map<string, DeviceDraft>();
    const touch = (r: Resolved, time: string, withIp = true) => {
      const d = drafts.get(r.id);
      const ip = withIp ? r.ip : null;
      if (!d) {
        drafts.set(r.id, { id: r.id, key: r.key, mac: r.mac, ip, ipTime: time, first: time, last: time });
        return;
      }
      d.first = minTime(d.first, time);
      d.last = maxTime(d.last, time);
      if (ip && time >= d.ipTime) {
        d.ip = ip;
        d.ipTime = time;
      }
    };

    const attrs = new Map<string, AttributeRow>();
    const addRow = (
      deviceId: string,
      a: Omit<AttributeRow, 'device_id' | 'first_seen' | 'last_seen' | 'count'>,
      time: string,
    ) => {
      const k = `${deviceId}\0${a.name}\0${a.value}`;
      const cur = attrs.get(k);
      if (!cur) {
        attrs.set(k, { device_id: deviceId, ...a, first_seen: time, last_seen: time, count: 1 });
        return;
      }
      cur.first_seen = minTime(cur.first_seen, time);
      cur.last_seen = maxTime(cur.last_seen, time);
      cur.count++;
      if (a.confidence > cur.confidence)
        Object.assign(cur, { source: a.source, evidence: a.evidence, confidence: a.confidence });
    };

    // Gateways: their MAC device is a router, the addresses behind it are devices of their own.
    for (const [mac, n] of resolver.gateways) {
      const key = `mac:${mac}`;
      const time = facts.bindings.find((b) => b.mac === mac)?.time ?? this.deps.clock.now().toISOString();
      const r: Resolved = { id: deviceIdOf(key), key, mac, ip: '' };
      touch(r, time, false);
      addRow(
        r.id,
        {
          name: 'l3_gateway',
          value: 'yes',
          source: 'sensor',
          evidence: `${GATEWAY_EVIDENCE} (${n})`,
          confidence: 0.8,
        },
        time,
      );
    }

    for (const a of facts.attributes) {
      const r = resolver.resolve(a.who);
      if (!r) continue;
      touch(r, a.time);
      addRow(
        r.id,
        { name: 'ip', value: a.who.ip, source: a.source, evidence: 'address seen', confidence: 0.9 },
        a.time,
      );
      addRow(
        r.id,
        { name: a.name, value: a.value, source: a.source, evidence: a.evidence, confidence: a.confidence },
        a.time,
      );
    }

    const edges = new Map<string, EdgeRow & { time: string }>();
    for (const e of facts.edges) {
      const hour = hourOf(e.time);
      if (!hour) continue;
      const create = (ep: typeof e.src) => Boolean(ep.mac) || Boolean(e.identified) || !isPublicIp(ep.ip);
      const src = resolver.resolve(e.src, create(e.src));
      const dst = resolver.resolve(e.dst, create(e.dst));
      for (const r of [src, dst]) {
        if (!r) continue;
        touch(r, e.time);
        addRow(
          r.id,
          { name: 'ip', value: r.ip, source: 'sensor', evidence: 'address seen', confidence: 0.9 },
          e.time,
        );
      }
      const k = [hour, e.src.ip, e.dst.ip, e.dstPort, e.transport, e.app].join('\0');
      const cur = edges.get(k);
      if (cur) {
        cur.connections += e.connections;
        cur.packets += e.packets;
        cur.bytes += e.bytes;
        cur.observations += e.observations;
        cur.src_device_id = src?.id ?? cur.src_device_id;
        cur.dst_device_id = dst?.id ?? cur.dst_device_id;
      } else
        edges.set(k, {
          hour,
          src_ip: e.src.ip,
          dst_ip: e.dst.ip,
          dst_port: e.dstPort,
          transport: e.transport,
          app: e.app,
          src_device_id: src?.id ?? null,
          dst_device_id: dst?.id ?? null,
          connections: e.connections,
          packets: e.packets,
          bytes: e.bytes,
          observations: e.observations,
          time: e.time,
        });
    }

    // The NIC vendor of every MAC device touched (the registry is the source, never a guess).
    for (const d of drafts.values()) {
      if (!d.mac) continue;
      const v = oui.lookup(d.mac);
      if (v.vendor)
        addRow(
          d.id,
          {
            name: 'vendor',
            value: v.vendor,
            source: 'oui',
            evidence: `IEEE ${v.registry} ${v.prefix}`,
            confidence: 0.7,
          },
          d.last,
        );
    }

    await this.upsertDevices(trx, [...drafts.values()]);
    await resolver.apply(resolver.plan());

    const knownAes = await this.knownAeTitles(
      trx,
      facts.associations.map((a) => a.callingAe),
    );
    await this.upsertAttributes(trx, [...attrs.values()]);
    await this.upsertEdges(trx, [...edges.values()]);
    const types = await this.reclassify(trx, [...drafts.keys()]);

    const out: FindingDraft[] = [];
    for (const c of facts.cleartext) {
      const src = resolver.resolve(c.src);
      const dst = resolver.resolve(c.dst);
      out.push(
        draftFinding({
          kind: 'cleartext-patient-data',
          key: `${c.app}|${src?.id ?? c.src.ip}|${dst?.id ?? c.dst.ip}|${c.dstPort}`,
          deviceId: src?.id ?? null,
          severity: 'high',
          summary: `Patient data in cleartext: ${c.app.toUpperCase()} from ${c.src.ip} to ${c.dst.ip}:${c.dstPort} without TLS`,
          evidence: c.evidence,
          time: c.time,
          net: { srcIp: c.src.ip, dstIp: c.dst.ip, dstPort: c.dstPort, proto: 'tcp' },
          device: { ip: c.src.ip, ...(src?.mac ? { mac: src.mac } : {}) },
        }),
      );
    }
    const newAes = new Set<string>();
    for (const a of facts.associations) {
      if (knownAes.has(a.callingAe) || newAes.has(a.callingAe)) continue;
      newAes.add(a.callingAe);
      const src = resolver.resolve(a.src);
      out.push(
        draftFinding({
          kind: 'new-ae-title',
          key: a.callingAe,
          deviceId: src?.id ?? null,
          severity: 'medium',
          summary: `DICOM association from an AE title never seen before: ${a.callingAe} (${a.src.ip}) to ${a.calledAe || '?'} (${a.dst.ip}:${a.dstPort})`,
          evidence: a.evidence,
          time: a.time,
          net: { srcIp: a.src.ip, dstIp: a.dst.ip, dstPort: a.dstPort, proto: 'tcp' },
          device: { ip: a.src.ip, ...(src?.mac ? { mac: src.mac } : {}) },
        }),
      );
    }
    for (const e of edges.values()) {
      for (const [dev, self, other] of [
        [e.src_device_id, e.src_ip, e.dst_ip],
        [e.dst_device_id, e.dst_ip, e.src_ip],
      ] as const) {
        const type = dev ? types.get(dev) : undefined;
        if (!dev || !type || !MEDICAL_TYPES.has(type) || !isPublicIp(other)) continue;
        out.push(
          draftFinding({
            kind: 'medical-device-public-address',
            key: `${dev}|${other}`,
            deviceId: dev,
            severity: 'high',
            summary: `A medical device (${type}, ${self}) talks to the public address ${other}`,
            evidence: {
              deviceType: type,
              deviceIp: self,
              publicIp: other,
              srcIp: e.src_ip,
              dstIp: e.dst_ip,
              dstPort: e.dst_port,
              transport: e.transport,
              app: e.app || null,
              hour: e.hour,
            },
            time: e.time,
            net: { srcIp: e.src_ip, dstIp: e.dst_ip, dstPort: e.dst_port, proto: e.transport },
            device: { ip: self },
          }),
        );
      }
    }
    return this.recordFindings(trx, out);
  }

  private async upsertDevices(trx: Tx, drafts: DeviceDraft[]): Promise<void> {
    const now = this.deps.clock.now().toISOString();
    for (const part of chunks(drafts, 200)) {
      await trx
        .insertInto('devices')
        .values(
          part.map((d) => ({
            id: d.id,
            key: d.key,
            mac: d.mac,
            ip: d.ip,
            name: null,
            vendor: null,
            model: null,
            type: 'unknown',
            type_confidence: 0,
            type_reason: JSON.stringify({ rule: 'none', reason: 'not classified yet', evidence: [] }),
            criticality: 'business',
            criticality_rank: 1,
            criticality_reason: 'not identified yet',
            first_seen: d.first,
            last_seen: d.last,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            first_seen: sql`case when excluded.first_seen < devices.first_seen then excluded.first_seen else devices.first_seen end`,
            last_seen: sql`case when excluded.last_seen > devices.last_seen then excluded.last_seen else devices.last_seen end`,
            ip: sql`case when excluded.ip is not null and (devices.ip is null or excluded.last_seen >= devices.last_seen) then excluded.ip else devices.ip end`,
          }),
        )
        .execute();
    }
  }

  private async knownAeTitles(trx: Tx, titles: string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (const part of chunks([...new Set(titles)])) {
      const rows = await trx
        .selectFrom('devices_attributes')
        .select('value')
        .distinct()
        .where('name', '=', 'ae_title')
        .where('value', 'in', part)
        .execute();
      for (const r of rows) known.add(r.value);
    }
    return known;
  }

  private async upsertAttributes(trx: Tx, rows: AttributeRow[]): Promise<void> {
    for (const part of chunks(rows, 200)) {
      await trx
        .insertInto('devices_attributes')
        .values(part)
        .onConflict((oc) =>
          oc.columns(['device_id', 'name', 'value']).doUpdateSet({
            first_seen: sql`case when excluded.first_seen < devices_attributes.first_seen then excluded.first_seen else devices_attributes.first_seen end`,
            last_seen: sql`case when excluded.last_seen > devices_attributes.last_seen then excluded.last_seen else devices_attributes.last_seen end`,
            count: sql`${sql.ref('devices_attributes.count')} + excluded.count`,
            source: sql`case when excluded.confidence > devices_attributes.confidence then excluded.source else devices_attributes.source end`,
            evidence: sql`case when excluded.confidence > devices_attributes.confidence then excluded.evidence else devices_attributes.evidence end`,
            confidence: sql`case when excluded.confidence > devices_attributes.confidence then excluded.confidence else devices_attributes.confidence end`,
          }),
        )
        .execute();
    }
  }

  private async upsertEdges(trx: Tx, rows: Array<EdgeRow & { time: string }>): Promise<void> {
    for (const part of chunks(rows, 200)) {
      await trx
        .insertInto('devices_edges')
        .values(part.map(({ time: _t, ...r }) => r))
        .onConflict((oc) =>
          oc.columns(['hour', 'src_ip', 'dst_ip', 'dst_port', 'transport', 'app']).doUpdateSet({
            connections: sql`devices_edges.connections + excluded.connections`,
            packets: sql`devices_edges.packets + excluded.packets`,
            bytes: sql`devices_edges.bytes + excluded.bytes`,
            observations: sql`devices_edges.observations + excluded.observations`,
            src_device_id: sql`coalesce(excluded.src_device_id, devices_edges.src_device_id)`,
            dst_device_id: sql`coalesce(excluded.dst_device_id, devices_edges.dst_device_id)`,
          }),
        )
        .execute();
    }
  }

  /** Recomputes type, criticality and summary columns of these devices; returns id → type. */
  private async reclassify(trx: Tx, ids: string[]): Promise<Map<string, string>> {
    const types = new Map<string, string>();
    const now = this.deps.clock.now().toISOString();
    for (const part of chunks(ids, 200)) {
      const rows = await trx.selectFrom('devices').selectAll().where('id', 'in', part).execute();
      const attrs = await trx
        .selectFrom('devices_attributes')
        .select(['device_id', 'name', 'value', 'source', 'evidence', 'confidence', 'last_seen'])
        .where('device_id', 'in', part)
        .execute();
      const byDevice = new Map<string, Array<AttributeView & { last_seen: string }>>();
      for (const a of attrs) {
        const list = byDevice.get(a.device_id) ?? [];
        list.push({ ...a, confidence: Number(a.confidence) });
        byDevice.set(a.device_id, list);
      }
      // What a person set by hand wins over detection, every time detection runs again.
      const manual = new Map(
        (await trx.selectFrom('devices_manual').selectAll().where('device_id', 'in', part).execute()).map(
          (m) => [m.device_id, m],
        ),
      );
      for (const row of rows) {
        const list = byDevice.get(row.id) ?? [];
        const derived = derive(list, manual.get(row.id), this.deps.classifier);
        const s = summarise(list);
        types.set(row.id, derived.type);
        const next: Partial<DeviceRow> = {
          ...derived,
          name: s.name,
          vendor: s.vendor,
          model: s.model,
        };
        const changed = (Object.keys(next) as Array<keyof DeviceRow>).some(
          (k) => String(next[k]) !== String(row[k]),
        );
        if (changed)
          await trx
            .updateTable('devices')
            .set({ ...next, updated_at: now })
            .where('id', '=', row.id)
            .execute();
      }
    }
    return types;
  }

  /** Stores findings; returns those never seen before (the ones to announce). */
  private async recordFindings(trx: Tx, drafts: FindingDraft[]): Promise<FindingDraft[]> {
    const byId = new Map<string, FindingDraft>();
    for (const f of drafts) {
      const cur = byId.get(f.id);
      if (cur) {
        cur.count++;
        if (f.time < cur.time) cur.time = f.time;
      } else byId.set(f.id, { ...f });
    }
    const fresh: FindingDraft[] = [];
    for (const f of byId.values()) {
      const inserted = await trx
        .insertInto('devices_findings')
        .values({
          id: f.id,
          kind: f.kind,
          key: f.key,
          device_id: f.deviceId,
          severity: f.severity,
          summary: f.summary,
          evidence: JSON.stringify(f.evidence),
          first_seen: f.time,
          last_seen: f.time,
          count: f.count,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      if (inserted.length) fresh.push(f);
      else
        await trx
          .updateTable('devices_findings')
          .set({
            count: sql`${sql.ref('count')} + ${f.count}`,
            last_seen: sql`case when last_seen < ${f.time} then ${f.time} else last_seen end`,
          })
          .where('id', '=', f.id)
          .execute();
    }
    return fresh;
  }
}
