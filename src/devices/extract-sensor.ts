/**
 * @module devices/extract-sensor
 * Facts from the sensor's own events (`net.flow`, `net.dicom.association`, `net.dicom.command`,
 * `net.hl7.message`, `net.tls.handshake`, `net.http.*`, `net.dhcp`, `net.dns`,
 * `net.ws-discovery`, `net.intellivue`). Only equipment identity is read: patient references in
 * these events are never copied, and free text is cleaned before it is kept.
 */
import type { VigilEvent } from '../core/index.js';
import type { AttributeName, Endpoint, Facts } from './facts.js';
import { canonicalIp, canonicalMac, cleanText, isPublicIp } from './values.js';

const STORAGE_PREFIX = '1.2.840.10008.5.1.4.1.1.';

type Data = Record<string, unknown>;

const obj = (v: unknown): Data => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Data) : {});
const int = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;

/** The two ends of an event's connection, with the MAC the sensor saw for the sender. */
export function endsOf(
  e: VigilEvent,
): { src: Endpoint; dst: Endpoint; srcPort: number; dstPort: number } | null {
  const srcIp = canonicalIp(e.net?.srcIp);
  const dstIp = canonicalIp(e.net?.dstIp);
  if (!srcIp || !dstIp) return null;
  const src: Endpoint = { ip: srcIp };
  const mac = canonicalMac(e.device?.mac);
  if (mac && canonicalIp(e.device?.ip) === srcIp) src.mac = mac;
  return { src, dst: { ip: dstIp }, srcPort: e.net?.srcPort ?? 0, dstPort: e.net?.dstPort ?? 0 };
}

/** Adds an attribute fact when the value survives cleaning. */
export function addAttribute(
  facts: Facts,
  who: Endpoint,
  name: AttributeName,
  raw: unknown,
  source: string,
  evidence: string,
  confidence: number,
  time: string,
): void {
  const value = cleanText(raw);
  if (value) facts.attributes.push({ who, name, value, source, evidence, confidence, time });
}

function flow(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends) return;
  const transport = d.transport === 'udp' ? 'udp' : 'tcp';
  const app = cleanText(d.app, 32)?.toLowerCase() ?? '';
  const packets = transport === 'tcp' ? int(d.packetsToServer) + int(d.packetsToClient) : int(d.packets);
  const bytes = transport === 'tcp' ? int(d.bytesToServer) + int(d.bytesToClient) : int(d.bytes);
  facts.edges.push({
    src: ends.src,
    dst: ends.dst,
    dstPort: ends.dstPort,
    transport,
    app,
    connections: 1,
    packets,
    bytes,
    observations: 0,
    time: e.time,
    identified: app !== '',
  });
  // Who serves: a TCP connection whose SYN was seen, or a UDP service on a well-known port.
  const served =
    transport === 'tcp' ? d.sawSyn === true || app !== '' : ends.dstPort > 0 && ends.dstPort < 1024;
  if (served && ends.dstPort > 0) {
    const proto = `${app ? `${app}/` : ''}${transport}/${ends.dstPort}`;
    addAttribute(facts, ends.dst, 'protocol_served', proto, 'sensor', 'net.flow', 0.8, e.time);
    addAttribute(facts, ends.src, 'protocol_used', proto, 'sensor', 'net.flow', 0.8, e.time);
  }
}

