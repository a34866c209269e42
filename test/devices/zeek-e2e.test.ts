/**
 * Real Zeek 6.2 logs (../shared/data/zeek, no conn.log) fill the inventory and the communication
 * map: hosts from known_hosts, services from known_services and the application logs, software,
 * TLS server names, and hourly edges counted as observations. The TSV logs of the same traffic
 * are the same events (stable ids), so reading them after the JSON ones changes nothing.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import { newZeekStats, readZeekFile } from '../../src/sensor/index.js';
import { testDatabases } from '../support/databases.js';
import { counts, hasZeek, type Inventory, openInventory, ZEEK_DIR } from './fixture.js';

async function zeekEvents(format: 'json' | 'tsv'): Promise<VigilEvent[]> {
  const dir = path.join(ZEEK_DIR, format);
  const out: VigilEvent[] = [];
  for (const f of readdirSync(dir).sort())
    for await (const b of readZeekFile(path.join(dir, f), newZeekStats())) out.push(...b);
  return out;
}

for (const engine of testDatabases()) {
  describe.skipIf(!hasZeek)(
    hasZeek
      ? `Zeek logs → inventory on ${engine.name}`
      : 'Zeek logs → inventory (skipped: ../shared/data/zeek is missing)',
    () => {
      let inv: Inventory;
      beforeAll(async () => {
        inv = await openInventory(engine);
        await inv.feed(await zeekEvents('json'));
      }, 600_000);
      afterAll(async () => {
        await inv.close();
        await engine.cleanup();
      });

      it('fills devices with services, software and names, classified with reasons', async () => {
        const list = await inv.devices.queries.list({ limit: 1000 });
        expect(list.total).toBeGreaterThan(200);
        expect(Object.values(list.counts.byType).reduce((a, b) => a + b, 0)).toBe(list.total);
        const web = await inv.devices.queries.get('10.47.3.200');
        expect(web!.protocols.served.map((p) => p.value)).toEqual(
          expect.arrayContaining(['http/tcp/80', 'tls/tcp/443']),
        );
        expect(web!.protocols.served.find((p) => p.value === 'http/tcp/80')!.evidence).toBe(
          'zeek.known_services',
        );
        expect(web!.type).toBe('server');
        expect(web!.classification.reason).toMatch(/serves/);
        const browser = await inv.devices.queries.get('10.164.94.120');
        expect(browser!.identity.software_type?.map((a) => a.value)).toContain('HTTP::BROWSER');
        // Hostile software strings (a Shellshock probe) are kept as inert, bounded text.
        const soft = browser!.identity.software?.map((a) => a.value) ?? [];
        expect(soft.every((s) => s.length <= 256 && [...s].every((ch) => ch.charCodeAt(0) >= 0x20))).toBe(
          true,
        );
        const ssh = await inv.devices.queries.get('10.47.8.50');
        expect(ssh!.identity.ssh_banner?.map((a) => a.value)).toContain(
          'SSH-2.0-OpenSSH_7.4p1 Raspbian-10+deb9u3',
        );
      });

      it('builds hourly edges from the application logs, and peers over a period', async () => {
        const c = await counts(inv.db);
        expect(c.devices_edges).toBeGreaterThan(100);
        const client = await inv.devices.queries.get('10.47.1.100');
        const peers = await inv.devices.queries.peers(
          client!.id,
          new Date('2018-03-24T00:00:00Z'),
          new Date('2018-03-25T00:00:00Z'),
        );
        const dns = peers.find((p) => p.app === 'dns' && p.peerIp === '10.0.0.100' && p.direction === 'out');
        expect(dns).toBeTruthy();
        expect(dns!.observations).toBeGreaterThan(0);
        expect(dns!.connections).toBe(0); // no conn.log in this data set: nothing is invented
        expect(
          await inv.devices.queries.peers(client!.id, new Date('2019-01-01'), new Date('2019-01-02')),
        ).toEqual([]);
        // External addresses are edges, not devices.
        const anyExternal = peers.find((p) => p.peerDeviceId === null);
        if (anyExternal) expect(anyExternal.peerIp).not.toMatch(/^10\./);
      });

      it('TSV logs of the same traffic change nothing (same event ids)', { timeout: 600_000 }, async () => {
        const before = await counts(inv.db);
        await inv.feed(await zeekEvents('tsv'));
        expect(await counts(inv.db)).toEqual(before);
      });
    },
  );
}
