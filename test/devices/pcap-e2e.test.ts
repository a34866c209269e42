/**
 * The real captures (../shared/data/pcap) through the whole path: Sensor → bus → inventory. Both
 * ends of each DICOM association are devices with their AE titles and implementation names, the
 * C-STORE carries the modality and model, the findings are raised once, and no patient name or
 * identifier reaches any text column of the inventory.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import { Sensor } from '../../src/sensor/index.js';
import { testDatabases } from '../support/databases.js';
import { allText, counts, hasIeee, hasPcaps, type Inventory, openInventory, PCAP_DIR } from './fixture.js';

async function sensorEvents(file: string): Promise<VigilEvent[]> {
  const events: VigilEvent[] = [];
  const sensor = new Sensor({ patientIdKey: Buffer.alloc(32, 7), onEvent: (e) => events.push(e) });
  const data = readFileSync(`${PCAP_DIR}${file}`);
  await sensor.read(
    (async function* () {
      yield data;
    })(),
  );
  return events;
}

const values = (d: { identity: Record<string, Array<{ value: string }>> }, name: string) =>
  (d.identity[name] ?? []).map((a) => a.value);

for (const engine of testDatabases()) {
  describe.skipIf(!hasPcaps)(
    hasPcaps
      ? `pcap → sensor → bus → inventory on ${engine.name}`
      : 'pcap → inventory (skipped: ../shared/data/pcap is not beside this clone)',
    () => {
      let inv: Inventory;
      let events: VigilEvent[];
      beforeAll(async () => {
        inv = await openInventory(engine);
        events = [
          ...(await sensorEvents('dicom-echo.pcap')),
          ...(await sensorEvents('dicom-association-store.pcap')),
        ];
        await inv.feed(events);
      });
      afterAll(async () => {
        await inv.close();
        await engine.cleanup();
      });

      it('shows both ends of the C-ECHO association with AE titles and DCMTK implementation', async () => {
        const scu = await inv.devices.queries.get('00:0c:29:a2:75:26');
        const scp = await inv.devices.queries.get('8c:85:90:4e:99:23');
        expect(scu && scp).toBeTruthy();
        expect(scu!.ip).toBe('192.168.1.68');
        expect(values(scu!, 'ae_title')).toEqual(['ECHOSCU']);
        expect(values(scu!, 'dicom_implementation_class_uid')).toEqual(['1.2.276.0.7230010.3.0.3.6.2']);
        expect(values(scu!, 'dicom_implementation_version')).toEqual(['OFFIS_DCMTK_362']);
        expect(scp!.ip).toBe('192.168.1.70');
        expect(values(scp!, 'ae_title')).toEqual(['ANY-SCP']);
        expect(values(scp!, 'dicom_implementation_version')).toEqual(['OFFIS_DCMTK_362']);
        expect(scp!.protocols.served.map((p) => p.value)).toContain('dicom/tcp/4242');
        const ae = scu!.identity.ae_title![0]!;
        expect(ae.source).toBe('sensor');
        expect(ae.evidence).toMatch(/net\.dicom\.association/);
        expect(ae.confidence).toBeGreaterThan(0.9);
        expect(ae.firstSeen).toBe('2018-12-16T13:33:48.272Z');
        if (hasIeee) expect(values(scu!, 'vendor')[0]).toMatch(/VMware/i);
      });

      it('shows OsiriX → dcm4chee with implementations, and the C-STORE modality and model', async () => {
        const osirix = await inv.devices.queries.get('167.73.217.32');
        const pacs = await inv.devices.queries.get('64.186.47.79');
        expect(values(osirix!, 'ae_title')).toEqual(['OSIRIX']);
        expect(values(osirix!, 'dicom_implementation_version')).toEqual(['OFFIS_DCMTK_354']);
        expect(values(osirix!, 'dicom_implementation_class_uid')).toEqual(['1.2.276.0.7230010.3.0.3.5.4']);
        expect(values(osirix!, 'modality')).toEqual(['SC']);
        expect(values(osirix!, 'model')).toEqual(['OsiriX']);
        expect(osirix!.identity.modality![0]!.evidence).toMatch(/C-STORE-RQ/);
        expect(osirix!.type).toBe('dicom-workstation');
        expect(osirix!.criticality).toBe('patient-care'); // a DICOM workstation
        expect(values(pacs!, 'ae_title')).toEqual(['DCM4CHEE']);
        expect(values(pacs!, 'dicom_implementation_version')).toEqual(['dcm4che-1.4.22']);
        expect(values(pacs!, 'dicom_implementation_class_uid')).toEqual(['1.2.40.0.13.1.1']);
        expect(pacs!.type).toBe('pacs');
        expect(pacs!.classification.rule).toBe('dicom-archive-software');
        expect(pacs!.classification.evidence.some((e) => e.value === 'dcm4che-1.4.22')).toBe(true);
        expect(pacs!.criticality).toBe('patient-care');
        const out = osirix!.peers.find((p) => p.direction === 'out' && p.app === 'dicom');
        expect(out).toMatchObject({ peerDeviceId: pacs!.id, port: 11112, transport: 'tcp', connections: 1 });
        expect(out!.packets).toBe(38);
        expect(out!.bytes).toBe(13131 + 5144);
      });

      it('raises each finding once, as an event with its evidence', async () => {
        const kinds = inv.published.map((e) => e.kind).sort();
        expect(kinds).toContain('devices.finding.cleartext-patient-data');
        expect(kinds.filter((k) => k === 'devices.finding.new-ae-title')).toHaveLength(2); // ECHOSCU, OSIRIX
        expect(kinds).toContain('devices.finding.medical-device-public-address');
        const clear = inv.published.find((e) => e.kind === 'devices.finding.cleartext-patient-data')!;
        expect(clear.data!.evidence).toMatchObject({
          command: 'C-STORE-RQ',
          callingAe: 'OSIRIX',
          tls: false,
        });
        expect(clear.net).toMatchObject({ srcIp: '167.73.217.32', dstIp: '64.186.47.79', dstPort: 11112 });
        const stored = await inv.devices.queries.findings();
        expect(stored.map((f) => f.id).sort()).toEqual(inv.published.map((e) => e.id).sort());
      });

      it('keeps no patient name or identifier in any text column', async () => {
        const text = await allText(inv.db);
        for (const secret of ['CEREBRIX', 'XsxuId', '19350401', 'hmac-sha256'])
          expect(text).not.toContain(secret);
      });

      it('is idempotent under redelivery and a second reading of the same events', async () => {
        const before = await counts(inv.db);
        const peersBefore = (await inv.devices.queries.get('167.73.217.32'))!.peers;
        const published = inv.published.length;
        await inv.feed(events);
        await inv.feed(events.slice(0, 3));
        expect(await counts(inv.db)).toEqual(before);
        expect((await inv.devices.queries.get('167.73.217.32'))!.peers).toEqual(peersBefore);
        expect(inv.published.length).toBe(published);
      });
    },
  );
}
