/**
 * @module devices/extract-sensor
 * Facts from the sensor's own events (`net.flow`, `net.dicom.association`, `net.dicom.command`,
 * `net.hl7.message`). Only equipment identity is read: patient references in these events are
 * never copied, and free text is cleaned before it is kept.
 */
import type { VigilEvent } from '../core/index.js';
import type { AttributeName, Endpoint, Facts } from './facts.js';
import { canonicalIp, canonicalMac, cleanText } from './values.js';

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
};
