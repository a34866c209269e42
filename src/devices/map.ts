/**
 * @module devices/map
 * The communication map over a period, for the console's network graph: the hourly edges summed
 * per pair of devices (either direction), addresses that are no device of the inventory (public
 * addresses) grouped into one external node, and bounded: the busiest `limit` devices are kept
 * and the answer says how many were left out.
 */
import type { Kysely } from 'kysely';
import { toCount } from '../platform/db/index.js';
import type { DeviceTables } from './tables.js';
import { hourOf } from './values.js';

/** The node standing for every address outside the inventory. */
export const EXTERNAL_NODE = 'external';
export const MAX_MAP_NODES = 500;
const MAX_MAP_EDGES = 3000;
const MAX_SERVICES = 6;
const MAX_EXTERNAL_ADDRESSES = 20;

export interface MapTraffic {
  connections: number;
  packets: number;
  bytes: number;
  observations: number;
}

export interface MapNode extends MapTraffic {
  id: string;
  kind: 'device' | 'external';
  label: string;
  ip: string | null;
  mac: string | null;
  type: string | null;
  criticality: string | null;
  vendor: string | null;
  /** The external node only: its busiest addresses and how many there were. */
  addresses?: Array<{ ip: string } & MapTraffic>;
  addressCount?: number;
}

export interface MapEdge extends MapTraffic {
  source: string;
  target: string;
  /** The busiest services of the pair, `app/transport/port`. */
  services: string[];
}

export interface DeviceMap {
  from: string | null;
  to: string | null;
  nodes: MapNode[];
  edges: MapEdge[];
  /** Devices and pairs with traffic in the period that the bound left out. */
  omitted: { nodes: number; edges: number };
}

const zero = (): MapTraffic => ({ connections: 0, packets: 0, bytes: 0, observations: 0 });
const add = (t: MapTraffic, r: MapTraffic) => {
  t.connections += r.connections;
  t.packets += r.packets;
  t.bytes += r.bytes;
  t.observations += r.observations;
};
const weight = (t: MapTraffic) => t.connections + t.observations;
const busier = (a: MapTraffic, b: MapTraffic) => weight(b) - weight(a) || b.bytes - a.bytes;

