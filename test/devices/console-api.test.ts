/**
 * The console's device API through the real app, on devices from the real captures: hand edits
 * (who may, bad values, unknown devices) that survive re-ingesting the same traffic, the inventory
 * filters by vendor, VLAN and subnet, the communication map over a period with its bound, and the
 * CMMS CSV export and all-or-nothing import with per-row errors.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type VigilEvent } from '../../src/core/index.js';
import { subnetPatterns } from '../../src/devices/index.js';
import { Sensor } from '../../src/sensor/index.js';
import { type ServerFixture, serverFixture } from '../support/server-fixture.js';
import { hasPcaps, PCAP_DIR } from './fixture.js';

/** Events of both captures, read by the sensor (fresh event ids on every call). */
async function captureEvents(): Promise<VigilEvent[]> {
  const events: VigilEvent[] = [];
  for (const f of ['dicom-echo.pcap', 'dicom-association-store.pcap']) {
    const sensor = new Sensor({ patientIdKey: Buffer.alloc(32, 1), onEvent: (e) => events.push(e) });
    const data = readFileSync(`${PCAP_DIR}${f}`);
    await sensor.read(
      (async function* () {
        yield data;
      })(),
    );
  }
  return events;
}

describe('subnet filter patterns', () => {
  it('widens a CIDR prefix to whole octets and refuses what is not IPv4 CIDR', () => {
    expect(subnetPatterns('10.20.0.0/16')).toEqual({ exact: [], like: ['10.20.%'] });
    expect(subnetPatterns('10.20.7.9/16')).toEqual({ exact: [], like: ['10.20.%'] });
    const quarter = subnetPatterns('192.168.1.64/26').exact;
    expect([quarter.length, quarter[0], quarter[63]]).toEqual([64, '192.168.1.64', '192.168.1.127']);
    expect(subnetPatterns('192.168.0.0/23').like).toEqual(['192.168.0.%', '192.168.1.%']);
    expect(subnetPatterns('10.0.0.0/9').like).toHaveLength(128);
    expect(subnetPatterns('192.168.1.68')).toEqual({ exact: ['192.168.1.68'], like: [] });
    expect(subnetPatterns('250.0.0.0/4').like[0]).toBe('240.%');
    for (const bad of ['10.0.0.0/33', '300.1.1.1/8', 'fe80::/10', 'ten', '10.0.0/8'])
      expect(() => subnetPatterns(bad)).toThrow(/CIDR/);
  });
});

