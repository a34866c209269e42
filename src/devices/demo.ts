/**
 * @module devices/demo
 * The demo hospital's network, as the sensor would have seen it: a few hundred devices (imaging
 * modalities and a PACS speaking DICOM, patient monitors, infusion pumps and lab analysers
 * reporting over HL7 through an interface engine, workstations and servers on DHCP, DNS and TLS,
 * routers), fed through the same ingest as real traffic so every attribute has its evidence.
 * Seeded, so the demo is the same every time.
 */
import { type EventInput, makeEvent, type Rng, type VigilEvent } from '../core/index.js';
import type { Devices } from './devices.js';
import { stableId } from './values.js';

const MODALITIES = [
  { mod: 'CT', maker: 'SIEMENS', model: 'SOMATOM Definition AS', sw: 'syngo CT VA48A' },
  { mod: 'MR', maker: 'GE MEDICAL SYSTEMS', model: 'SIGNA Artist', sw: '29.1' },
  { mod: 'US', maker: 'Philips', model: 'EPIQ 7G', sw: '7.0.5' },
  { mod: 'CR', maker: 'FUJIFILM Corporation', model: 'FCR PROFECT CS', sw: 'A07-11' },
  { mod: 'DX', maker: 'Carestream Health', model: 'DRX-Evolution', sw: '5.7' },
  { mod: 'MG', maker: 'HOLOGIC, Inc.', model: 'Selenia Dimensions', sw: '1.11' },
  { mod: 'NM', maker: 'SIEMENS', model: 'Symbia Intevo', sw: 'VB22' },
] as const;

