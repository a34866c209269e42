/**
 * @module devices/resolve
 * Which device is this endpoint? A MAC names a device; an IP alone names the device that holds
 * that address now (found by MAC binding in this batch or in the inventory), else a device keyed
 * by the IP. A MAC seen in front of many addresses is a router's, not the hosts': it stops
 * absorbing addresses and is marked as a layer-3 gateway. When a MAC shows up for an address
 * that was known only by IP (or DHCP leases the address to it), the IP-keyed device is merged
 * into the MAC's, attributes, edges and findings included.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { BindingFact, Endpoint } from './facts.js';
import type { DeviceTables } from './tables.js';
import { deviceIdOf, isPublicIp } from './values.js';

/** A MAC in front of more addresses than this (outside DHCP) is a router's. */
export const GATEWAY_ADDRESSES = 4;

type Tx = Transaction<DeviceTables> | Kysely<DeviceTables>;

/** A resolved endpoint. */
export interface Resolved {
  id: string;
  key: string;
  mac: string | null;
  ip: string;
}

const CHUNK = 500;

function chunks<T>(list: readonly T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

/** Resolves endpoints for one batch; built once per batch, inside its transaction. */
export class BatchResolver {
  /** ip → MAC bindings accepted in this batch (latest wins). */
  readonly ipToMac = new Map<string, { mac: string; time: string; dhcp: boolean }>();
  /** MACs found to be routers' (this batch or earlier). */
  readonly gateways = new Map<string, number>();
  /** ip → device holding it in the inventory before this batch. */
  private readonly holders = new Map<string, { id: string; key: string; mac: string | null }[]>();

  private constructor(private readonly trx: Tx) {}

  /** Loads what resolution needs for these bindings and endpoint addresses. */
  static async load(
    trx: Tx,
    bindings: readonly BindingFact[],
    ips: Iterable<string>,
  ): Promise<BatchResolver> {
    const r = new BatchResolver(trx);
    const byMac = new Map<string, Set<string>>();
    for (const b of bindings) {
      if (b.dhcp) continue;
      const s = byMac.get(b.mac) ?? new Set<string>();
      s.add(b.ip);
      byMac.set(b.mac, s);
    }
    const macIds = [...byMac.keys()].map((m) => deviceIdOf(`mac:${m}`));
    const known = new Map<string, Set<string>>();
    const flagged = new Set<string>();
    for (const part of chunks(macIds)) {
      const rows = await trx
        .selectFrom('devices_attributes')
        .select(['device_id', 'name', 'value'])
        .where('device_id', 'in', part)
        .where('name', 'in', ['ip', 'l3_gateway'])
        .execute();
      for (const row of rows) {
        if (row.name === 'l3_gateway') flagged.add(row.device_id);
        else {
          const s = known.get(row.device_id) ?? new Set<string>();
          s.add(row.value);
          known.set(row.device_id, s);
        }
      }
    }
    for (const [mac, ipsOfMac] of byMac) {
      const id = deviceIdOf(`mac:${mac}`);
      const all = new Set([...(known.get(id) ?? []), ...ipsOfMac]);
      if (flagged.has(id) || all.size > GATEWAY_ADDRESSES) r.gateways.set(mac, all.size);
    }
    for (const b of [...bindings].sort((x, y) => (x.time < y.time ? -1 : x.time > y.time ? 1 : 0))) {
      if (!b.dhcp && r.gateways.has(b.mac)) continue;
      r.ipToMac.set(b.ip, { mac: b.mac, time: b.time, dhcp: b.dhcp });
    }
    const wanted = [...new Set(ips)];
    for (const part of chunks(wanted)) {
      const rows = await trx
        .selectFrom('devices')
        .select(['id', 'key', 'mac', 'ip', 'last_seen'])
        .where('ip', 'in', part)
        .orderBy('last_seen', 'desc')
        .execute();
      for (const row of rows) {
        if (!row.ip) continue;
        const list = r.holders.get(row.ip) ?? [];
        list.push({ id: row.id, key: row.key, mac: row.mac });
        r.holders.set(row.ip, list);
      }
    }
    return r;
  }

  /** The MAC this endpoint should be known by, if any. */
  private macOf(ep: Endpoint): string | undefined {
    if (ep.mac && !this.gateways.has(ep.mac)) return ep.mac;
    return this.ipToMac.get(ep.ip)?.mac;
  }

  /**
   * The device of an endpoint. With `create` false (edges to external addresses), a public
   * address without a MAC or a known device stays an address: null.
   */
  resolve(ep: Endpoint, create = true): Resolved | null {
    const mac = this.macOf(ep);
    if (mac) {
      const key = `mac:${mac}`;
      return { id: deviceIdOf(key), key, mac, ip: ep.ip };
    }
    const holder =
      this.holders.get(ep.ip)?.find((h) => h.key.startsWith('mac:')) ?? this.holders.get(ep.ip)?.[0];
    if (holder) return { id: holder.id, key: holder.key, mac: holder.mac, ip: ep.ip };
    if (!create && isPublicIp(ep.ip)) return null;
    const key = `ip:${ep.ip}`;
    return { id: deviceIdOf(key), key, mac: null, ip: ep.ip };
  }

  /** IP-keyed devices to fold into MAC devices, and MAC devices an address moved away from. */
  plan(): { merges: Array<{ from: string; to: string }>; moved: string[] } {
    const merges: Array<{ from: string; to: string }> = [];
    const moved: string[] = [];
    for (const [ip, b] of this.ipToMac) {
      const to = deviceIdOf(`mac:${b.mac}`);
      for (const h of this.holders.get(ip) ?? []) {
        if (h.id === to) continue;
        if (h.key === `ip:${ip}`) merges.push({ from: h.id, to });
        else moved.push(h.id);
      }
    }
    return { merges, moved };
  }

  /** Applies the plan (after the target devices exist). */
  async apply(plan: { merges: Array<{ from: string; to: string }>; moved: string[] }): Promise<void> {
    for (const { from, to } of plan.merges) await mergeDevice(this.trx, from, to);
    for (const part of chunks(plan.moved))
      await this.trx.updateTable('devices').set({ ip: null }).where('id', 'in', part).execute();
  }
}

/** Folds device `from` into `to`: attributes (merged), edges and findings follow; `from` goes. */
export async function mergeDevice(trx: Tx, from: string, to: string): Promise<void> {
  const old = await trx.selectFrom('devices').selectAll().where('id', '=', from).executeTakeFirst();
  if (!old) return;
  const attrs = await trx
    .selectFrom('devices_attributes')
    .selectAll()
    .where('device_id', '=', from)
    .execute();
  for (const part of chunks(attrs, 100)) {
    await trx
      .insertInto('devices_attributes')
      .values(part.map((a) => ({ ...a, device_id: to })))
      .onConflict((oc) =>
        oc.columns(['device_id', 'name', 'value']).doUpdateSet({
          first_seen: sql`case when excluded.first_seen < devices_attributes.first_seen then excluded.first_seen else devices_attributes.first_seen end`,
          last_seen: sql`case when excluded.last_seen > devices_attributes.last_seen then excluded.last_seen else devices_attributes.last_seen end`,
          count: sql`${sql.ref('devices_attributes.count')} + excluded.count`,
        }),
      )
      .execute();
  }
  await trx.deleteFrom('devices_attributes').where('device_id', '=', from).execute();
  await trx
    .updateTable('devices_edges')
    .set({ src_device_id: to })
    .where('src_device_id', '=', from)
    .execute();
  await trx
    .updateTable('devices_edges')
    .set({ dst_device_id: to })
    .where('dst_device_id', '=', from)
    .execute();
  await trx.updateTable('devices_findings').set({ device_id: to }).where('device_id', '=', from).execute();
  await trx
    .updateTable('devices')
    .set({
      first_seen: sql`case when first_seen > ${old.first_seen} then ${old.first_seen} else first_seen end`,
    })
    .where('id', '=', to)
    .execute();
  await trx.deleteFrom('devices').where('id', '=', from).execute();
}

export { chunks };
