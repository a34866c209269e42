/**
 * End to end, in headless Debian Chromium against an in-process server, on devices from the real
 * captures of ../shared/data/pcap read by the sensor and applied by the inventory (replayed as if
 * captured recently: the echo capture half an hour ago, the store capture three days ago). A
 * biomedical engineer filters the inventory by criticality and text, opens a device to its evidence
 * and its peers over a period, edits a device (the edit survives a reload and the sensor reading
 * the same traffic again), imports a CMMS file with a bad row (refused, rows listed), and uses the
 * network map: nodes coloured by criticality, a click opens the device. An analyst reads without
 * the edit form. Screenshots at desktop and phone width; the pages never trip the CSP.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type VigilEvent } from '../../src/core/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { Sensor } from '../../src/sensor/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { hasPcaps, PCAP_DIR } from '../devices/fixture.js';
import {
  hasChromium,
  launchChromium,
  openPage,
  requireWebBuild,
  screenshots,
  signedIn,
} from './support/browser.js';

/** Criticality colours of the console (web/src/devices-types.ts), as the browser reports them. */
const FILL: Record<string, string> = {
  'life-sustaining': '#b42318',
  'patient-care': '#dc6803',
  'clinical-support': '#1570ef',
  business: '#667085',
};

/** A capture's events through the sensor, moved in time so that the first packet is at `start`. */
async function replay(file: string, start: number): Promise<VigilEvent[]> {
  const events: VigilEvent[] = [];
  const sensor = new Sensor({ patientIdKey: Buffer.alloc(32, 7), onEvent: (e) => events.push(e) });
  const data = readFileSync(join(PCAP_DIR, file));
  await sensor.read(
    (async function* () {
      yield data;
    })(),
  );
  const first = Math.min(...events.map((e) => Date.parse(e.time)));
  return events.map((e) => ({ ...e, time: new Date(Date.parse(e.time) - first + start).toISOString() }));
}

const ready = hasChromium && hasPcaps;
const suiteTitle = ready
  ? 'device inventory, device page and network map in headless Chromium'
  : `device pages (skipped: ${hasChromium ? '../shared/data/pcap is not beside this clone' : 'Debian chromium not installed: apt-get install chromium'})`;