function association(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends) return;
  const { src, dst, dstPort } = ends;
  const t = e.time;
  const accepted = d.result === 'accepted';
  const ev = `net.dicom.association ${accepted ? 'A-ASSOCIATE-RQ/AC' : String(d.result ?? '')}`.trim();
  const callingAe = cleanText(d.callingAe, 16);
  const calledAe = cleanText(d.calledAe, 16);
  addAttribute(facts, src, 'ae_title', callingAe, 'sensor', `${ev} calling AE`, 0.95, t);
  addAttribute(facts, src, 'dicom_role', 'scu', 'sensor', ev, 0.95, t);
  const client = obj(d.client);
  addAttribute(
    facts,
    src,
    'dicom_implementation_class_uid',
    client.implementationClassUid,
    'sensor',
    `${ev} (A-ASSOCIATE-RQ)`,
    0.95,
    t,
  );
  addAttribute(
    facts,
    src,
    'dicom_implementation_version',
    client.implementationVersionName,
    'sensor',
    `${ev} (A-ASSOCIATE-RQ)`,
    0.95,
    t,
  );
  addAttribute(facts, src, 'protocol_used', `dicom/tcp/${dstPort}`, 'sensor', ev, 0.95, t);
  // The called AE is the server's own only when it accepted the association.
  addAttribute(facts, dst, 'ae_title', calledAe, 'sensor', `${ev} called AE`, accepted ? 0.95 : 0.4, t);
  addAttribute(facts, dst, 'dicom_role', 'scp', 'sensor', ev, 0.95, t);
  const server = obj(d.server);
  addAttribute(
    facts,
    dst,
    'dicom_implementation_class_uid',
    server.implementationClassUid,
    'sensor',
    `${ev} (A-ASSOCIATE-AC)`,
    0.95,
    t,
  );
  addAttribute(
    facts,
    dst,
    'dicom_implementation_version',
    server.implementationVersionName,
    'sensor',
    `${ev} (A-ASSOCIATE-AC)`,
    0.95,
    t,
  );
  addAttribute(facts, dst, 'protocol_served', `dicom/tcp/${dstPort}`, 'sensor', ev, 0.95, t);
  if (accepted && callingAe) addAttribute(facts, dst, 'dicom_peer_scu', callingAe, 'sensor', ev, 0.9, t);
  const storage = Array.isArray(d.accepted)
    ? d.accepted.some((a) => String(obj(a).abstractSyntax ?? '').startsWith(STORAGE_PREFIX))
    : false;
  if (accepted && storage)
    addAttribute(
      facts,
      dst,
      'dicom_storage_scp',
      'yes',
      'sensor',
      `${ev}: storage SOP classes accepted`,
      0.9,
      t,
    );
  facts.edges.push({
    src,
    dst,
    dstPort,
    transport: 'tcp',
    app: 'dicom',
    connections: 0,
    packets: 0,
    bytes: 0,
    observations: 1,
    time: t,
    identified: true,
  });
  if (callingAe)
    facts.associations.push({
      callingAe,
      calledAe: calledAe ?? '',
      src,
      dst,
      dstPort,
      time: t,
      evidence: {
        eventId: e.id,
        kind: e.kind,
        result: cleanText(d.result, 16) ?? null,
        callingAe,
        calledAe: calledAe ?? null,
        srcIp: src.ip,
        dstIp: dst.ip,
        dstPort,
        implementationClassUid: cleanText(client.implementationClassUid, 64) ?? null,
        implementationVersionName: cleanText(client.implementationVersionName, 16) ?? null,
      },
    });
}

const EQUIPMENT: Array<[string, AttributeName]> = [
  ['manufacturer', 'manufacturer'],
  ['modelName', 'model'],
  ['softwareVersions', 'software_version'],
  ['deviceSerialNumber', 'serial_number'],
  ['modality', 'modality'],
  ['stationName', 'station_name'],
];

function command(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends) return;
  const cmd = cleanText(d.command, 32) ?? '';
  const equipment = obj(d.equipment);
  // Equipment tags describe the device that made the images; a forwarding archive resends others'.
  for (const [field, name] of EQUIPMENT)
    addAttribute(
      facts,
      ends.src,
      name,
      equipment[field],
      'sensor',
      `net.dicom.command ${cmd} dataset`,
      0.8,
      e.time,
    );
  if (d.carriesPatientData === true) {
    addAttribute(
      facts,
      ends.src,
      'patient_data_sent',
      'dicom',
      'sensor',
      `net.dicom.command ${cmd}`,
      0.9,
      e.time,
    );
    facts.cleartext.push({
      src: ends.src,
      dst: ends.dst,
      dstPort: ends.dstPort,
      app: 'dicom',
      time: e.time,
      evidence: {
        eventId: e.id,
        kind: e.kind,
        command: cmd,
        affectedSopClassUid: cleanText(d.affectedSopClassUid, 64) ?? null,
        callingAe: cleanText(d.callingAe, 16) ?? null,
        calledAe: cleanText(d.calledAe, 16) ?? null,
        srcIp: ends.src.ip,
        dstIp: ends.dst.ip,
        dstPort: ends.dstPort,
        tls: false,
      },
    });
  }
}