/** Builds the map of `[from, to)` (whole hours overlapping it). */
export async function mapOf(
  db: Kysely<DeviceTables>,
  from: Date | undefined,
  to: Date | undefined,
  limit: number,
): Promise<DeviceMap> {
  const lo = from ? (hourOf(from.toISOString()) ?? '') : '';
  const hi = to ? to.toISOString() : '9999';
  const rows = await db
    .selectFrom('devices_edges')
    .select((eb) => [
      'src_device_id',
      'dst_device_id',
      'dst_port',
      'transport',
      'app',
      eb.fn.sum<number>('connections').as('connections'),
      eb.fn.sum<number>('packets').as('packets'),
      eb.fn.sum<number>('bytes').as('bytes'),
      eb.fn.sum<number>('observations').as('observations'),
    ])
    .where('hour', '>=', lo)
    .where('hour', '<', hi)
    .groupBy(['src_device_id', 'dst_device_id', 'dst_port', 'transport', 'app'])
    .execute();

  const traffic = (r: { connections: number; packets: number; bytes: number; observations: number }) => ({
    connections: toCount(r.connections),
    packets: toCount(r.packets),
    bytes: toCount(r.bytes),
    observations: toCount(r.observations),
  });
  const perNode = new Map<string, MapTraffic>();
  const pairs = new Map<string, MapEdge & { byService: Map<string, MapTraffic> }>();
  for (const r of rows) {
    const a = r.src_device_id ?? EXTERNAL_NODE;
    const b = r.dst_device_id ?? EXTERNAL_NODE;
    if (a === b) continue;
    const t = traffic(r);
    for (const n of [a, b]) {
      const cur = perNode.get(n) ?? zero();
      add(cur, t);
      perNode.set(n, cur);
    }
    const [source, target] = a < b ? [a, b] : [b, a];
    const k = `${source}\0${target}`;
    let e = pairs.get(k);
    if (!e) {
      e = { source, target, services: [], ...zero(), byService: new Map() };
      pairs.set(k, e);
    }
    add(e, t);
    const svc = `${r.app || '?'}/${r.transport}/${r.dst_port}`;
    const s = e.byService.get(svc) ?? zero();
    add(s, t);
    e.byService.set(svc, s);
  }

  const bound = Math.min(Math.max(limit, 1), MAX_MAP_NODES);
  const ranked = [...perNode.entries()].sort((x, y) => busier(x[1], y[1]) || x[0].localeCompare(y[0]));
  const kept = new Set(ranked.slice(0, bound).map(([id]) => id));
  const edgesAll = [...pairs.values()].filter((e) => kept.has(e.source) && kept.has(e.target)).sort(busier);
  const edges = edgesAll.slice(0, MAX_MAP_EDGES).map(({ byService, ...e }) => ({
    ...e,
    services: [...byService.entries()]
      .sort((x, y) => busier(x[1], y[1]))
      .slice(0, MAX_SERVICES)
      .map(([svc]) => svc),
  }));

  const ids = [...kept].filter((id) => id !== EXTERNAL_NODE);
  const devices = new Map<
    string,
    {
      name: string | null;
      ip: string | null;
      mac: string | null;
      type: string;
      criticality: string;
      vendor: string | null;
    }
  >();
  for (let i = 0; i < ids.length; i += 500) {
    for (const d of await db
      .selectFrom('devices')
      .select(['id', 'name', 'ip', 'mac', 'type', 'criticality', 'vendor'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute())
      devices.set(d.id, d);
  }
  const nodes: MapNode[] = [];
  for (const id of kept) {
    const t = perNode.get(id) ?? zero();
    if (id === EXTERNAL_NODE) {
      nodes.push({
        id,
        kind: 'external',
        label: 'External addresses',
        ip: null,
        mac: null,
        type: null,
        criticality: null,
        vendor: null,
        ...t,
        ...(await externals(db, lo, hi)),
      });
      continue;
    }
    const d = devices.get(id);
    if (!d) continue;
    nodes.push({
      id,
      kind: 'device',
      label: d.name ?? d.ip ?? d.mac ?? id,
      ip: d.ip,
      mac: d.mac,
      type: d.type,
      criticality: d.criticality,
      vendor: d.vendor,
      ...t,
    });
  }
  return {
    from: from?.toISOString() ?? null,
    to: to?.toISOString() ?? null,
    nodes,
    edges,
    omitted: { nodes: perNode.size - kept.size, edges: pairs.size - edges.length },
  };
}

/** The busiest addresses outside the inventory over the period, and how many there were. */
async function externals(
  db: Kysely<DeviceTables>,
  lo: string,
  hi: string,
): Promise<{ addresses: Array<{ ip: string } & MapTraffic>; addressCount: number }> {
  const side = (ip: 'src_ip' | 'dst_ip', dev: 'src_device_id' | 'dst_device_id') =>
    db
      .selectFrom('devices_edges')
      .select((eb) => [
        eb.ref(ip).as('ip'),
        eb.fn.sum<number>('connections').as('connections'),
        eb.fn.sum<number>('packets').as('packets'),
        eb.fn.sum<number>('bytes').as('bytes'),
        eb.fn.sum<number>('observations').as('observations'),
      ])
      .where(dev, 'is', null)
      .where('hour', '>=', lo)
      .where('hour', '<', hi)
      .groupBy(ip)
      .execute();
  const [a, b] = await Promise.all([side('dst_ip', 'dst_device_id'), side('src_ip', 'src_device_id')]);
  const byIp = new Map<string, { ip: string } & MapTraffic>();
  for (const r of [...a, ...b]) {
    const cur = byIp.get(r.ip) ?? { ip: r.ip, ...zero() };
    add(cur, {
      connections: toCount(r.connections),
      packets: toCount(r.packets),
      bytes: toCount(r.bytes),
      observations: toCount(r.observations),
    });
    byIp.set(r.ip, cur);
  }
  const all = [...byIp.values()].sort((x, y) => busier(x, y) || x.ip.localeCompare(y.ip));
  return { addresses: all.slice(0, MAX_EXTERNAL_ADDRESSES), addressCount: all.length };
}