describe.skipIf(!hasPcaps)(
  hasPcaps
    ? 'devices console API'
    : 'devices console API (skipped: ../shared/data/pcap is not beside this clone)',
  () => {
    let f: ServerFixture;
    const auth: Record<string, { authorization: string }> = {};
    beforeAll(async () => {
      f = await serverFixture();
      for (const role of ['analyst', 'biomed', 'admin', 'staff', 'clinician', 'privacy-officer'] as const) {
        const { secret } = await f.services.identity.tokens.create(`t-${role}`, role);
        auth[role] = { authorization: `Bearer ${secret}` };
      }
      await f.services.devices.ingest.apply(await captureEvents());
    });
    afterAll(() => f.close());

    const get = (url: string, role = 'biomed') => f.app.inject({ method: 'GET', url, headers: auth[role] });
    const patch = (id: string, body: unknown, role = 'biomed') =>
      f.app.inject({
        method: 'PATCH',
        url: `/api/devices/${id}`,
        headers: auth[role],
        payload: body as object,
      });
    const importCsv = (csv: string, role = 'biomed') =>
      f.app.inject({
        method: 'POST',
        url: '/api/devices/import',
        headers: { ...auth[role], 'content-type': 'text/csv' },
        payload: csv,
      });
    const device = async (ref: string) => (await get(`/api/devices/${ref}`)).json().device;

    it('lets biomed and admin edit; refuses analysts (read only) and other roles', async () => {
      const id = (await device('192.168.1.70')).id;
      for (const role of ['analyst', 'staff', 'clinician', 'privacy-officer']) {
        const res = await patch(id, { owner: 'x' }, role);
        expect(res.statusCode, role).toBe(403);
        expect(res.json().error.code).toBe('FORBIDDEN');
      }
      expect((await patch(id, { owner: 'Radiology' }, 'admin')).statusCode).toBe(200);
      const res = await patch(id, { owner: 'Biomedical engineering' }, 'biomed');
      expect(res.statusCode).toBe(200);
      expect(res.json().device.manual).toMatchObject({
        owner: 'Biomedical engineering',
        updatedBy: 'token:t-biomed',
      });
      expect(res.json().device.owner).toBe('Biomedical engineering');
    });

    it('answers bad edits with a clear 400 and unknown devices with 404, changing nothing', async () => {
      const id = (await device('192.168.1.70')).id;
      const before = (await device(id)).manual;
      const cases: Array<[unknown, string]> = [
        [{ type: 'toaster' }, 'type'],
        [{ criticality: 'extreme' }, 'criticality'],
        [{ owner: 'x'.repeat(201) }, 'owner'],
        [{ notes: 'x'.repeat(4001) }, 'notes'],
        [{ colour: 'red' }, ''],
        [{ owner: 42 }, 'owner'],
      ];
      for (const [body, field] of cases) {
        const res = await patch(id, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().error.code).toBe('BAD_REQUEST');
        expect(res.json().error.message).toContain(field);
      }
      expect((await device(id)).manual).toEqual(before);
      const missing = await patch('dev_nope', { owner: 'x' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('NOT_FOUND');
    });

    it('keeps a hand-set type and criticality across re-ingesting the same traffic, until cleared', async () => {
      const d = await device('192.168.1.70');
      const detected = { type: d.type, criticality: d.criticality };
      expect(detected.type).not.toBe('infusion-pump');
      const res = await patch(d.id, {
        type: 'infusion-pump',
        criticality: 'life-sustaining',
        location: 'ICU bed 4',
        notes: 'Serial 1234\nOn loan from pharmacy',
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().device).toMatchObject({
        type: 'infusion-pump',
        criticality: 'life-sustaining',
        manualType: true,
        manualCriticality: true,
        classification: { rule: 'manual', detected: { type: detected.type } },
      });
      // The sensor reads the captures again (new events, same devices): the edit stays.
      await f.services.devices.ingest.apply(await captureEvents());
      const again = await device(d.id);
      expect(again).toMatchObject({ type: 'infusion-pump', criticality: 'life-sustaining' });
      expect(again.manual).toMatchObject({
        location: 'ICU bed 4',
        notes: 'Serial 1234\nOn loan from pharmacy',
      });
      const list = (await get('/api/devices?criticality=life-sustaining')).json();
      expect(list.devices.map((x: { id: string }) => x.id)).toEqual([d.id]);
      expect(list.devices[0]).toMatchObject({ location: 'ICU bed 4', manualType: true });
      expect((await get('/api/devices?q=icu%20bed')).json().devices.map((x: { id: string }) => x.id)).toEqual(
        [d.id],
      );
      // Clearing hands type and criticality back to detection.
      const cleared = (await patch(d.id, { type: null, criticality: null })).json().device;
      expect({ type: cleared.type, criticality: cleared.criticality }).toEqual(detected);
      expect(cleared.manual).toMatchObject({ type: null, criticality: null, location: 'ICU bed 4' });
    });

    it('filters the inventory by vendor, VLAN and subnet', async () => {
      const all = (await get('/api/devices')).json();
      expect(all.counts.byVendor).toBeTypeOf('object');
      const subRes = await get('/api/devices?subnet=192.168.1.0/24');
      expect(subRes.statusCode, subRes.body).toBe(200);
      const sub = subRes.json();
      expect(sub.devices.map((x: { ip: string }) => x.ip).sort()).toEqual(
        all.devices
          .map((x: { ip: string }) => x.ip)
          .filter((ip: string) => ip.startsWith('192.168.1.'))
          .sort(),
      );
      expect(sub.total).toBeGreaterThan(0);
      expect((await get('/api/devices?subnet=10.0.0.0/8')).json().total).toBe(0);
      expect((await get('/api/devices?subnet=192.168.1.65')).json().total).toBe(1);
      expect((await get('/api/devices?subnet=192.168.1.64/30')).json().total).toBe(1);
      const bad = await get('/api/devices?subnet=fe80::/10');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toContain('subnet');
      expect((await get('/api/devices?vlan=5000')).statusCode).toBe(400);
      expect((await get('/api/devices?vlan=12')).json().total).toBe(0);
      const vendor = Object.keys(all.counts.byVendor)[0];
      if (vendor) {
        const byVendor = (
          await get(`/api/devices?vendor=${encodeURIComponent(vendor.toUpperCase())}`)
        ).json();
        expect(byVendor.total).toBe(all.counts.byVendor[vendor]);
      }
    });

    it('draws the communication map over a period, bounded, with external addresses grouped', async () => {
      for (const role of ['analyst', 'biomed', 'admin'])
        expect((await get('/api/devices/map', role)).statusCode).toBe(200);
      for (const role of ['staff', 'clinician', 'privacy-officer'])
        expect((await get('/api/devices/map', role)).statusCode).toBe(403);
      const map = (await get('/api/devices/map')).json();
      expect(map.nodes.length).toBeGreaterThan(1);
      expect(map.edges.length).toBeGreaterThan(0);
      const ids = new Set(map.nodes.map((n: { id: string }) => n.id));
      for (const e of map.edges) {
        expect(ids.has(e.source) && ids.has(e.target)).toBe(true);
        expect(e.connections + e.observations).toBeGreaterThan(0);
      }
      for (const n of map.nodes.filter((x: { kind: string }) => x.kind === 'device'))
        expect(['life-sustaining', 'patient-care', 'clinical-support', 'business']).toContain(n.criticality);
      // The 2009 capture's hour only.
      const in2009 = (await get('/api/devices/map?from=2009-08-11T00:00:00Z&to=2009-08-12T00:00:00Z')).json();
      expect(in2009.nodes.map((n: { ip: string }) => n.ip).sort()).toEqual(['167.73.217.32', '64.186.47.79']);
      expect(
        (await get('/api/devices/map?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z')).json(),
      ).toMatchObject({ nodes: [], edges: [], omitted: { nodes: 0, edges: 0 } });
      // Flows from the echo devices to public addresses outside the inventory: one external node.
      const flow = (src: string, dst: string, bytes: number) =>
        makeEvent({
          kind: 'net.flow',
          source: 'sensor',
          time: '2018-12-16T13:40:00.000Z',
          net: { srcIp: src, dstIp: dst, srcPort: 50000, dstPort: 443, proto: 'tcp' },
          device: { ip: src },
          data: {
            transport: 'tcp',
            bytesToServer: bytes,
            bytesToClient: 0,
            packetsToServer: 2,
            packetsToClient: 0,
          },
        });
      await f.services.devices.ingest.apply([
        flow('192.168.1.68', '8.8.8.8', 100),
        flow('192.168.1.68', '9.9.9.9', 300),
        flow('192.168.1.70', '9.9.9.9', 50),
      ]);
      const withExternal = (await get('/api/devices/map')).json();
      const ext = withExternal.nodes.find((n: { kind: string }) => n.kind === 'external');
      expect(ext).toMatchObject({ id: 'external', addressCount: 2, connections: 3, bytes: 450 });
      expect(ext.addresses.map((a: { ip: string }) => a.ip)).toEqual(['9.9.9.9', '8.8.8.8']);
      const toExternal = withExternal.edges.filter(
        (e: { source: string; target: string }) => e.source === 'external' || e.target === 'external',
      );
      expect(toExternal).toHaveLength(2);
      expect(toExternal.map((e: { services: string[] }) => e.services)).toEqual([
        ['?/tcp/443'],
        ['?/tcp/443'],
      ]);
      expect(withExternal.nodes).toHaveLength(map.nodes.length + 1);

      const one = (await get('/api/devices/map?limit=1')).json();
      expect(one.nodes).toHaveLength(1);
      expect(one.edges).toHaveLength(0);
      expect(one.omitted.nodes).toBe(withExternal.nodes.length - 1);
      for (const q of ['limit=100000', 'limit=0', 'limit=abc', 'from=yesterday', 'to=2020-13-45T00:00:00Z'])
        expect((await get(`/api/devices/map?${q}`)).statusCode, q).toBe(400);
      expect(
        (await get('/api/devices/map?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z')).json().error
          .message,
      ).toContain('before');
    });

    it('exports CSV and imports it back all-or-nothing with per-row errors', async () => {
      const exp = await get('/api/devices/export.csv', 'analyst');
      expect(exp.statusCode).toBe(200);
      expect(exp.headers['content-type']).toContain('text/csv');
      const lines = exp.body.trim().split('\r\n');
      expect(lines[0]).toBe(
        'id,mac,ip,name,vendor,model,type,criticality,manual_type,manual_criticality,owner,location,notes,first_seen,last_seen',
      );
      const total = (await get('/api/devices')).json().total;
      expect(lines).toHaveLength(total + 1);
      expect((await get('/api/devices/export.csv', 'staff')).statusCode).toBe(403);
      expect((await importCsv(exp.body, 'analyst')).statusCode).toBe(403);

      // Our own export imports back without changing anything.
      const round = await importCsv(exp.body);
      expect(round.statusCode).toBe(200);
      expect(round.json().summary).toMatchObject({ rows: total, updated: 0, unchanged: total });

      // One bad row among good ones: nothing is written.
      const pacs = await device('64.186.47.79');
      const bad = [
        'ip,type,criticality,owner',
        '64.186.47.79,pacs,patient-care,Radiology IT',
        '192.168.1.65,toaster,patient-care,Ward 3',
        '10.9.9.9,,business,Nobody',
        ',,,no key',
        '64.186.47.79,,,twice',
      ].join('\n');
      const refused = await importCsv(bad);
      expect(refused.statusCode).toBe(400);
      const err = refused.json().error;
      expect(err.message).toContain('nothing was imported');
      expect(err.details.errors).toEqual([
        { row: 3, field: 'type', message: 'unknown device type "toaster"' },
        { row: 4, field: 'ip', message: 'no device with this ip in the inventory' },
        { row: 5, field: 'ip', message: 'no id, mac or ip to find the device' },
        { row: 6, field: 'ip', message: 'the same device as row 2' },
      ]);
      expect((await device(pacs.id)).manual).toEqual(pacs.manual);

      // The good rows alone import, through the console's JSON form too.
      const ok = await f.app.inject({
        method: 'POST',
        url: '/api/devices/import',
        headers: auth.admin,
        payload: {
          csv: 'IP,Criticality,Owner,Cost centre\n64.186.47.79,life-sustaining,Radiology IT,4411\n',
        },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().summary).toEqual({
        rows: 1,
        updated: 1,
        unchanged: 0,
        ignoredColumns: ['Cost centre'],
      });
      expect(await device(pacs.id)).toMatchObject({
        criticality: 'life-sustaining',
        manualCriticality: true,
        owner: 'Radiology IT',
        type: pacs.type,
      });

      for (const [csv, message] of [
        ['', 'empty'],
        ['owner\nx\n', 'id, mac or ip'],
        ['ip,colour\n1.2.3.4,red\n', 'no column to import'],
        ['ip,owner\n"64.186.47.79,x\n', 'never closed'],
      ]) {
        const res = await importCsv(csv!);
        expect(res.statusCode, csv).toBe(400);
        expect(res.json().error.message).toContain(message);
      }
      const none = await f.app.inject({
        method: 'POST',
        url: '/api/devices/import',
        headers: auth.biomed,
        payload: { file: 'x' },
      });
      expect(none.statusCode).toBe(400);
    });
  },
);