function hl7(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends) return;
  const type = obj(d.messageType);
  const msg = [cleanText(type.code, 8), cleanText(type.trigger, 8)].filter(Boolean).join('^');
  const ev = `net.hl7.message MSH${msg ? ` ${msg}` : ''}`;
  const t = e.time;
  addAttribute(
    facts,
    ends.src,
    'hl7_sending_application',
    d.sendingApplication,
    'sensor',
    `${ev} MSH-3`,
    0.9,
    t,
  );
  addAttribute(facts, ends.src, 'hl7_sending_facility', d.sendingFacility, 'sensor', `${ev} MSH-4`, 0.9, t);
  addAttribute(
    facts,
    ends.dst,
    'hl7_receiving_application',
    d.receivingApplication,
    'sensor',
    `${ev} MSH-5`,
    0.7,
    t,
  );
  addAttribute(
    facts,
    ends.dst,
    'hl7_receiving_facility',
    d.receivingFacility,
    'sensor',
    `${ev} MSH-6`,
    0.7,
    t,
  );
  addAttribute(facts, ends.src, 'hl7_peer', ends.dst.ip, 'sensor', ev, 0.9, t);
  addAttribute(facts, ends.dst, 'hl7_peer', ends.src.ip, 'sensor', ev, 0.9, t);
  if (Array.isArray(d.equipment))
    for (const eq of d.equipment.slice(0, 8))
      addAttribute(facts, ends.src, 'hl7_equipment', eq, 'sensor', `${ev} OBX-18`, 0.7, t);
  if (d.carriesPatientData === true) {
    addAttribute(facts, ends.src, 'patient_data_sent', 'hl7', 'sensor', ev, 0.9, t);
    facts.cleartext.push({
      src: ends.src,
      dst: ends.dst,
      dstPort: ends.dstPort,
      app: 'hl7',
      time: t,
      evidence: {
        eventId: e.id,
        kind: e.kind,
        messageType: msg || null,
        sendingApplication: cleanText(d.sendingApplication, 64) ?? null,
        receivingApplication: cleanText(d.receivingApplication, 64) ?? null,
        srcIp: ends.src.ip,
        dstIp: ends.dst.ip,
        dstPort: ends.dstPort,
        tls: false,
      },
    });
  }
}

function appEdge(facts: Facts, e: VigilEvent, app: string, transport: 'tcp' | 'udp'): void {
  const ends = endsOf(e);
  if (!ends || ends.dstPort <= 0) return;
  facts.edges.push({
    src: ends.src,
    dst: ends.dst,
    dstPort: ends.dstPort,
    transport,
    app,
    connections: 0,
    packets: 0,
    bytes: 0,
    observations: 1,
    time: e.time,
  });
  const proto = `${app}/${transport}/${ends.dstPort}`;
  addAttribute(facts, ends.dst, 'protocol_served', proto, 'sensor', e.kind, 0.9, e.time);
  addAttribute(facts, ends.src, 'protocol_used', proto, 'sensor', e.kind, 0.9, e.time);
}

function tls(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends) return;
  const t = e.time;
  appEdge(facts, e, 'tls', 'tcp');
  addAttribute(facts, ends.dst, 'tls_server_name', d.serverName, 'sensor', `${e.kind} SNI`, 0.6, t);
  addAttribute(facts, ends.src, 'tls_ja3', d.ja3, 'sensor', `${e.kind} JA3`, 0.7, t);
  addAttribute(facts, ends.src, 'tls_ja4', d.ja4, 'sensor', `${e.kind} JA4`, 0.7, t);
  addAttribute(facts, ends.dst, 'tls_ja3s', d.ja3s, 'sensor', `${e.kind} JA3S`, 0.6, t);
  const cert = obj(d.certificate);
  const subject = [cleanText(cert.subjectCn, 128), cleanText(cert.subjectO, 128)].filter(Boolean).join(', ');
  addAttribute(
    facts,
    ends.dst,
    'tls_certificate',
    subject,
    'sensor',
    `${e.kind} certificate subject`,
    0.7,
    t,
  );
}

