/**
 * @module devices/extract-zeek
 * Facts from Zeek records (`zeek.<log>` events, Zeek's own field names in `data`): conn for the
 * communication map's counts; dns, ssl, http, rdp, ssh, smb_mapping, modbus as application
 * observations; dhcp for MAC↔IP leases and host names; software and known_services for what a
 * host runs and serves. Notice, weird and x509 teach the inventory nothing about a host.
 */
import type { VigilEvent } from '../core/index.js';
import { addAttribute } from './extract-sensor.js';
import type { Endpoint, Facts } from './facts.js';
import { canonicalIp, canonicalMac, cleanText, isPublicIp } from './values.js';

type Data = Record<string, unknown>;

const num = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** Zeek's service names as the map's application protocols. */
function appName(service: unknown): string {
  const first = cleanText(list(service)[0], 32)?.split(',')[0]?.toLowerCase() ?? '';
  if (first === 'ssl') return 'tls';
  return first.replace(/[^a-z0-9_-]/g, '');
}

/** Application logs and the protocol each one proves. */
const APP_LOGS: Record<string, string> = {
  'zeek.dns': 'dns',
  'zeek.ssl': 'tls',
  'zeek.http': 'http',
  'zeek.rdp': 'rdp',
  'zeek.ssh': 'ssh',
  'zeek.smb_mapping': 'smb',
  'zeek.modbus': 'modbus',
};

function conn(
  e: VigilEvent,
  d: Data,
): { src: Endpoint; dst: Endpoint; port: number; transport: string } | null {
  const srcIp = canonicalIp(d['id.orig_h']);
  const dstIp = canonicalIp(d['id.resp_h']);
  if (!srcIp || !dstIp) return null;
  const src: Endpoint = { ip: srcIp };
  const dst: Endpoint = { ip: dstIp };
  const om = canonicalMac(d.orig_l2_addr);
  const rm = canonicalMac(d.resp_l2_addr);
  if (om) src.mac = om;
  if (rm) dst.mac = rm;
  const proto = cleanText(d.proto, 8)?.toLowerCase();
  const transport = proto === 'udp' || proto === 'icmp' ? proto : e.kind === 'zeek.dns' ? 'udp' : 'tcp';
  return { src, dst, port: num(d['id.resp_p']), transport };
}

function softwareValue(d: Data): string | undefined {
  const name = cleanText(d.name, 64);
  if (!name) return cleanText(d.unparsed_version);
  const parts = [d['version.major'], d['version.minor'], d['version.minor2'], d['version.minor3']]
    .filter((x) => typeof x === 'number')
    .join('.');
  const addl = cleanText(d['version.addl'], 32);
  return `${name}${parts ? ` ${parts}` : ''}${addl && addl.length < 32 ? ` ${addl}` : ''}`;
}

