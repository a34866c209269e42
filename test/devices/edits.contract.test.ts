/**
 * Hand edits, the CMMS CSV import and export, the inventory's vendor/VLAN/subnet filters and the
 * communication map on every engine, from synthetic events through the bus: an edit wins over
 * detection and survives new evidence for the device, clearing it returns to detection, a CSV
 * import with one bad row writes nothing, and the map sums edges per pair over a period, groups
 * public addresses and keeps to its bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type VigilEvent } from '../../src/core/index.js';
import { testDatabases } from '../support/databases.js';
import { type Inventory, openInventory } from './fixture.js';

const at = (hour: number, min = 0) => new Date(Date.UTC(2026, 4, 4, hour, min)).toISOString();

function flow(src: string, dst: string, port: number, time: string, mac?: string, app = ''): VigilEvent {
  return makeEvent({
    kind: 'net.flow',
    source: 'sensor',
    time,
    device: mac ? { ip: src, mac } : { ip: src },
    net: { srcIp: src, srcPort: 50000, dstIp: dst, dstPort: port, proto: 'tcp' },
    data: {
      transport: 'tcp',
      app: app || null,
      packetsToServer: 3,
      packetsToClient: 2,
      bytesToServer: 300,
      bytesToClient: 200,
      // The flows given without a MAC go to public addresses: seen mid-connection (no SYN) they
      // stay external (a public server seen accepting a SYN becomes a device: it serves).
      sawSyn: Boolean(mac),
      vlan: 30,
    },
  });
}

/** A DICOM association: the caller gets an AE title, the called end serves DICOM. */
function association(src: string, dst: string, time: string, calling: string, called: string): VigilEvent {
  return makeEvent({
    kind: 'net.dicom.association',
    source: 'sensor',
    time,
    device: { ip: src },
    net: { srcIp: src, srcPort: 40000, dstIp: dst, dstPort: 104, proto: 'tcp' },
    data: {
      pdu: 'A-ASSOCIATE-RQ',
      callingAe: calling,
      calledAe: called,
      accepted: true,
      presentationContexts: [],
    },
  });
}