function http(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends) return;
  const t = e.time;
  if (e.kind === 'net.http.request') {
    appEdge(facts, e, 'http', 'tcp');
    addAttribute(facts, ends.src, 'user_agent', d.userAgent, 'sensor', `${e.kind} User-Agent`, 0.7, t);
    // The Host header names the server as the client knows it (an address is no name).
    const host = cleanText(d.host, 253)?.replace(/:\d+$/, '').toLowerCase();
    if (host && !canonicalIp(host.replace(/^\[|\]$/g, '')))
      addAttribute(facts, ends.dst, 'hostname', host, 'sensor', `${e.kind} Host`, 0.4, t);
  } else addAttribute(facts, ends.src, 'software', d.server, 'sensor', `${e.kind} Server`, 0.6, t);
}

function dhcp(facts: Facts, e: VigilEvent, d: Data): void {
  const mac = canonicalMac(d.clientMac);
  const ip = canonicalIp(d.yourIp) ?? canonicalIp(d.clientIp) ?? canonicalIp(d.requestedIp);
  const t = e.time;
  const type = cleanText(d.messageType, 16) ?? '';
  if (mac && ip && type === 'ack') facts.bindings.push({ ip, mac, time: t, dhcp: true });
  if (!ip) return;
  const who: Endpoint = mac ? { ip, mac } : { ip };
  const ev = `net.dhcp ${type}`.trim();
  if (d.op === 1) {
    addAttribute(facts, who, 'hostname', d.hostname, 'sensor', `${ev} option 12`, 0.9, t);
    addAttribute(facts, who, 'hostname', d.fqdn, 'sensor', `${ev} option 81`, 0.85, t);
    addAttribute(facts, who, 'dhcp_vendor_class', d.vendorClass, 'sensor', `${ev} option 60`, 0.8, t);
    addAttribute(facts, who, 'dhcp_fingerprint', d.fingerprint, 'sensor', `${ev} option 55`, 0.8, t);
    addAttribute(facts, who, 'dhcp_client_id', d.clientId, 'sensor', `${ev} option 61`, 0.8, t);
  }
  const server = canonicalIp(d.serverId);
  if (server && d.op === 2)
    addAttribute(facts, { ip: server }, 'protocol_served', 'dhcp/udp/67', 'sensor', ev, 0.9, t);
}

function dns(facts: Facts, e: VigilEvent, d: Data): void {
  if (d.response !== true || !Array.isArray(d.answers)) return;
  const t = e.time;
  const sender = canonicalIp(e.net?.srcIp);
  const mdns = d.protocol === 'mdns';
  for (const raw of d.answers.slice(0, 16)) {
    const a = obj(raw);
    const name = cleanText(a.name, 253)?.toLowerCase();
    if (!name) continue;
    if (a.type === 'A' || a.type === 'AAAA') {
      const ip = canonicalIp(a.data);
      if (!ip || isPublicIp(ip)) continue;
      // A multicast DNS host announcing its own name is better evidence than a resolver's answer.
      const own = mdns && ip === sender;
      addAttribute(
        facts,
        { ip },
        'hostname',
        name,
        'sensor',
        `net.dns ${own ? 'mDNS' : 'A/AAAA'} answer`,
        own ? 0.8 : 0.5,
        t,
      );
    } else if (a.type === 'PTR') {
      const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
      const ip = m ? canonicalIp(`${m[4]}.${m[3]}.${m[2]}.${m[1]}`) : undefined;
      const target = cleanText(a.data, 253)?.toLowerCase();
      if (ip && target && !isPublicIp(ip))
        addAttribute(facts, { ip }, 'hostname', target, 'sensor', 'net.dns PTR answer', 0.6, t);
    }
  }
}