/** Adds what one Zeek record shows to `facts`. */
export function extractZeek(facts: Facts, e: VigilEvent): void {
  const d = (e.data ?? {}) as Data;
  const t = e.time;
  if (e.kind === 'zeek.conn') {
    const c = conn(e, d);
    if (!c) return;
    for (const ep of [c.src, c.dst])
      if (ep.mac) facts.bindings.push({ ip: ep.ip, mac: ep.mac, time: t, dhcp: false });
    const app = appName(d.service);
    facts.edges.push({
      src: c.src,
      dst: c.dst,
      dstPort: c.port,
      transport: c.transport,
      app,
      connections: 1,
      packets: num(d.orig_pkts) + num(d.resp_pkts),
      bytes: num(d.orig_ip_bytes) + num(d.resp_ip_bytes) || num(d.orig_bytes) + num(d.resp_bytes),
      observations: 0,
      time: t,
    });
    const state = cleanText(d.conn_state, 8) ?? '';
    if (c.port > 0 && (app || (c.transport === 'tcp' && /^(SF|S1|S2|S3|RSTO|RSTR)$/.test(state)))) {
      const proto = `${app ? `${app}/` : ''}${c.transport}/${c.port}`;
      addAttribute(facts, c.dst, 'protocol_served', proto, 'zeek', 'zeek.conn', 0.8, t);
      addAttribute(facts, c.src, 'protocol_used', proto, 'zeek', 'zeek.conn', 0.8, t);
    }
    return;
  }
  const app = APP_LOGS[e.kind];
  if (app) {
    const c = conn(e, d);
    if (!c) return;
    facts.edges.push({
      src: c.src,
      dst: c.dst,
      dstPort: c.port,
      transport: c.transport,
      app,
      connections: 0,
      packets: 0,
      bytes: 0,
      observations: 1,
      time: t,
    });
    const proto = `${app}/${c.transport}/${c.port}`;
    addAttribute(facts, c.dst, 'protocol_served', proto, 'zeek', e.kind, 0.9, t);
    addAttribute(facts, c.src, 'protocol_used', proto, 'zeek', e.kind, 0.9, t);
    if (app === 'tls') {
      addAttribute(facts, c.dst, 'tls_server_name', d.server_name, 'zeek', 'zeek.ssl SNI', 0.6, t);
      addAttribute(facts, c.src, 'tls_ja3', d.ja3, 'zeek', 'zeek.ssl JA3', 0.7, t);
    } else if (app === 'http') {
      addAttribute(facts, c.src, 'user_agent', d.user_agent, 'zeek', 'zeek.http User-Agent', 0.7, t);
      addAttribute(facts, c.dst, 'software', d.server, 'zeek', 'zeek.http Server', 0.6, t);
    } else if (app === 'ssh') {
      addAttribute(facts, c.dst, 'ssh_banner', d.server, 'zeek', 'zeek.ssh server banner', 0.8, t);
      addAttribute(facts, c.src, 'ssh_banner', d.client, 'zeek', 'zeek.ssh client banner', 0.8, t);
    } else if (app === 'dns') dnsAnswers(facts, d, t);
    return;
  }
  switch (e.kind) {
    case 'zeek.dhcp':
      dhcp(facts, d, t);
      return;
    case 'zeek.software': {
      const host = canonicalIp(d.host);
      if (!host) return;
      addAttribute(facts, { ip: host }, 'software', softwareValue(d), 'zeek', 'zeek.software', 0.7, t);
      addAttribute(facts, { ip: host }, 'software_type', d.software_type, 'zeek', 'zeek.software', 0.7, t);
      return;
    }
    case 'zeek.known_services': {
      const host = canonicalIp(d.host);
      const port = num(d.port_num);
      if (!host || !port) return;
      const transport = cleanText(d.port_proto, 8)?.toLowerCase() ?? 'tcp';
      const services = list(d.service).map(appName).filter(Boolean);
      for (const s of services.length ? services : [''])
        addAttribute(
          facts,
          { ip: host },
          'protocol_served',
          `${s ? `${s}/` : ''}${transport}/${port}`,
          'zeek',
          'zeek.known_services',
          0.9,
          t,
        );
      return;
    }
    case 'zeek.known_hosts': {
      const host = canonicalIp(d.host);
      if (host) addAttribute(facts, { ip: host }, 'ip', host, 'zeek', 'zeek.known_hosts', 0.9, t);
      return;
    }
    default:
      return;
  }
}

/** A/AAAA and PTR answers name internal addresses (public ones are not devices of ours). */
function dnsAnswers(facts: Facts, d: Data, t: string): void {
  const query = cleanText(d.query, 253)?.toLowerCase();
  if (!query) return;
  const qtype = cleanText(d.qtype_name, 8);
  const answers = list(d.answers).slice(0, 16);
  if (qtype === 'A' || qtype === 'AAAA') {
    for (const a of answers) {
      const ip = canonicalIp(a);
      if (ip && !isPublicIp(ip))
        addAttribute(facts, { ip }, 'hostname', query, 'zeek', 'zeek.dns A/AAAA answer', 0.5, t);
    }
  } else if (qtype === 'PTR') {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(query);
    const ip = m ? canonicalIp(`${m[4]}.${m[3]}.${m[2]}.${m[1]}`) : undefined;
    const name = cleanText(answers[0], 253)?.toLowerCase();
    if (ip && name && !isPublicIp(ip))
      addAttribute(facts, { ip }, 'hostname', name, 'zeek', 'zeek.dns PTR answer', 0.6, t);
  }
}

function dhcp(facts: Facts, d: Data, t: string): void {
  const mac = canonicalMac(d.mac);
  const ip = canonicalIp(d.assigned_addr) ?? canonicalIp(d.client_addr);
  if (!ip) return;
  const who: Endpoint = mac ? { ip, mac } : { ip };
  if (mac) facts.bindings.push({ ip, mac, time: t, dhcp: canonicalIp(d.assigned_addr) !== undefined });
  addAttribute(facts, who, 'hostname', d.host_name, 'zeek', 'zeek.dhcp option 12', 0.9, t);
  addAttribute(facts, who, 'hostname', d.client_fqdn, 'zeek', 'zeek.dhcp option 81', 0.85, t);
  addAttribute(facts, who, 'dhcp_vendor_class', d.client_software, 'zeek', 'zeek.dhcp option 60', 0.8, t);
  const server = canonicalIp(d.server_addr);
  if (server)
    addAttribute(facts, { ip: server }, 'protocol_served', 'dhcp/udp/67', 'zeek', 'zeek.dhcp', 0.9, t);
}