describe.skipIf(!ready)(suiteTitle, () => {
  let dataDir = '';
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let biomed: BrowserContext;
  let analyst: BrowserContext;
  const problems: string[] = [];
  const now = Date.now();
  const ingest = async () => {
    const events = [
      ...(await replay('dicom-echo.pcap', now - 30 * 60_000)),
      ...(await replay('dicom-association-store.pcap', now - 3 * 86_400_000)),
    ];
    // The pump (as it will be) reaching a public address three hours ago: the external node.
    events.push(
      makeEvent({
        kind: 'net.flow',
        source: 'sensor',
        time: new Date(now - 3 * 3_600_000).toISOString(),
        net: { srcIp: '192.168.1.70', dstIp: '203.0.114.9', srcPort: 50123, dstPort: 443, proto: 'tcp' },
        device: { ip: '192.168.1.70' },
        data: {
          transport: 'tcp',
          bytesToServer: 900,
          bytesToClient: 4000,
          packetsToServer: 6,
          packetsToClient: 5,
        },
      }),
    );
    await server!.services.devices.ingest.apply(events);
  };
  const idOf = async (ip: string) => (await server!.services.devices.queries.find(ip))!.id;

  beforeAll(async () => {
    requireWebBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-devices-'));
    server = await startServer(
      validateConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
      silentLogger(),
    );
    await ingest();
    browser = await launchChromium();
    biomed = await signedIn(browser, server, 'bea.biomed', 'biomed');
    analyst = await signedIn(browser, server, 'ana.analyst', 'analyst');
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const rows = (page: Page) => page.getByTestId('device-row');
  const attr = (page: Page, name: string) =>
    rows(page).evaluateAll((r, n) => r.map((x) => x.getAttribute(n)).sort(), name);

  it('lists the inventory, counts and filters by criticality, type and text', async () => {
    const all = await server!.services.devices.queries.list({});
    expect(all.total).toBeGreaterThanOrEqual(5);
    const page = await openPage(biomed, '/devices', problems);
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    expect(await page.getByTestId('nav-devices').getAttribute('aria-current')).toBe('page');
    await expect.poll(() => rows(page).count()).toBe(all.total);
    await expect(page.getByTestId('devices-count').textContent()).resolves.toBe(
      `1–${all.total} of ${all.total}`,
    );
    await screenshots(page, 'devices-inventory');

    // Click the "Patient care" count: only patient-care devices, as many as the count said.
    const high = all.counts.byCriticality['patient-care'] ?? 0;
    expect(high).toBeGreaterThan(0);
    await page.getByTestId('count-criticality-patient-care').click();
    await expect.poll(() => attr(page, 'data-criticality')).toEqual(Array(high).fill('patient-care'));
    expect(page.url()).toContain('criticality=patient-care');
    expect(await page.getByTestId('count-criticality-patient-care').getAttribute('aria-pressed')).toBe(
      'true',
    );
    // The select filters too; an empty result says so.
    await page.getByTestId('devices-criticality').selectOption('life-sustaining');
    await page.getByTestId('devices-empty').getByText('No devices match these filters.').waitFor();
    await page.getByTestId('devices-clear').click();
    await expect.poll(() => rows(page).count()).toBe(all.total);

    // By type, then a search on an identity attribute (the workstation's AE title).
    await page.getByTestId('count-type-pacs').click();
    await expect.poll(() => attr(page, 'data-ip')).toEqual(['64.186.47.79']);
    await page.getByTestId('devices-clear').click();
    await page.getByTestId('devices-search').fill('osirix');
    await page.getByTestId('devices-search-submit').click();
    await expect.poll(() => attr(page, 'data-ip')).toEqual(['167.73.217.32']);
    // Subnet filter, and a sort by address.
    await page.getByTestId('devices-clear').click();
    await page.getByTestId('devices-subnet').fill('192.168.1.0/24');
    await page.getByTestId('devices-net-apply').click();
    await expect.poll(() => attr(page, 'data-ip')).toEqual(['192.168.1.65', '192.168.1.68', '192.168.1.70']);
    await page.getByTestId('sort-ip').click();
    await expect
      .poll(() => rows(page).evaluateAll((r) => r.map((x) => x.getAttribute('data-ip'))))
      .toEqual(['192.168.1.65', '192.168.1.68', '192.168.1.70']);
    await page.getByTestId('sort-ip').click();
    await expect
      .poll(() => rows(page).evaluateAll((r) => r.map((x) => x.getAttribute('data-ip'))))
      .toEqual(['192.168.1.70', '192.168.1.68', '192.168.1.65']);
    await page.close();
  }, 120_000);

  it('opens a device to its evidence and its peers over a period', async () => {
    const page = await openPage(biomed, '/devices?q=64.186.47.79', problems);
    await page.getByTestId('device-link').click();
    await page.getByTestId('device-name').waitFor();
    expect(await page.getByTestId('device-type').getAttribute('data-type')).toBe('pacs');
    // Identity with source and evidence: the AE title the association named.
    const ae = page.locator('[data-testid="identity-row"][data-name="ae_title"]');
    await expect(ae.first().textContent()).resolves.toMatch(/sensor.*A-ASSOCIATE/);
    expect(await page.getByTestId('classification-evidence').count()).toBe(1);
    await expect(page.getByTestId('device-protocols').textContent()).resolves.toContain('dicom/tcp/11112');
    // The store capture was three days ago: a peer this week, none in the last day.
    await expect
      .poll(() =>
        page.getByTestId('peer-row').evaluateAll((r) => r.map((x) => x.getAttribute('data-peer-ip'))),
      )
      .toEqual(['167.73.217.32']);
    await screenshots(page, 'device-page');
    await page.getByTestId('peers-period').selectOption('day');
    await page.getByTestId('peers-empty').waitFor();
    await page.getByTestId('peers-period').selectOption('all');
    await page.getByTestId('peer-row').first().waitFor();
    await page.close();

    // The echo capture was half an hour ago: its peers show in the last hour.
    const echo = await openPage(biomed, `/devices/${await idOf('192.168.1.70')}`, problems);
    await echo.getByTestId('peers-period').selectOption('hour');
    await expect
      .poll(() =>
        echo.getByTestId('peer-row').evaluateAll((r) => r.map((x) => x.getAttribute('data-peer-ip')).sort()),
      )
      .toEqual(['192.168.1.65', '192.168.1.68']);
    await echo.close();
  }, 120_000);

  it('keeps a hand edit after a reload and after the sensor reads the same traffic again', async () => {
    const id = await idOf('192.168.1.70');
    const detected = (await server!.services.devices.queries.get(id))!;
    expect(detected.criticality).not.toBe('life-sustaining');
    const page = await openPage(biomed, `/devices/${id}`, problems);
    await page.getByTestId('device-edit').waitFor();
    await page.getByTestId('edit-type').selectOption('infusion-pump');
    await page.getByTestId('edit-criticality').selectOption('life-sustaining');
    await page.getByTestId('edit-owner').fill('Pharmacy');
    await page.getByTestId('edit-location').fill('ICU bed 4');
    await page.getByTestId('edit-notes').fill('Loaned pump, serial 88-1234');
    await page.getByTestId('edit-save').click();
    await page.getByTestId('edit-saved').waitFor();
    await expect
      .poll(() => page.getByTestId('device-lede').getByTestId('criticality').getAttribute('data-criticality'))
      .toBe('life-sustaining');
    await page.getByTestId('device-detected').waitFor();

    const check = async () => {
      await page.reload();
      await page.getByTestId('device-edit').waitFor();
      expect(await page.getByTestId('device-type').getAttribute('data-type')).toBe('infusion-pump');
      expect(
        await page.getByTestId('device-lede').getByTestId('criticality').getAttribute('data-criticality'),
      ).toBe('life-sustaining');
      await expect.poll(() => page.getByTestId('edit-owner').inputValue()).toBe('Pharmacy');
      expect(await page.getByTestId('edit-location').inputValue()).toBe('ICU bed 4');
      expect(await page.getByTestId('edit-notes').inputValue()).toBe('Loaned pump, serial 88-1234');
      expect(await page.getByTestId('edit-type').inputValue()).toBe('infusion-pump');
    };
    await check();
    // Re-detection: the same captures read again (new events) reclassify the device.
    const before = (await server!.services.devices.queries.get(id))!.lastSeen;
    await ingest();
    expect((await server!.services.devices.queries.get(id))!.identity.ip![0]!.count).toBeGreaterThan(1);
    expect((await server!.services.devices.queries.get(id))!.lastSeen).toBe(before);
    await check();
    await screenshots(page, 'device-edit');

    // The inventory now counts it as life-sustaining.
    const list = await openPage(biomed, '/devices', problems);
    await list.getByTestId('count-criticality-life-sustaining').click();
    await expect.poll(() => attr(list, 'data-id')).toEqual([id]);
    await list.close();
    await page.close();
  }, 120_000);

  it('refuses a CMMS import with a bad row, listing the rows, and imports a good one', async () => {
    const page = await openPage(biomed, '/devices', problems);
    await page.getByTestId('devices-import-file').setInputFiles({
      name: 'cmms.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'ip,owner,criticality\n64.186.47.79,Radiology IT,patient-care\n10.1.1.1,Nobody,business\n',
      ),
    });
    await page.getByTestId('devices-import-submit').click();
    await expect(page.getByTestId('devices-import-errors').textContent()).resolves.toContain(
      'Row 3, ip: no device with this ip in the inventory',
    );
    await page
      .getByTestId('devices-import-error')
      .getByText(/nothing was imported/)
      .waitFor();
    expect((await server!.services.devices.queries.get('64.186.47.79'))!.owner).toBeNull();
    await screenshots(page, 'devices-import-errors');
    await page.getByTestId('devices-import-file').setInputFiles({
      name: 'cmms.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('ip,owner\n64.186.47.79,Radiology IT\n'),
    });
    await page.getByTestId('devices-import-submit').click();
    await expect(page.getByTestId('devices-import-summary').textContent()).resolves.toContain(
      '1 devices changed',
    );
    expect((await server!.services.devices.queries.get('64.186.47.79'))!.owner).toBe('Radiology IT');
    // The export link downloads the inventory as CSV.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('devices-export').click(),
    ]);
    expect(download.suggestedFilename()).toBe('devices.csv');
    await page.close();
  }, 120_000);

  it('draws the network map coloured by criticality; hovering shows details, a click opens the device', async () => {
    const pump = await idOf('192.168.1.70');
    const page = await openPage(biomed, '/network-map', problems);
    await page.getByRole('heading', { level: 1, name: 'Network map' }).waitFor();
    await page.getByTestId('map-period').selectOption('week');
    const nodes = page.locator('[data-testid="map-node"][data-kind="device"]');
    await expect.poll(() => nodes.count()).toBeGreaterThanOrEqual(5);
    // Every device node is filled with its criticality's colour.
    const fills = await nodes.evaluateAll((gs) =>
      gs.map((g) => [g.getAttribute('data-criticality'), g.querySelector('circle')?.getAttribute('fill')]),
    );
    for (const [crit, fill] of fills) expect(fill, String(crit)).toBe(FILL[crit!]);
    expect(fills).toContainEqual(['life-sustaining', FILL['life-sustaining']]);
    expect(await page.getByTestId('map-edge').count()).toBeGreaterThanOrEqual(4);
    // The public address is no device: it is grouped in the external node.
    const external = page.locator('[data-testid="map-node"][data-kind="external"]');
    await expect(external.textContent()).resolves.toBe('External (1)');
    await external.locator('rect').hover();
    await expect(page.getByTestId('map-tooltip').textContent()).resolves.toContain('203.0.114.9');
    // The last hour has only the echo capture's three devices.
    await page.getByTestId('map-period').selectOption('hour');
    await expect.poll(() => page.locator('[data-testid="map-node"]').evaluateAll((g) => g.length)).toBe(3);
    await page.getByTestId('map-period').selectOption('week');
    await expect.poll(() => nodes.count()).toBeGreaterThanOrEqual(5);
    // Zoom changes the view; hover shows the node's details.
    await page.getByTestId('map-zoom-in').click();
    expect(await page.getByTestId('map-svg').getAttribute('data-zoom')).toBe('1.25');
    const svg = page.getByTestId('map-svg');
    const svgBox = (await svg.boundingBox())!;
    await page.mouse.move(svgBox.x + svgBox.width / 2, svgBox.y + svgBox.height / 2);
    await page.mouse.wheel(0, -300);
    await expect.poll(async () => Number(await svg.getAttribute('data-zoom'))).toBeGreaterThan(1.25);
    await page.getByTestId('map-reset').click();
    expect(await svg.getAttribute('data-zoom')).toBe('1.00');
    // Dragging the background pans; dragging a node moves it (and does not open it).
    const layer = page.getByTestId('map-layer');
    const view0 = await layer.getAttribute('transform');
    const area = (await svg.boundingBox())!; // the click above may have scrolled the page
    await page.mouse.move(area.x + 20, area.y + 30); // top left: background, inside the window
    await page.mouse.down();
    await page.mouse.move(area.x + 120, area.y + 80, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => layer.getAttribute('transform')).not.toBe(view0);
    const pumpGroup = page.locator(`[data-testid="map-node"][data-id="${pump}"]`);
    const pumpNode = pumpGroup.locator('circle');
    const at0 = await pumpGroup.getAttribute('transform');
    const box = (await pumpNode.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 40, { steps: 6 });
    await page.mouse.up();
    await expect.poll(() => pumpGroup.getAttribute('transform')).not.toBe(at0);
    expect(new URL(page.url()).pathname).toBe('/network-map');
    await pumpNode.hover();
    await expect(page.getByTestId('map-tooltip').textContent()).resolves.toContain('Life-sustaining');
    await screenshots(page, 'network-map');
    await pumpNode.click();
    await page.waitForURL(`**/devices/${pump}`);
    await expect(page.getByTestId('device-type').getAttribute('data-type')).resolves.toBe('infusion-pump');
    await page.close();
  }, 120_000);

  it('lets an analyst read the device pages without the edit form or the import', async () => {
    const page = await openPage(analyst, `/devices/${await idOf('192.168.1.70')}`, problems);
    await page.getByTestId('device-manual').waitFor();
    await expect(page.getByTestId('device-manual').textContent()).resolves.toContain('ICU bed 4');
    expect(await page.getByTestId('device-edit').count()).toBe(0);
    await page.goto('/devices');
    await page.getByTestId('devices-table').waitFor();
    expect(await page.getByTestId('devices-import-file').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('never tripped the Content-Security-Policy or threw on a page', () => {
    expect(problems).toEqual([]);
  });
});
