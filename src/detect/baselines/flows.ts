/**
 * Flows from the bus as baseline observations: the sensor's `net.flow` (bytes both ways, the
 * application it recognised in `app`) and Zeek's `zeek.conn` (`orig_bytes` + `resp_bytes`,
 * `service`). Each flow teaches both of its ends when they are internal unicast addresses (the
 * hospital's own devices); public addresses, multicast and broadcast are peers, never devices.
 */
import { isIP } from 'node:net';
import type { VigilEvent } from '../../core/index.js';
import { isPublicIp } from '../../devices/index.js';
import type { Observation } from './model.js';

/** Event kinds the learner reads. */
export const FLOW_KINDS: ReadonlySet<string> = new Set(['net.flow', 'zeek.conn']);

type Data = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The canonical text of an address, or undefined when it is not one. */
export function canonicalAddress(ip: unknown): string | undefined {
  if (typeof ip !== 'string') return undefined;
  const s = ip.trim().toLowerCase();
  return isIP(s) ? s : undefined;
}

/** Can this address be a device with a baseline (internal unicast)? */
export function isDeviceAddress(ip: string): boolean {
  if (isPublicIp(ip)) return false;
  const v = isIP(ip);
  if (v === 4) {
    const a = Number(ip.slice(0, ip.indexOf('.')));
    return !(a === 0 || a === 127 || a >= 224 || ip.endsWith('.255'));
  }
  if (v === 6) return !(ip === '::' || ip === '::1' || ip.startsWith('ff'));
  return false;
}

function appOf(e: VigilEvent, d: Data): string {
  if (e.kind === 'zeek.conn') {
    const service = text(Array.isArray(d.service) ? d.service[0] : d.service)
      .split(',')[0]!
      .toLowerCase();
    return service === 'ssl' ? 'tls' : service.replace(/[^a-z0-9_-]/g, '').slice(0, 32);
  }
  return text(d.app)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .slice(0, 32);
}

/** The observations of one flow event (0, 1 or 2: one per internal end). */
export function observationsOf(e: VigilEvent): Observation[] {
  if (!FLOW_KINDS.has(e.kind)) return [];
  const src = canonicalAddress(e.net?.srcIp);
  const dst = canonicalAddress(e.net?.dstIp);
  const time = Date.parse(e.time);
  if (!src || !dst || src === dst || !Number.isFinite(time)) return [];
  const d = (e.data ?? {}) as Data;
  const transport =
    text(d.transport || e.net?.proto || d.proto)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 8) || 'tcp';
  const port = e.net?.dstPort ?? 0;
  const app = appOf(e, d);
  const bytes =
    e.kind === 'zeek.conn'
      ? num(d.orig_bytes) + num(d.resp_bytes)
      : transport === 'udp'
        ? num(d.bytes)
        : num(d.bytesToServer) + num(d.bytesToClient) || num(d.bytes);
  const net = {
    srcIp: src,
    dstIp: dst,
    ...(e.net?.srcPort !== undefined ? { srcPort: e.net.srcPort } : {}),
    ...(e.net?.dstPort !== undefined ? { dstPort: e.net.dstPort } : {}),
    proto: transport,
  };
  const base = { eventId: e.id, time, transport, port, protocol: app || transport, bytes, net };
  const out: Observation[] = [];
  if (isDeviceAddress(src))
    out.push({ ...base, device: src, peer: dst, peerExternal: isPublicIp(dst), direction: 'out' });
  if (isDeviceAddress(dst))
    out.push({ ...base, device: dst, peer: src, peerExternal: isPublicIp(src), direction: 'in' });
  return out;
}
