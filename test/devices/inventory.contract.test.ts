/**
 * The inventory on every engine, from synthetic events: DHCP moves a device's address, an
 * address known only by IP folds into its MAC's device, a router's MAC does not swallow the hosts
 * behind it, findings are raised once with evidence, hostile values are stored inert, the
 * inventory table filters, searches, sorts and pages, and redelivery changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventInput, makeEvent, type VigilEvent } from '../../src/core/index.js';
import { testDatabases } from '../support/databases.js';
import { allText, counts, type Inventory, openInventory } from './fixture.js';

const at = (min: number) => new Date(Date.UTC(2026, 4, 4, 8, min)).toISOString();
const ev = (input: EventInput) => makeEvent(input);

function dhcp(mac: string, ip: string, min: number, host: string): VigilEvent {
  return ev({
    kind: 'zeek.dhcp',
    source: 'zeek',
    time: at(min),
    data: { mac, assigned_addr: ip, host_name: host, server_addr: '10.0.0.2' },
  });
}

function flow(
  src: string,
  dst: string,
  port: number,
  min: number,
  mac?: string,
  app: string | null = null,
): VigilEvent {
  return ev({
    kind: 'net.flow',
    source: 'sensor',
    time: at(min),
    device: mac ? { ip: src, mac } : { ip: src },
    net: { srcIp: src, srcPort: 50000, dstIp: dst, dstPort: port, proto: 'tcp' },
    data: {
      transport: 'tcp',
      app,
      packetsToServer: 3,
      packetsToClient: 2,
      bytesToServer: 300,
      bytesToClient: 200,
      sawSyn: true,
      end: 'fin',
    },
  });
}

function hl7(src: string, dst: string, min: number, app: string, patient: boolean): VigilEvent {
  return ev({
    kind: 'net.hl7.message',
    source: 'sensor',
    time: at(min),
    device: { ip: src },
    net: { srcIp: src, srcPort: 40000, dstIp: dst, dstPort: 2575, proto: 'tcp' },
    ...(patient ? { patientRef: 'hmac-sha256:abcdef' } : {}),
    data: {
      sendingApplication: app,
      sendingFacility: 'ICU',
      receivingApplication: 'EHR',
      receivingFacility: 'HOSP',
      messageType: { code: 'ORU', trigger: 'R01', structure: 'ORU_R01' },
      controlId: '1',
      version: '2.5',
      equipment: [],
      patientRefs: patient ? ['hmac-sha256:abcdef'] : [],
      carriesPatientData: patient,
      segmentCount: 4,
    },
  });
}

for (const engine of testDatabases()) {
  describe(`device inventory on ${engine.name}`, () => {
    let inv: Inventory;
    beforeAll(async () => {
      inv = await openInventory(engine);
    });
    afterAll(async () => {
      await inv.close();
      await engine.cleanup();
    });

    it('follows a device through DHCP: its address moves, its history stays', async () => {
      const mac = '00:09:fb:11:22:33';
      await inv.feed([dhcp(mac, '10.1.1.5', 0, 'mon-icu-3'), flow('10.1.1.5', '10.1.9.9', 443, 1)]);
      await inv.feed([dhcp(mac, '10.1.1.9', 30, 'mon-icu-3'), flow('10.1.1.9', '10.1.9.9', 443, 31)]);
      const d = await inv.devices.queries.get(mac);
      expect(d).toMatchObject({ ip: '10.1.1.9', mac, name: 'mon-icu-3' });
      expect(d!.identity.ip!.map((a) => a.value).sort()).toEqual(['10.1.1.5', '10.1.1.9']);
      expect(d!.identity.hostname![0]).toMatchObject({ source: 'zeek', evidence: 'zeek.dhcp option 12' });
      const peers = await inv.devices.queries.peers(d!.id);
      expect(peers.filter((p) => p.direction === 'out').reduce((n, p) => n + p.connections, 0)).toBe(2);
      expect(await inv.devices.queries.find('10.1.1.5')).toBeUndefined();
    });

    it('folds a device known by IP into its MAC device when the MAC shows up', async () => {
      await inv.feed([hl7('10.2.0.7', '10.2.0.50', 0, 'PHILIPS_INTELLIVUE', false)]);
      const before = await inv.devices.queries.get('10.2.0.7');
      expect(before!.mac).toBeNull();
      await inv.feed([flow('10.2.0.7', '10.2.0.50', 2575, 5, '00:09:fb:aa:bb:cc', 'hl7')]);
      const after = await inv.devices.queries.get('10.2.0.7');
      expect(after!.mac).toBe('00:09:fb:aa:bb:cc');
      expect(after!.id).not.toBe(before!.id);
      expect(after!.identity.hl7_sending_application![0]!.value).toBe('PHILIPS_INTELLIVUE');
      expect(after!.type).toBe('patient-monitor');
      expect(after!.criticality).toBe('life-sustaining');
      expect(await inv.devices.queries.get(before!.id)).toBeUndefined();
      const server = await inv.devices.queries.get('10.2.0.50');
      expect(server!.peers.some((p) => p.peerDeviceId === after!.id)).toBe(true);
    });

    it("does not let a router's MAC swallow the hosts behind it", async () => {
      const router = '00:00:0c:07:ac:01';
      await inv.feed(
        Array.from({ length: 7 }, (_, i) => flow(`10.30.0.${i + 1}`, '10.1.9.9', 22, 40 + i, router)),
      );
      const gw = await inv.devices.queries.get(router);
      expect(gw!.identity.l3_gateway).toBeTruthy();
      expect(gw!.type).toBe('network-gear');
      const host = await inv.devices.queries.get('10.30.0.7');
      expect(host!.mac).toBeNull();
    });

    it('raises cleartext patient data and a medical device talking to a public address, once each', async () => {
      const batch = [
        hl7('10.2.0.7', '10.2.0.50', 10, 'PHILIPS_INTELLIVUE', true),
        hl7('10.2.0.7', '10.2.0.50', 11, 'PHILIPS_INTELLIVUE', true),
        flow('10.2.0.7', '8.8.8.8', 443, 12, '00:09:fb:aa:bb:cc'),
      ];
      await inv.feed(batch);
      await inv.feed([hl7('10.2.0.7', '10.2.0.50', 20, 'PHILIPS_INTELLIVUE', true)]);
      const kinds = inv.published.map((e) => e.kind);
      expect(kinds.filter((k) => k === 'devices.finding.cleartext-patient-data')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'devices.finding.medical-device-public-address')).toHaveLength(1);
      const pub = inv.published.find((e) => e.kind === 'devices.finding.medical-device-public-address')!;
      expect(pub.data!.evidence).toMatchObject({
        deviceType: 'patient-monitor',
        publicIp: '8.8.8.8',
        dstPort: 443,
      });
      const stored = await inv.devices.queries.findings({ kind: 'cleartext-patient-data' });
      expect(stored[0]!.count).toBe(3);
      expect(stored[0]!.evidence).toMatchObject({ messageType: 'ORU^R01', tls: false });
      expect(await allText(inv.db)).not.toContain('hmac-sha256');
    });

    it('stores hostile values inert and survives malformed events', async () => {
      const nasty = `EVIL\u0000AE\u001b[31m${'x'.repeat(5000)}`;
      const events = [
        ev({
          kind: 'net.dicom.association',
          source: 'sensor',
          device: { ip: '10.9.9.9', mac: 'zz:not:a:mac' },
          net: { srcIp: '10.9.9.9', srcPort: 1, dstIp: 'not-an-ip', dstPort: 104, proto: 'tcp' },
          data: { result: 'accepted', callingAe: nasty, calledAe: "'; drop table devices; --" },
        }),
        ev({
          kind: 'net.dicom.association',
          source: 'sensor',
          device: { ip: '10.9.9.9' },
          net: { srcIp: '10.9.9.9', srcPort: 1, dstIp: '10.9.9.10', dstPort: 104, proto: 'tcp' },
          data: {
            result: 'accepted',
            callingAe: nasty,
            calledAe: "'; drop table devices; --",
            client: 'not an object',
            accepted: 'nope',
          },
        }),
        ev({ kind: 'net.dicom.command', source: 'sensor', data: { equipment: null } }),
        ev({ kind: 'net.flow', source: 'sensor', net: { srcIp: '10.9.9.9' }, data: { packets: -5 } }),
        ev({ kind: 'zeek.software', source: 'zeek', data: { host: ['array'], name: { x: 1 } } }),
        ev({
          kind: 'zeek.dns',
          source: 'zeek',
          data: { 'id.orig_h': '10.9.9.9', 'id.resp_h': '10.9.9.53', query: 42 },
        }),
        ev({ kind: 'net.unknown-thing', source: 'sensor', data: {} }),
      ];
      await inv.feed(events);
      const d = await inv.devices.queries.get('10.9.9.9');
      const ae = d!.identity.ae_title!.map((a) => a.value);
      expect(ae).toHaveLength(1);
      expect(ae[0]!.startsWith('EVIL AE [31m')).toBe(true);
      expect(ae[0]!.length).toBeLessThanOrEqual(16);
      const server = await inv.devices.queries.get('10.9.9.10');
      expect(server!.identity.ae_title![0]!.value).toBe("'; drop table de"); // cut to 16 characters, inert
      expect((await inv.devices.queries.list({ limit: 1 })).total).toBeGreaterThan(5);
    });

    it('lists with filters, search over identity attributes, sort, paging and counts', async () => {
      const all = await inv.devices.queries.list({ limit: 1000 });
      expect(Object.values(all.counts.byCriticality).reduce((a, b) => a + b, 0)).toBe(all.total);
      const monitors = await inv.devices.queries.list({ type: 'patient-monitor' });
      expect(monitors.devices.map((d) => d.ip)).toContain('10.2.0.7');
      expect(monitors.devices.every((d) => d.type === 'patient-monitor')).toBe(true);
      expect((await inv.devices.queries.list({ criticality: 'life-sustaining' })).total).toBeGreaterThan(0);
      const byAe = await inv.devices.queries.list({ q: 'intellivue' });
      expect(byAe.devices.map((d) => d.ip)).toEqual(['10.2.0.7']);
      expect((await inv.devices.queries.list({ q: '%' })).total).toBe(0);
      expect((await inv.devices.queries.list({ q: "' or 1=1 --" })).total).toBe(0);
      const sorted = await inv.devices.queries.list({ sort: 'criticality', limit: 1000 });
      expect(sorted.devices[0]!.criticality).toBe('life-sustaining');
      const page1 = await inv.devices.queries.list({ sort: 'ip', limit: 2, offset: 0 });
      const page2 = await inv.devices.queries.list({ sort: 'ip', limit: 2, offset: 2 });
      expect(page1.devices).toHaveLength(2);
      expect(page2.devices[0]!.id).not.toBe(page1.devices[1]!.id);
      expect(page1.total).toBe(all.total);
    });

    it('is idempotent: the same events again change nothing', async () => {
      const events = [
        flow('10.40.0.1', '10.40.0.2', 104, 50, '00:09:fb:00:00:01', 'dicom'),
        dhcp('00:09:fb:00:00:01', '10.40.0.1', 49, 'x'),
      ];
      await inv.feed(events);
      const before = await counts(inv.db);
      const edges = await inv.devices.queries.peers((await inv.devices.queries.find('10.40.0.1'))!.id);
      const published = inv.published.length;
      await inv.feed(events);
      await inv.devices.ingest.apply(events);
      expect(await counts(inv.db)).toEqual(before);
      expect(await inv.devices.queries.peers((await inv.devices.queries.find('10.40.0.1'))!.id)).toEqual(
        edges,
      );
      expect(inv.published.length).toBe(published);
    });
  });
}
