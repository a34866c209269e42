/**
 * @module devices/queries
 * Reading the inventory: the device table (filters by type, criticality, vendor, VLAN and IPv4
 * subnet, search over every identity attribute and the hand-set fields, sort, paging, counts by
 * type, criticality and vendor), one device with its evidence and hand-set fields, its peers over a
 * period, the communication map, and findings. Read-only; the ingest and the edits write.
 */
import { type Kysely, sql } from 'kysely';
import { VigilError } from '../core/index.js';
import { toCount } from '../platform/db/index.js';
import type { AttributeView } from './classify.js';
import { type ManualView, viewOfManual } from './edits.js';
import type { TypeReason } from './manual.js';
import { type DeviceMap, mapOf } from './map.js';
import type { AttributeRow, DeviceRow, DeviceTables, FindingRow } from './tables.js';
import { hourOf } from './values.js';

/** One row of the inventory table. */
export interface DeviceSummary {
  id: string;
  mac: string | null;
  ip: string | null;
  name: string | null;
  vendor: string | null;
  model: string | null;
  type: string;
  typeConfidence: number;
  criticality: string;
  firstSeen: string;
  lastSeen: string;
  /** Set by hand (console or CMMS import); null when nobody did. */
  owner: string | null;
  location: string | null;
  /** Type or criticality set by hand rather than detected. */
  manualType: boolean;
  manualCriticality: boolean;
}

