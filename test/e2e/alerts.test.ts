/**
 * End to end, in headless Debian Chromium against an in-process server: alerts are raised through
 * the services (events through the detector, as on the bus); an analyst filters them on the Alerts
 * page, bulk-acknowledges, opens one to its evidence and ATT&CK tags, adds a note, takes one, opens
 * a case from selected alerts, and works the case (status, note, timeline). A privacy officer
 * reads the same alerts without the means to change them. Screenshots at desktop and phone width;
 * the pages must never trip the server's Content-Security-Policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/core/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import {
  hasChromium,
  launchChromium,
  openPage,
  requireWebBuild,
  screenshots,
  signedIn,
} from './support/browser.js';

const T0 = Date.now() - 30 * 60_000;

const suiteTitle = hasChromium
  ? 'alerts and cases in headless Chromium'
  : 'alerts and cases (skipped: Debian chromium not installed: apt-get install chromium)';

describe.skipIf(!hasChromium)(suiteTitle, () => {
  let dataDir = '';
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let analyst: BrowserContext;
  let officer: BrowserContext;
  const problems: string[] = [];

  beforeAll(async () => {
    requireWebBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-alerts-'));
    server = await startServer(
      validateConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
      silentLogger(),
    );
    const { detect } = server.services;
    // Lockouts through the detector (three for eve within the hour: one alert, counted 3 times).
    const lockout = (user: string, s: number) =>
      makeEvent({ kind: 'auth.lockout', source: 'identity', user: { name: user } }, new Date(T0 + s * 1000));
    await detect.detector.handle([
      lockout('eve', 0),
      lockout('bob', 5),
      lockout('eve', 60),
      lockout('carol', 90),
    ]);
    await detect.detector.handle([lockout('eve', 120)]);
    // Two network alerts as a sensor rule would raise them.
    await detect.alerts.record([
      {
        time: new Date(T0 + 200_000).toISOString(),
        ruleId: 'vigil-smb-from-medical-device',
        ruleTitle: 'SMB from a medical device',
        level: 'high',
        eventIds: ['flow-1'],
        dedupKey: 'vigil-smb-from-medical-device|10.20.0.5',
        tags: ['attack.lateral-movement', 'attack.t1021.002', 'attack.t0886'],
        evidence: [
          {
            id: 'flow-1',
            kind: 'net.flow',
            net: { srcIp: '10.20.0.5', dstIp: '10.0.0.9', dstPort: 445, proto: 'tcp' },
            device: { ip: '10.20.0.5' },
          },
        ],
      },
      {
        time: new Date(T0 + 300_000).toISOString(),
        ruleId: 'vigil-patient-data-cleartext',
        ruleTitle: 'Patient data in cleartext',
        level: 'critical',
        eventIds: ['hl7-1'],
        dedupKey: 'vigil-patient-data-cleartext|10.20.0.7',
        tags: ['attack.collection', 'attack.t1040'],
        evidence: [{ id: 'hl7-1', kind: 'net.hl7.message', net: { srcIp: '10.20.0.7', dstPort: 2575 } }],
      },
    ]);
    browser = await launchChromium();
    analyst = await signedIn(browser, server, 'ana.analyst', 'analyst');
    officer = await signedIn(browser, server, 'pia.privacy', 'privacy-officer');
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const rows = (page: Page) => page.getByTestId('alert-row');
  const entities = (page: Page) =>
    rows(page).evaluateAll((r) => r.map((x) => x.getAttribute('data-entity')).sort());

  it('lists, filters and bulk-acknowledges alerts', async () => {
    const page = await openPage(analyst, '/alerts', problems);
    await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
    expect(await page.getByTestId('nav-alerts').getAttribute('aria-current')).toBe('page');
    await expect.poll(() => rows(page).count()).toBe(5);
    const eve = page.locator('[data-testid="alert-row"][data-entity="eve"]');
    await expect(eve.getByTestId('alert-count').textContent()).resolves.toBe('3');
    await expect(eve.getByTestId('attack-tags').textContent()).resolves.toContain('T1110');
    await screenshots(page, 'alerts-list');

    // Severity filter, then text.
    await page.getByTestId('alerts-level').selectOption('medium');
    await expect.poll(() => entities(page)).toEqual(['bob', 'carol', 'eve']);
    await page.getByTestId('alerts-search').fill('CAROL');
    await page.getByTestId('alerts-search-submit').click();
    await expect.poll(() => entities(page)).toEqual(['carol']);
    await page.getByTestId('alerts-search').fill('');
    await expect.poll(() => entities(page)).toEqual(['bob', 'carol', 'eve']);

    // Select the three lockouts and acknowledge them at once.
    await page.getByTestId('alerts-select-all').check();
    await expect(page.getByTestId('bulk-count').textContent()).resolves.toBe('3 alerts selected');
    await page.getByTestId('bulk-acknowledge').click();
    await page.getByTestId('alerts-notice').getByText('3 alerts marked acknowledged.').waitFor();
    await expect
      .poll(() => rows(page).evaluateAll((r) => r.map((x) => x.getAttribute('data-status'))))
      .toEqual(['acknowledged', 'acknowledged', 'acknowledged']);
    expect(await page.getByTestId('bulk-bar').count()).toBe(0);

    // Only new alerts are left under "New".
    await page.getByTestId('alerts-level').selectOption('');
    await page.getByTestId('alerts-status').selectOption('new');
    await expect.poll(() => entities(page)).toEqual(['10.20.0.5', '10.20.0.7']);
    await page.close();
  }, 120_000);

  it('opens an alert to its evidence and ATT&CK tags, adds a note and takes it', async () => {
    const page = await openPage(analyst, '/alerts', problems);
    const smb = page.locator('[data-testid="alert-row"][data-entity="10.20.0.5"]');
    await smb.getByTestId('alert-open').click();
    const detail = page.getByTestId('alert-detail');
    await detail.waitFor();
    await expect(detail.getByTestId('alert-evidence').first().textContent()).resolves.toContain(
      '"dstPort": 445',
    );
    const technique = detail.getByRole('link', { name: 'T1021.002' });
    expect(await technique.getAttribute('href')).toBe('https://attack.mitre.org/techniques/T1021/002/');
    await expect(detail.getByTestId('attack-tags').textContent()).resolves.toContain('lateral movement');

    await detail
      .getByTestId('alert-note-text')
      .fill('Pump 7 on ward 3 was reaching the file server over SMB.');
    await detail.getByTestId('alert-note-add').click();
    await detail.locator('[data-testid="timeline-entry"][data-action="note"]').waitFor();
    await expect(detail.getByTestId('note-text').textContent()).resolves.toBe(
      'Pump 7 on ward 3 was reaching the file server over SMB.',
    );
    expect(await detail.getByTestId('alert-note-text').inputValue()).toBe('');

    await detail.getByTestId('alert-assign-me').click();
    await expect.poll(() => detail.getByTestId('alert-detail-assignee').textContent()).toBe('Me');
    await expect.poll(() => smb.getByTestId('alert-assignee').textContent()).toBe('Me');
    await screenshots(page, 'alert-detail');
    await page.close();
  }, 120_000);

  it('opens a case from selected alerts and works it', async () => {
    const page = await openPage(analyst, '/alerts', problems);
    await expect.poll(() => rows(page).count()).toBe(5); // open: new or acknowledged
    await page.getByTestId('alerts-status').selectOption('new');
    await expect.poll(() => entities(page)).toEqual(['10.20.0.5', '10.20.0.7']);
    for (const entity of ['10.20.0.5', '10.20.0.7'])
      await page
        .locator(`[data-testid="alert-row"][data-entity="${entity}"]`)
        .getByTestId('alert-select')
        .check();
    await page.getByTestId('bulk-case').click();
    await page.getByTestId('bulk-case-title').fill('Ward 3 infusion pumps');
    await page.getByTestId('bulk-case-create').click();

    const view = page.getByTestId('case-view');
    await view.waitFor();
    expect(new URL(page.url()).pathname).toBe('/cases');
    await expect(page.getByTestId('case-title').textContent()).resolves.toBe('Ward 3 infusion pumps');
    expect(await page.getByTestId('case-alert-row').count()).toBe(2);
    expect(await page.getByTestId('case-severity').getAttribute('data-severity')).toBe('critical');

    await page.getByTestId('case-status-select').selectOption('in-progress');
    await page.locator('[data-testid="timeline-entry"][data-action="status"]').waitFor();
    await page.getByTestId('case-assign-me').click();
    await page.locator('[data-testid="timeline-entry"][data-action="assigned"]').waitFor();
    await page.getByTestId('case-note-text').fill('Biomed isolated both pumps on VLAN 30.');
    await page.getByTestId('case-note-add').click();
    await page.locator('[data-testid="timeline-entry"][data-action="note"]').waitFor();
    await expect(
      page.getByTestId('timeline-entry').evaluateAll((r) => r.map((x) => x.getAttribute('data-action'))),
    ).resolves.toEqual(['created', 'alerts-added', 'status', 'assigned', 'note']);
    await screenshots(page, 'case-view');

    // The list of cases has it; the alerts link to it.
    await page.getByRole('link', { name: '← All cases' }).click();
    const row = page.getByTestId('case-row');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.first().getAttribute('data-status')).toBe('in-progress');
    await screenshots(page, 'cases-list');
    await row.first().getByTestId('case-link').click();
    await view.waitFor();
    await page.close();
  }, 120_000);

  it('shows a privacy officer the alerts and cases read-only', async () => {
    const page = await openPage(officer, '/alerts', problems);
    await page.getByTestId('alerts-status').selectOption('all');
    await expect.poll(() => rows(page).count()).toBe(5);
    expect(await page.getByTestId('alert-select').count()).toBe(0);
    expect(await page.getByTestId('alerts-select-all').count()).toBe(0);
    await rows(page).first().getByTestId('alert-open').click();
    await page.getByTestId('alert-detail').waitFor();
    expect(await page.getByTestId('alert-actions').count()).toBe(0);
    expect(await page.getByTestId('alert-note-text').count()).toBe(0);

    // A deep link opens the alert.
    const id = await rows(page).last().getAttribute('data-id');
    const linked = await openPage(officer, `/alerts?id=${id}`, problems);
    await linked.locator(`[data-testid="alert-detail"][data-id="${id}"]`).waitFor();
    await linked.close();

    await page.getByTestId('nav-cases').click();
    await page.getByTestId('case-row').first().waitFor();
    await page.getByTestId('case-link').first().click();
    await page.getByTestId('case-view').waitFor();
    expect(await page.getByTestId('case-status-select').count()).toBe(0);
    expect(await page.getByTestId('case-note-text').count()).toBe(0);
    await page.close();
  }, 120_000);

  it('never tripped the Content-Security-Policy nor threw in the page', () => {
    expect(problems).toEqual([]);
  });
});
