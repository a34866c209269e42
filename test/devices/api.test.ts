/**
 * The devices API through the real app: analysts, biomedical engineers and admins read the
 * inventory, others are refused; list filters and counts, a device page with evidence and peers,
 * peers over a period, and clear 400/404 answers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import { Sensor } from '../../src/sensor/index.js';
import { type ServerFixture, serverFixture } from '../support/server-fixture.js';
import { hasPcaps, PCAP_DIR } from './fixture.js';

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

describe.skipIf(!hasPcaps)(
  hasPcaps ? 'devices API' : 'devices API (skipped: ../shared/data/pcap is not beside this clone)',
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

    it('lets analyst, biomed and admin read; refuses staff, clinician and privacy officer', async () => {
      for (const role of ['analyst', 'biomed', 'admin'])
        expect((await get('/api/devices', role)).statusCode).toBe(200);
      for (const role of ['staff', 'clinician', 'privacy-officer']) {
        const res = await get('/api/devices', role);
        expect(res.statusCode).toBe(403);
        expect(res.json().error.code).toBe('FORBIDDEN');
      }
    });

    it('lists with counts by type and criticality, filters and search', async () => {
      const all = (await get('/api/devices')).json();
      expect(all.total).toBe(all.devices.length);
      expect(all.counts.byType.pacs).toBe(1);
      const pacs = (await get('/api/devices?type=pacs')).json();
      expect(pacs.devices.map((d: { ip: string }) => d.ip)).toEqual(['64.186.47.79']);
      const found = (await get('/api/devices?q=echoscu')).json();
      expect(found.devices.map((d: { ip: string }) => d.ip)).toEqual(['192.168.1.68']);
      const bad = await get('/api/devices?type=toaster');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('BAD_REQUEST');
    });

    it('shows one device with evidence, protocols, peers and findings', async () => {
      const res = await get('/api/devices/167.73.217.32');
      expect(res.statusCode).toBe(200);
      const d = res.json().device;
      expect(d.identity.ae_title[0]).toMatchObject({ value: 'OSIRIX', source: 'sensor' });
      expect(d.classification).toMatchObject({ type: 'dicom-workstation' });
      expect(d.protocols.used.map((p: { value: string }) => p.value)).toContain('dicom/tcp/11112');
      expect(d.peers[0]).toMatchObject({ direction: 'out', port: 11112, app: 'dicom' });
      expect(d.findings.map((x: { kind: string }) => x.kind)).toContain('cleartext-patient-data');
      expect((await get('/api/devices/nope')).statusCode).toBe(404);
    });

    it("answers a device's peers over a period", async () => {
      const id = (await get('/api/devices/64.186.47.79')).json().device.id;
      const inside = (
        await get(`/api/devices/${id}/peers?from=2009-08-11T00:00:00Z&to=2009-08-12T00:00:00Z`)
      ).json();
      expect(inside.peers).toHaveLength(1);
      expect(inside.peers[0]).toMatchObject({ direction: 'in', peerIp: '167.73.217.32', port: 11112 });
      const outside = (
        await get(`/api/devices/${id}/peers?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`)
      ).json();
      expect(outside.peers).toEqual([]);
      expect(
        (await get(`/api/devices/${id}/peers?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z`)).statusCode,
      ).toBe(400);
      expect((await get(`/api/devices/${id}/peers?from=yesterday`)).statusCode).toBe(400);
    });
  },
);