/** Builds the demo hospital's events and feeds them to the inventory; returns a summary. */
export async function devicesDemoSeed(
  devices: Devices,
  rng: Rng,
  progress: (done: number, total: number) => void,
  now: Date,
): Promise<string> {
  const events: VigilEvent[] = [];
  let seq = 0;
  const base = now.getTime() - 86_400_000;
  const t = () => new Date(base + rng.int(86_000_000));
  const add = (input: EventInput) =>
    events.push(makeEvent({ ...input, id: stableId('demo_', String(seq++)) }));
  const mac = (prefix: string, n: number) =>
    `${prefix}:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
  const flow = (src: string, srcMac: string | undefined, dst: string, port: number, app: string | null) =>
    add({
      kind: 'net.flow',
      source: 'sensor',
      time: t(),
      device: srcMac ? { ip: src, mac: srcMac } : { ip: src },
      net: { srcIp: src, srcPort: 49152 + rng.int(16000), dstIp: dst, dstPort: port, proto: 'tcp' },
      data: {
        transport: 'tcp',
        app,
        packetsToServer: 5 + rng.int(400),
        packetsToClient: 5 + rng.int(300),
        bytesToServer: 400 + rng.int(4_000_000),
        bytesToClient: 300 + rng.int(200_000),
        sawSyn: true,
        end: 'fin',
      },
    });

  const pacs = { ip: '10.20.0.10', mac: '98:e7:43:00:00:10', ae: 'PACS_ARCHIVE' };
  const engine = { ip: '10.10.0.20', mac: '98:e7:43:00:00:20' };
  const ehr = '10.10.0.30';
  // Imaging: 40 modalities sending to the PACS.
  for (let i = 0; i < 40; i++) {
    const m = MODALITIES[i % MODALITIES.length]!;
    const ip = `10.20.1.${10 + i}`;
    const hw = mac('00:1b:21', 0x100 + i);
    const ae = `${m.mod}${String(i + 1).padStart(2, '0')}_${rng.pick(['MAIN', 'ER', 'ONC', 'ORTHO'])}`;
    add({
      kind: 'net.dicom.association',
      source: 'sensor',
      time: t(),
      device: { ip, mac: hw },
      net: { srcIp: ip, srcPort: 40000 + i, dstIp: pacs.ip, dstPort: 104, proto: 'tcp' },
      data: {
        result: 'accepted',
        callingAe: ae,
        calledAe: pacs.ae,
        client: {
          implementationClassUid: '1.3.12.2.1107.5.2',
          implementationVersionName: `${m.maker.slice(0, 8)}_${m.sw.slice(0, 6)}`,
        },
        server: { implementationClassUid: '1.2.40.0.13.1.1', implementationVersionName: 'dcm4che-5.31.0' },
        accepted: [{ abstractSyntax: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1' }],
      },
    });
    add({
      kind: 'net.dicom.command',
      source: 'sensor',
      time: t(),
      device: { ip, mac: hw },
      net: { srcIp: ip, srcPort: 40000 + i, dstIp: pacs.ip, dstPort: 104, proto: 'tcp' },
      data: {
        command: 'C-STORE-RQ',
        callingAe: ae,
        calledAe: pacs.ae,
        equipment: {
          modality: m.mod,
          manufacturer: m.maker,
          modelName: m.model,
          softwareVersions: m.sw,
          deviceSerialNumber: `SN${100000 + i}`,
          stationName: ae,
        },
        carriesPatientData: true,
      },
    });
    flow(ip, hw, pacs.ip, 104, 'dicom');
  }
  // Monitors (Philips MACs) to the central station, pumps (Baxter) and analysers over HL7.
  const hl7 = (ip: string, hw: string, app: string, code: string) =>
    add({
      kind: 'net.hl7.message',
      source: 'sensor',
      time: t(),
      device: { ip, mac: hw },
      net: { srcIp: ip, srcPort: 30000 + rng.int(9999), dstIp: engine.ip, dstPort: 2575, proto: 'tcp' },
      data: {
        sendingApplication: app,
        sendingFacility: rng.pick(['ICU', 'ED', 'WARD4', 'LAB']),
        receivingApplication: 'MIRTH',
        receivingFacility: 'HOSP',
        messageType: { code, trigger: 'R01', structure: `${code}_R01` },
        equipment: [],
        carriesPatientData: true,
      },
    });
  for (let i = 0; i < 120; i++)
    hl7(`10.30.${1 + (i >> 6)}.${10 + (i & 63)}`, mac('00:09:fb', i), 'INTELLIVUE_MX800', 'ORU');
  for (let i = 0; i < 80; i++) hl7(`10.31.1.${10 + i}`, mac('58:46:e1', i), 'SIGMA_SPECTRUM', 'ORU');
  for (let i = 0; i < 12; i++)
    hl7(
      `10.40.1.${10 + i}`,
      mac('00:1b:21', 0x400 + i),
      rng.pick(['COBAS_PRO', 'SYSMEX_XN', 'ARCHITECT']),
      'OUL',
    );
  for (let i = 0; i < 30; i++)
    add({
      kind: 'net.hl7.message',
      source: 'sensor',
      time: t(),
      device: { ip: engine.ip, mac: engine.mac },
      net: { srcIp: engine.ip, srcPort: 41000 + i, dstIp: ehr, dstPort: 6661, proto: 'tcp' },
      data: {
        sendingApplication: 'MIRTH',
        sendingFacility: 'HOSP',
        receivingApplication: 'EPIC',
        messageType: { code: 'ORU', trigger: 'R01' },
      },
    });
  // Workstations on DHCP, browsing the EHR over TLS; a DNS server; core routers.
  for (let i = 0; i < 60; i++) {
    const ip = `10.50.${1 + (i >> 5)}.${20 + (i & 31)}`;
    const hw = mac('c8:f7:50', i);
    add({
      kind: 'zeek.dhcp',
      source: 'zeek',
      time: t(),
      data: {
        mac: hw,
        assigned_addr: ip,
        host_name: `ws-${String(i + 1).padStart(3, '0')}`,
        server_addr: '10.0.0.2',
      },
    });
    add({
      kind: 'zeek.software',
      source: 'zeek',
      time: t(),
      data: { host: ip, software_type: 'HTTP::BROWSER', name: 'Edge', 'version.major': 120 },
    });
    add({
      kind: 'zeek.ssl',
      source: 'zeek',
      time: t(),
      net: { srcIp: ip, dstIp: ehr },
      data: {
        'id.orig_h': ip,
        'id.orig_p': 50000 + i,
        'id.resp_h': ehr,
        'id.resp_p': 443,
        server_name: 'ehr.hospital.local',
      },
    });
    add({
      kind: 'zeek.dns',
      source: 'zeek',
      time: t(),
      data: {
        'id.orig_h': ip,
        'id.orig_p': 53000 + i,
        'id.resp_h': '10.0.0.53',
        'id.resp_p': 53,
        proto: 'udp',
        query: 'ehr.hospital.local',
        qtype_name: 'A',
        answers: [ehr],
      },
    });
  }
  for (const [ip, svc, port] of [
    [ehr, 'ssl', 443],
    ['10.0.0.53', 'dns', 53],
    ['10.0.0.2', 'dhcp', 67],
  ] as const)
    add({
      kind: 'zeek.known_services',
      source: 'zeek',
      time: t(),
      data: { host: ip, port_num: port, port_proto: port === 443 ? 'tcp' : 'udp', service: [svc] },
    });
  for (let r = 0; r < 4; r++)
    for (let i = 0; i < 6; i++) flow(`10.60.${r}.${10 + i}`, mac('00:00:0c', r), '10.0.0.53', 53, null);
  // One monitor reaching the internet: the demo's finding.
  flow('10.30.1.10', mac('00:09:fb', 0), '203.0.114.7', 443, null);

  const batch = 256;
  for (let i = 0; i < events.length; i += batch) {
    await devices.ingest.apply(events.slice(i, i + batch));
    progress(Math.min(i + batch, events.length), events.length);
  }
  const list = await devices.queries.list({ limit: 1 });
  const byType = Object.entries(list.counts.byType)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `${list.total} devices (${byType})`;
}