/** An attribute with its provenance. */
export interface DeviceAttribute {
  name: string;
  value: string;
  source: string;
  evidence: string;
  confidence: number;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

/** A peer of a device over a period, one row per direction, address and service. */
export interface DevicePeer {
  direction: 'out' | 'in';
  peerDeviceId: string | null;
  peerIp: string;
  peerName: string | null;
  peerType: string | null;
  /** The server port of the conversation (the peer's when `out`, this device's when `in`). */
  port: number;
  transport: string;
  app: string | null;
  connections: number;
  packets: number;
  bytes: number;
  observations: number;
  firstHour: string;
  lastHour: string;
}

export interface DeviceFinding {
  id: string;
  kind: string;
  severity: string;
  summary: string;
  evidence: Record<string, unknown>;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

/** A device with everything the device page shows. */
export interface DeviceDetail extends DeviceSummary {
  key: string;
  classification: {
    type: string;
    confidence: number;
    rule: string;
    reason: string;
    evidence: AttributeView[];
    /** When the type was set by hand: what detection says. */
    detected?: { type: string; confidence: number; rule: string; reason: string };
  };
  criticalityReason: string;
  /** What a person set by hand, if anything. */
  manual: ManualView | null;
  /** Identity attributes (everything but protocols and peers), grouped by name. */
  identity: Record<string, DeviceAttribute[]>;
  protocols: { served: DeviceAttribute[]; used: DeviceAttribute[] };
  peers: DevicePeer[];
  findings: DeviceFinding[];
}

export const SORT_KEYS = ['lastSeen', 'firstSeen', 'name', 'type', 'criticality', 'ip'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ListQuery {
  type?: string;
  criticality?: string;
  /** Vendor or manufacturer name, exactly (case-insensitive), as the counts name them. */
  vendor?: string;
  /** An 802.1Q VLAN id the device was seen on. */
  vlan?: number;
  /** An IPv4 network in CIDR form (`10.20.0.0/16`) or a single address. */
  subnet?: string;
  /** Matches id, IP, MAC, name, vendor, model and any identity attribute (AE title, host name…). */
  q?: string;
  sort?: SortKey;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

export interface DeviceList {
  devices: DeviceSummary[];
  total: number;
  counts: {
    byType: Record<string, number>;
    byCriticality: Record<string, number>;
    /** The most common vendors (up to 50), for the filter. */
    byVendor: Record<string, number>;
  };
}

const SORT_COLUMN = {
  lastSeen: 'last_seen',
  firstSeen: 'first_seen',
  name: 'name',
  type: 'type',
  criticality: 'criticality_rank',
  ip: 'ip',
} as const;

const NOT_IDENTITY = new Set(['protocol_served', 'protocol_used', 'dicom_peer_scu', 'hl7_peer']);

/**
 * The IPv4 addresses of a CIDR network as LIKE prefixes of whole octets (`10.20.%`) or, below a
 * /24, exact addresses: exactly the network, at most 128 terms. Throws BAD_REQUEST for anything
 * but IPv4 CIDR or a single IPv4 address.
 */
export function subnetPatterns(subnet: string): { exact: string[]; like: string[] } {
  const bad = () =>
    new VigilError('BAD_REQUEST', 'query.subnet: an IPv4 network in CIDR form, such as 10.20.0.0/16', {
      details: { field: 'query.subnet' },
    });
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(subnet.trim());
  if (!m) throw bad();
  const octets = m.slice(1, 5).map((x) => Number(x));
  if (octets.some((o) => o > 255)) throw bad();
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  if (bits > 32) throw bad();
  if (bits === 0) return { exact: [], like: ['%.%.%.%'] };
  const whole = Math.ceil(bits / 8);
  const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const base = (value & ((0xffffffff << (32 - bits)) >>> 0)) >>> 0;
  const out: string[] = [];
  for (let i = 0; i < 2 ** (whole * 8 - bits); i++) {
    const net = base + i * 2 ** (32 - whole * 8);
    const parts = [Math.floor(net / 2 ** 24), (net >>> 16) & 255, (net >>> 8) & 255, net & 255];
    out.push(parts.slice(0, whole).join('.'));
  }
  return whole === 4 ? { exact: out, like: [] } : { exact: [], like: out.map((p) => `${p}.%`) };
}

function summaryOf(r: DeviceRow): DeviceSummary {
  return {
    id: r.id,
    mac: r.mac,
    ip: r.ip,
    name: r.name,
    vendor: r.vendor,
    model: r.model,
    type: r.type,
    typeConfidence: Number(r.type_confidence),
    criticality: r.criticality,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    owner: null,
    location: null,
    manualType: false,
    manualCriticality: false,
  };
}

function attributeOf(a: AttributeRow): DeviceAttribute {
  return {
    name: a.name,
    value: a.value,
    source: a.source,
    evidence: a.evidence,
    confidence: Number(a.confidence),
    firstSeen: a.first_seen,
    lastSeen: a.last_seen,
    count: toCount(a.count),
  };
}

function findingOf(f: FindingRow): DeviceFinding {
  return {
    id: f.id,
    kind: f.kind,
    severity: f.severity,
    summary: f.summary,
    evidence: JSON.parse(f.evidence) as Record<string, unknown>,
    firstSeen: f.first_seen,
    lastSeen: f.last_seen,
    count: toCount(f.count),
  };
}

/** `%text%` for LIKE, with the wildcards in `text` escaped (used with `escape '\'`). */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Read access to the inventory. */
export class DeviceQueries {
  constructor(private readonly db: Kysely<DeviceTables>) {}

  /** The inventory table. */
  async list(query: ListQuery = {}): Promise<DeviceList> {
    let base = this.db.selectFrom('devices');
    if (query.type) base = base.where('type', '=', query.type);
    if (query.criticality) base = base.where('criticality', '=', query.criticality);
    if (query.vendor) {
      const v = query.vendor.trim().toLowerCase();
      base = base.where((eb) =>
        eb.or([
          sql<boolean>`lower(coalesce(vendor, '')) = ${v}`,
          eb.exists(
            eb
              .selectFrom('devices_attributes as a')
              .select('a.device_id')
              .whereRef('a.device_id', '=', 'devices.id')
              .where('a.name', 'in', ['vendor', 'manufacturer'])
              .where(sql<boolean>`lower(a.value) = ${v}`),
          ),
        ]),
      );
    }
    if (query.vlan !== undefined) {
      const vlan = String(query.vlan);
      base = base.where((eb) =>
        eb.exists(
          eb
            .selectFrom('devices_attributes as a')
            .select('a.device_id')
            .whereRef('a.device_id', '=', 'devices.id')
            .where('a.name', '=', 'vlan')
            .where('a.value', '=', vlan),
        ),
      );
    }
    if (query.subnet) {
      const net = subnetPatterns(query.subnet);
      base = base.where((eb) =>
        net.exact.length ? eb('ip', 'in', net.exact) : eb.or(net.like.map((p) => eb('ip', 'like', p))),
      );
    }
    const q = query.q?.trim().slice(0, 200);
    if (q) {
      const pat = likePattern(q);
      base = base.where((eb) =>
        eb.or([
          eb('id', '=', q),
          sql<boolean>`lower(coalesce(ip, '')) like ${pat} escape '\\'`,
          sql<boolean>`lower(coalesce(mac, '')) like ${pat} escape '\\'`,
          sql<boolean>`lower(coalesce(name, '')) like ${pat} escape '\\'`,
          sql<boolean>`lower(coalesce(vendor, '')) like ${pat} escape '\\'`,
          sql<boolean>`lower(coalesce(model, '')) like ${pat} escape '\\'`,
          eb.exists(
            eb
              .selectFrom('devices_attributes as a')
              .select('a.device_id')
              .whereRef('a.device_id', '=', 'devices.id')
              .where('a.name', 'not in', [...NOT_IDENTITY])
              .where(sql<boolean>`lower(a.value) like ${pat} escape '\\'`),
          ),
          eb.exists(
            eb
              .selectFrom('devices_manual as m')
              .select('m.device_id')
              .whereRef('m.device_id', '=', 'devices.id')
              .where((w) =>
                w.or([
                  sql<boolean>`lower(coalesce(m.owner, '')) like ${pat} escape '\\'`,
                  sql<boolean>`lower(coalesce(m.location, '')) like ${pat} escape '\\'`,
                  sql<boolean>`lower(coalesce(m.notes, '')) like ${pat} escape '\\'`,
                ]),
              ),
          ),
        ]),
      );
    }
    const column = SORT_COLUMN[query.sort ?? 'lastSeen'];
    const order = query.order ?? (query.sort === 'name' || query.sort === 'ip' ? 'asc' : 'desc');
    const [rows, total, byType, byCrit, byVendor] = await Promise.all([
      base
        .selectAll()
        .orderBy(column, order)
        .orderBy('id', 'asc')
        .limit(Math.min(Math.max(query.limit ?? 100, 1), 1000))
        .offset(Math.max(query.offset ?? 0, 0))
        .execute(),
      base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
      this.db
        .selectFrom('devices')
        .select(['type', (eb) => eb.fn.countAll().as('n')])
        .groupBy('type')
        .execute(),
      this.db
        .selectFrom('devices')
        .select(['criticality', (eb) => eb.fn.countAll().as('n')])
        .groupBy('criticality')
        .execute(),
      this.db
        .selectFrom('devices')
        .select(['vendor', (eb) => eb.fn.countAll().as('n')])
        .where('vendor', 'is not', null)
        .groupBy('vendor')
        .orderBy(sql`count(*)`, 'desc')
        .orderBy('vendor')
        .limit(50)
        .execute(),
    ]);
    return {
      devices: await this.withManual(rows.map(summaryOf)),
      total: toCount(total?.n),
      counts: {
        byType: Object.fromEntries(byType.map((r) => [r.type, toCount(r.n)])),
        byCriticality: Object.fromEntries(byCrit.map((r) => [r.criticality, toCount(r.n)])),
        byVendor: Object.fromEntries(byVendor.map((r) => [r.vendor ?? '', toCount(r.n)])),
      },
    };
  }

  /** Fills in the hand-set fields of a page of devices. */
  private async withManual(list: DeviceSummary[]): Promise<DeviceSummary[]> {
    if (!list.length) return list;
    const rows = await this.db
      .selectFrom('devices_manual')
      .selectAll()
      .where(
        'device_id',
        'in',
        list.map((d) => d.id),
      )
      .execute();
    const byId = new Map(rows.map((m) => [m.device_id, m]));
    for (const d of list) {
      const m = byId.get(d.id);
      if (!m) continue;
      d.owner = m.owner;
      d.location = m.location;
      d.manualType = m.type !== null;
      d.manualCriticality = m.criticality !== null;
    }
    return list;
  }

  /** The communication map over `[from, to)`: at most `limit` devices, external addresses grouped. */
  map(from: Date | undefined, to: Date | undefined, limit = 150): Promise<DeviceMap> {
    return mapOf(this.db, from, to, limit);
  }

  /** Finds a device by id, MAC or current IP. */
  async find(ref: string): Promise<DeviceRow | undefined> {
    const r = ref.trim().toLowerCase();
    return this.db
      .selectFrom('devices')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', ref.trim()), eb('mac', '=', r), eb('ip', '=', r)]))
      .orderBy('last_seen', 'desc')
      .executeTakeFirst();
  }

  /** One device with its evidence, protocols, peers (all time) and findings. */
  async get(ref: string): Promise<DeviceDetail | undefined> {
    const row = await this.find(ref);
    if (!row) return undefined;
    const [attrs, peers, findings, manual] = await Promise.all([
      this.db
        .selectFrom('devices_attributes')
        .selectAll()
        .where('device_id', '=', row.id)
        .orderBy('name')
        .orderBy('confidence', 'desc')
        .orderBy('last_seen', 'desc')
        .execute(),
      this.peers(row.id),
      this.findings({ deviceId: row.id }),
      this.db.selectFrom('devices_manual').selectAll().where('device_id', '=', row.id).executeTakeFirst(),
    ]);
    const identity: Record<string, DeviceAttribute[]> = {};
    const served: DeviceAttribute[] = [];
    const used: DeviceAttribute[] = [];
    for (const a of attrs.map(attributeOf)) {
      if (a.name === 'protocol_served') served.push(a);
      else if (a.name === 'protocol_used') used.push(a);
      else if (!NOT_IDENTITY.has(a.name)) {
        const list = identity[a.name] ?? [];
        list.push(a);
        identity[a.name] = list;
      }
    }
    const reason = JSON.parse(row.type_reason) as TypeReason;
    const [summary] = await this.withManual([summaryOf(row)]);
    return {
      ...summary!,
      key: row.key,
      classification: {
        type: row.type,
        confidence: Number(row.type_confidence),
        rule: reason.rule,
        reason: reason.reason,
        evidence: reason.evidence,
        ...(reason.detected ? { detected: reason.detected } : {}),
      },
      criticalityReason: row.criticality_reason,
      manual: manual ? viewOfManual(manual) : null,
      identity,
      protocols: { served, used },
      peers,
      findings,
    };
  }

  /** A device's peers over `[from, to)` (whole hours overlapping it); all time by default. */
  async peers(id: string, from?: Date, to?: Date, limit = 500): Promise<DevicePeer[]> {
    const lo = from ? (hourOf(from.toISOString()) ?? '') : '';
    const hi = to ? to.toISOString() : '9999';
    const agg = (dir: 'out' | 'in') => {
      const self = dir === 'out' ? 'src_device_id' : 'dst_device_id';
      const peerId = dir === 'out' ? 'dst_device_id' : 'src_device_id';
      const peerIp = dir === 'out' ? 'dst_ip' : 'src_ip';
      return this.db
        .selectFrom('devices_edges')
        .select((eb) => [
          eb.ref(peerId).as('peer_id'),
          eb.ref(peerIp).as('peer_ip'),
          'dst_port',
          'transport',
          'app',
          eb.fn.sum<number>('connections').as('connections'),
          eb.fn.sum<number>('packets').as('packets'),
          eb.fn.sum<number>('bytes').as('bytes'),
          eb.fn.sum<number>('observations').as('observations'),
          eb.fn.min<string>('hour').as('first_hour'),
          eb.fn.max<string>('hour').as('last_hour'),
        ])
        .where(self, '=', id)
        .where('hour', '>=', lo)
        .where('hour', '<', hi)
        .groupBy([peerId, peerIp, 'dst_port', 'transport', 'app'])
        .execute();
    };
    const [out, inn] = await Promise.all([agg('out'), agg('in')]);
    const rows = [
      ...out.map((r) => ({ ...r, direction: 'out' as const })),
      ...inn.map((r) => ({ ...r, direction: 'in' as const })),
    ];
    const ids = [...new Set(rows.map((r) => r.peer_id).filter((x): x is string => Boolean(x)))];
    const names = new Map<string, { name: string | null; type: string }>();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      for (const d of await this.db
        .selectFrom('devices')
        .select(['id', 'name', 'type'])
        .where('id', 'in', part)
        .execute())
        names.set(d.id, { name: d.name, type: d.type });
    }
    return rows
      .map((r) => ({
        direction: r.direction,
        peerDeviceId: r.peer_id,
        peerIp: r.peer_ip,
        peerName: r.peer_id ? (names.get(r.peer_id)?.name ?? null) : null,
        peerType: r.peer_id ? (names.get(r.peer_id)?.type ?? null) : null,
        port: Number(r.dst_port),
        transport: r.transport,
        app: r.app || null,
        connections: toCount(r.connections),
        packets: toCount(r.packets),
        bytes: toCount(r.bytes),
        observations: toCount(r.observations),
        firstHour: r.first_hour,
        lastHour: r.last_hour,
      }))
      .sort(
        (a, b) =>
          b.connections + b.observations - (a.connections + a.observations) ||
          a.peerIp.localeCompare(b.peerIp),
      )
      .slice(0, limit);
  }

  /** Findings, newest first, optionally of one device or kind. */
  async findings(
    filter: { deviceId?: string; kind?: string; limit?: number } = {},
  ): Promise<DeviceFinding[]> {
    let q = this.db.selectFrom('devices_findings').selectAll();
    if (filter.deviceId) q = q.where('device_id', '=', filter.deviceId);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    const rows = await q
      .orderBy('last_seen', 'desc')
      .orderBy('id')
      .limit(Math.min(Math.max(filter.limit ?? 200, 1), 1000))
      .execute();
    return rows.map(findingOf);
  }
}