function wsDiscovery(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends || !Array.isArray(d.endpoints)) return;
  const action = cleanText(d.action, 16) ?? '';
  // Hello, Bye and the matches describe the sender; a Probe only says what the sender looks for.
  if (action === 'probe' || action === 'resolve') return;
  const t = e.time;
  const ev = `net.ws-discovery ${action}`;
  for (const raw of d.endpoints.slice(0, 4)) {
    const ep = obj(raw);
    addAttribute(facts, ends.src, 'sdc_endpoint', ep.address, 'sensor', `${ev} EndpointReference`, 0.9, t);
    for (const x of Array.isArray(ep.types) ? ep.types.slice(0, 8) : [])
      addAttribute(facts, ends.src, 'sdc_type', x, 'sensor', `${ev} Types`, 0.9, t);
    for (const x of Array.isArray(ep.scopes) ? ep.scopes.slice(0, 16) : [])
      addAttribute(facts, ends.src, 'sdc_scope', x, 'sensor', `${ev} Scopes`, 0.9, t);
    for (const x of Array.isArray(ep.xaddrs) ? ep.xaddrs.slice(0, 4) : [])
      addAttribute(facts, ends.src, 'sdc_xaddr', x, 'sensor', `${ev} XAddrs`, 0.9, t);
  }
  if (d.medical === true)
    addAttribute(facts, ends.src, 'protocol_served', 'sdc/udp/3702', 'sensor', `${ev} MedicalDevice`, 0.9, t);
}

const INTELLIVUE: Array<[string, AttributeName]> = [
  ['manufacturer', 'manufacturer'],
  ['model', 'model'],
  ['serialNumber', 'serial_number'],
  ['softwareRevision', 'software_version'],
];

function intellivue(facts: Facts, e: VigilEvent, d: Data): void {
  const ends = endsOf(e);
  if (!ends) return;
  const t = e.time;
  const message = cleanText(d.message, 32) ?? '';
  const ev = `net.intellivue ${message}`;
  // Connect indications and MDS create reports come from the monitor; association requests and
  // data export polls go to it on port 24105.
  const monitor = message === 'connect-indication' || message === 'mds-create' || ends.srcPort === 24105;
  const who = monitor ? ends.src : ends.dst;
  for (const [field, name] of INTELLIVUE) addAttribute(facts, who, name, d[field], 'sensor', ev, 0.9, t);
  addAttribute(facts, who, 'protocol_served', 'intellivue/udp/24105', 'sensor', ev, 0.9, t);
  if (!monitor) addAttribute(facts, ends.src, 'protocol_used', 'intellivue/udp/24105', 'sensor', ev, 0.9, t);
}

/** Adds what one sensor event (`net.*`) shows to `facts`. Unknown kinds add nothing. */
export function extractSensor(facts: Facts, e: VigilEvent): void {
  const d = obj(e.data);
  const ip = canonicalIp(e.device?.ip);
  const mac = canonicalMac(e.device?.mac);
  if (ip && mac) facts.bindings.push({ ip, mac, time: e.time, dhcp: false });
  if (ip && typeof d.vlan === 'number' && Number.isInteger(d.vlan))
    addAttribute(
      facts,
      mac ? { ip, mac } : { ip },
      'vlan',
      d.vlan,
      'sensor',
      `${e.kind} 802.1Q tag`,
      0.9,
      e.time,
    );
  const handler = SENSOR_KINDS[e.kind];
  if (handler) handler(facts, e, d);
}

const SENSOR_KINDS: Record<string, (facts: Facts, e: VigilEvent, d: Data) => void> = {
  'net.flow': flow,
  'net.dicom.association': association,
  'net.dicom.command': command,
  'net.hl7.message': hl7,
  'net.tls.handshake': tls,
  'net.http.request': http,
  'net.http.response': http,
  'net.dhcp': dhcp,
  'net.dns': dns,
  'net.ws-discovery': wsDiscovery,
  'net.intellivue': intellivue,
};