for (const engine of testDatabases()) {
  describe(`device edits and map on ${engine.name}`, () => {
    let inv: Inventory;
    beforeAll(async () => {
      inv = await openInventory(engine);
      await inv.feed([
        flow('10.30.0.5', '10.30.0.9', 104, at(8), '00:1b:63:00:00:05', 'dicom'),
        flow('10.30.0.5', '10.30.0.9', 104, at(8, 30), '00:1b:63:00:00:05', 'dicom'),
        flow('10.30.0.6', '10.30.0.9', 2575, at(9), '00:1b:63:00:00:06', 'hl7'),
        flow('10.30.0.6', '93.184.216.34', 443, at(9)),
        flow('10.30.0.5', '93.184.216.35', 443, at(10)),
        association('10.30.0.5', '10.30.0.9', at(8), 'CT_SCANNER1', 'PACS'),
      ]);
    });
    afterAll(async () => {
      await inv.close();
      await engine.cleanup();
    });
    const q = () => inv.devices.queries;

    it('lets a hand-set type and criticality win over detection, also after new evidence', async () => {
      const d = (await q().get('10.30.0.6'))!;
      expect(d.manual).toBeNull();
      const detected = { type: d.type, criticality: d.criticality };
      await inv.devices.edits.update(
        d.id,
        { type: 'patient-monitor', owner: 'ICU', notes: 'bed 4\r\nnear window' },
        'bea',
      );
      let now = (await q().get(d.id))!;
      expect(now).toMatchObject({ type: 'patient-monitor', criticality: 'life-sustaining', owner: 'ICU' });
      expect(now.manual).toMatchObject({
        type: 'patient-monitor',
        criticality: null,
        notes: 'bed 4\nnear window',
      });
      expect(now.classification).toMatchObject({ rule: 'manual', detected: { type: detected.type } });
      // New traffic of the device: reclassified by the ingest, the edit holds.
      await inv.feed([flow('10.30.0.6', '10.30.0.9', 2575, at(11), '00:1b:63:00:00:06', 'hl7')]);
      now = (await q().get(d.id))!;
      expect(now).toMatchObject({
        type: 'patient-monitor',
        criticality: 'life-sustaining',
        lastSeen: at(11),
      });
      // A criticality alone, then clearing both.
      await inv.devices.edits.update(d.id, { criticality: 'clinical-support' }, 'bea');
      expect((await q().get(d.id))!.criticality).toBe('clinical-support');
      expect((await q().list({ criticality: 'clinical-support' })).devices.map((x) => x.id)).toContain(d.id);
      await inv.devices.edits.update(d.id, { type: null, criticality: '' }, 'bea');
      now = (await q().get(d.id))!;
      expect({ type: now.type, criticality: now.criticality }).toEqual(detected);
      expect(now.manual).toMatchObject({ owner: 'ICU', type: null });
      await expect(inv.devices.edits.update('dev_missing', { owner: 'x' }, 'bea')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(inv.devices.edits.update(d.id, { type: 'toaster' }, 'bea')).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
    });

    it('filters by vendor, VLAN and subnet', async () => {
      const all = await q().list();
      expect(all.total).toBe(3);
      // The sensor files a frame's VLAN tag under the sender: the two clients.
      expect((await q().list({ vlan: 30 })).devices.map((d) => d.ip).sort()).toEqual([
        '10.30.0.5',
        '10.30.0.6',
      ]);
      expect((await q().list({ vlan: 31 })).total).toBe(0);
      expect((await q().list({ subnet: '10.30.0.0/29' })).devices.map((d) => d.ip).sort()).toEqual([
        '10.30.0.5',
        '10.30.0.6',
      ]);
      expect((await q().list({ subnet: '10.0.0.0/8' })).total).toBe(3);
      const vendor = Object.keys(all.counts.byVendor)[0];
      if (vendor)
        expect((await q().list({ vendor: vendor.toLowerCase() })).total).toBe(all.counts.byVendor[vendor]);
    });

    it('imports CSV all or nothing and exports what it imports', async () => {
      const pacs = (await q().get('10.30.0.9'))!;
      const bad = 'ip,criticality,location\n10.30.0.9,patient-care,Server room\n10.30.0.5,severe,CT 1\n';
      await expect(inv.devices.edits.importCsv(bad, 'bea')).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        details: { errors: [{ row: 3, field: 'criticality', message: 'unknown criticality "severe"' }] },
      });
      // A value of the old scale names its new one.
      await expect(
        inv.devices.edits.importCsv('ip,criticality\n10.30.0.9,High\n', 'bea'),
      ).rejects.toMatchObject({
        details: {
          errors: [
            {
              row: 2,
              field: 'criticality',
              message:
                'unknown criticality "High" (now "patient-care"; the scale is life-sustaining, patient-care, clinical-support, business)',
            },
          ],
        },
      });
      expect((await q().get(pacs.id))!.manual).toBeNull();
      const good =
        'ip,criticality,location\n10.30.0.9,life-sustaining,Server room\n10.30.0.5,,"CT 1, ""east"""\n';
      expect(await inv.devices.edits.importCsv(good, 'bea')).toEqual({
        rows: 2,
        updated: 2,
        unchanged: 0,
        ignoredColumns: [],
      });
      expect(await q().get(pacs.id)).toMatchObject({
        criticality: 'life-sustaining',
        location: 'Server room',
      });
      const csv = await inv.devices.edits.exportCsv();
      expect(csv).toContain('"CT 1, ""east"""');
      expect(await inv.devices.edits.importCsv(csv, 'bea')).toMatchObject({
        rows: 3,
        updated: 0,
        unchanged: 3,
      });
    });

    it('maps the period: edges summed per pair, public addresses grouped, bounded', async () => {
      const map = await q().map(undefined, undefined, 100);
      const ext = map.nodes.find((n) => n.kind === 'external')!;
      expect(ext).toMatchObject({ addressCount: 2, connections: 2 });
      const d5 = (await q().find('10.30.0.5'))!.id;
      const d9 = (await q().find('10.30.0.9'))!.id;
      const pair = map.edges.find((e) => [e.source, e.target].sort().join() === [d5, d9].sort().join())!;
      expect(pair).toMatchObject({ connections: 2, bytes: 1000, packets: 10, observations: 1 });
      expect(pair.services[0]).toBe('dicom/tcp/104');
      // Hour 8 only: the two DICOM flows and the association.
      const eight = await q().map(new Date(at(8)), new Date(at(9)), 100);
      expect(eight.nodes.map((n) => n.id).sort()).toEqual([d5, d9].sort());
      const bounded = await q().map(undefined, undefined, 2);
      expect(bounded.nodes).toHaveLength(2);
      expect(bounded.omitted.nodes).toBe(map.nodes.length - 2);
    });
  });
}
