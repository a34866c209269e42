/**
 * End to end, in headless Debian Chromium against an in-process server: an analyst opens the
 * phishing page, sees the server's validation error at the field it names, creates a campaign to
 * a department through the form, and it goes out over STARTTLS to a real SMTP server (smtp-server)
 * on loopback. Tracking links taken from the received messages are followed with fetch (a gateway
 * scanner's click, a person's open, click, landing form with a password, and a report); the
 * campaign page's counts, scanner clicks, department breakdown, recipients and timeline update,
 * the typed password appears nowhere, and the results download in GoPhish's CSV layout. A second,
 * future campaign is cancelled from the list. No page trips the Content-Security-Policy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOPHISH_COLUMNS } from '../../src/awareness/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { parseMessage, type SmtpSink, startSmtpSink } from '../awareness/smtp-sink.js';
import {
  hasChromium,
  launchChromium,
  openPage,
  requireWebBuild,
  screenshots,
  signedIn,
} from './support/browser.js';

const PERSON_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36';
const SCANNER_AGENT = 'Mozilla/5.0 (compatible; Barracuda Sentinel)';
const PASSWORD_TYPED = 'Typed-Pa55word-never-kept';

const suiteTitle = hasChromium
  ? 'phishing campaigns in headless Chromium'
  : 'phishing campaigns (skipped: Debian chromium not installed: apt-get install chromium)';

describe.skipIf(!hasChromium)(suiteTitle, () => {
  let dataDir = '';
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let sink: SmtpSink | undefined;
  let analyst: BrowserContext;
  const problems: string[] = [];

  beforeAll(async () => {
    requireWebBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-phishing-'));
    server = await startServer(
      validateConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
      silentLogger(),
    );
    sink = await startSmtpSink();
    browser = await launchChromium();
    analyst = await signedIn(browser, server, 'ana.lyst', 'analyst');
    const { awareness } = server.services;
    for (const [name, department] of [
      ['Ann Able', 'Radiology'],
      ['Ben Best', 'Radiology'],
      ['Cat Cole', 'ICU'],
    ] as const)
      await awareness.directory.create({
        name,
        email: `${name.split(' ')[0]!.toLowerCase()}@hospital.example`,
        department,
        jobRole: 'Radiographer',
      });
    // Sending profiles are an administrator's; the analyst only chooses one.
    await awareness.profiles.create({
      name: 'Loopback relay',
      host: '127.0.0.1',
      port: sink.port,
      security: 'starttls',
      username: 'vigil',
      password: 'smtp-secret-pw',
      fromAddress: 'IT Service Desk <it-desk@hospital-support.example>',
      verifyTls: false,
    });
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await sink?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('creates a campaign, sends it over SMTP, and shows tracking, timeline and the GoPhish CSV', async () => {
    const page = await openPage(analyst, '/', problems);
    await page.getByTestId('nav-phishing').click();
    await page.getByRole('heading', { level: 1, name: 'Phishing simulation' }).waitFor();
    await page.getByTestId('new-campaign').click();
    await page.getByTestId('campaign-name').waitFor();
    // The form's defaults: the first template and its landing page, the only profile, this console.
    expect(await page.getByTestId('campaign-base-url').inputValue()).toBe(server!.url);
    expect(await page.getByTestId('campaign-landing').inputValue()).not.toBe('none');

    // Nothing filled in: the server's message shows at the name field.
    await page.getByTestId('campaign-create').click();
    await expect(page.getByTestId('campaign-name-error').textContent()).resolves.toMatch(/name/);
    expect(await page.getByTestId('campaign-name').getAttribute('aria-invalid')).toBe('true');
    // A name but no department: the error names the departments.
    await page.getByTestId('campaign-name').fill('Radiology password expiry');
    await page.getByTestId('campaign-create').click();
    await expect(page.getByTestId('campaign-departments-error').textContent()).resolves.toContain(
      'no active person',
    );
    await screenshots(page, 'phishing-form-error');

    await page.locator('[data-testid="campaign-department"][data-department="Radiology"]').check();
    await page.getByTestId('campaign-rate').fill('30');
    await page.getByTestId('campaign-create').click();
    await page.getByTestId('campaign-created').waitFor();
    const row = page.locator('[data-testid="campaign-row"][data-name="Radiology password expiry"]');
    await expect(row.getByTestId('campaign-status').getAttribute('data-status')).resolves.toBe('scheduled');
    const campaignId = (await row.getAttribute('data-campaign'))!;
    const stored = await server!.services.awareness.campaigns.get(campaignId);
    expect(stored).toMatchObject({ recipients: 2, ratePerMinute: 30, landingId: 'password-expiry' });

    // The periodic job's work, run now: both messages go out over STARTTLS to the SMTP server.
    expect(await server!.services.awareness.sendDueCampaigns()).toBe(2);
    expect(sink!.messages.map((m) => m.to[0]).sort()).toEqual([
      'ann@hospital.example',
      'ben@hospital.example',
    ]);
    const links = new Map<string, string>();
    for (const m of sink!.messages) {
      expect(m.secure).toBe(true);
      const id = new RegExp(`${server!.url}/t/c/([A-Za-z0-9_-]{43})`).exec(parseMessage(m.raw).decoded)?.[1];
      expect(id).toBeTruthy();
      links.set(m.to[0]!, id!);
    }
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect
      .poll(() => row.getByTestId('count-sent').getAttribute('data-value'), { timeout: 10_000 })
      .toBe('2');
    await screenshots(page, 'phishing-campaigns');

    // The campaign's page before anyone acts on the message.
    await row.getByTestId('open-campaign').click();
    await page.getByRole('heading', { level: 1, name: 'Radiology password expiry' }).waitFor();
    expect(await page.getByTestId('stat-sent').getAttribute('data-value')).toBe('2');
    expect(await page.getByTestId('stat-clicked').getAttribute('data-value')).toBe('0');
    expect(await page.getByTestId('timeline-event').count()).toBe(2);

    // Ben's mail gateway scans the link at once: a scanner's click, not Ben's.
    const track = (path: string, agent: string, init: RequestInit = {}) =>
      fetch(`${server!.url}${path}`, {
        redirect: 'manual',
        ...init,
        headers: { 'user-agent': agent, ...(init.headers ?? {}) },
      });
    const ann = links.get('ann@hospital.example')!;
    const ben = links.get('ben@hospital.example')!;
    expect((await track(`/t/c/${ben}`, SCANNER_AGENT)).status).toBe(302);
    // Ann opens the message, then (a moment later, as a person would) clicks and fills the form.
    expect((await track(`/t/o/${ann}.gif`, PERSON_AGENT)).headers.get('content-type')).toBe('image/gif');
    await new Promise((r) => setTimeout(r, 1100));
    const click = await track(`/t/c/${ann}`, PERSON_AGENT);
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe(`/t/l/${ann}`);
    const landing = await track(`/t/l/${ann}`, PERSON_AGENT);
    expect(await landing.text()).toContain('type="password"');
    const submitted = await track(`/t/l/${ann}`, PERSON_AGENT, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'ann', password: PASSWORD_TYPED }).toString(),
    });
    expect(await submitted.text()).toContain('This was a phishing simulation');
    // Ben himself reports the message with its report link.
    expect(await (await track(`/t/r/${ben}`, PERSON_AGENT)).text()).toContain('Thank you for reporting');

    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect
      .poll(() => page.getByTestId('stat-clicked').getAttribute('data-value'), { timeout: 10_000 })
      .toBe('1');
    expect(await page.getByTestId('stat-opened').getAttribute('data-value')).toBe('1');
    expect(await page.getByTestId('stat-submitted').getAttribute('data-value')).toBe('1');
    expect(await page.getByTestId('stat-reported').getAttribute('data-value')).toBe('1');
    expect(await page.getByTestId('stat-scanner-clicks').getAttribute('data-value')).toBe('1');
    expect(await page.getByTestId('campaign-stats').textContent()).toContain('click rate 50%');
    expect(await page.getByTestId('stat-time-to-report').textContent()).toMatch(/^\d+ s$/);
    const radiology = page.locator('[data-testid="department-row"][data-department="Radiology"]');
    expect(await radiology.getByTestId('department-click-rate').textContent()).toContain('50%');
    expect(
      await page
        .locator('[data-testid="recipient-row"][data-email="ann@hospital.example"]')
        .getAttribute('data-result'),
    ).toBe('Submitted Data');
    expect(
      await page.locator('[data-testid="recipient-row"][data-email="ben@hospital.example"]').textContent(),
    ).toContain('reported');

    // The timeline: each event with its time, address and user agent; the scanner's marked apart.
    const events = page.getByTestId('timeline-event');
    expect(await events.count()).toBe(7);
    const annClick = page.locator(
      '[data-testid="timeline-event"][data-kind="click"][data-email="ann@hospital.example"]',
    );
    expect(await annClick.getAttribute('data-scanner')).toBe('false');
    expect(await annClick.textContent()).toContain('127.0.0.1');
    expect(await annClick.textContent()).toContain(PERSON_AGENT);
    const benClick = page.locator(
      '[data-testid="timeline-event"][data-kind="click"][data-email="ben@hospital.example"]',
    );
    expect(await benClick.getAttribute('data-scanner')).toBe('true');
    expect(await benClick.textContent()).toContain('link scanner');
    expect(await page.locator('[data-testid="timeline-event"][data-kind="submit"]').count()).toBe(1);
    expect(await page.locator('body').textContent()).not.toContain(PASSWORD_TYPED);
    await screenshots(page, 'phishing-campaign');

    // The results in GoPhish's CSV layout, downloaded with the analyst's session.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('campaign-csv').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(csv[0]).toBe(GOPHISH_COLUMNS.join(','));
    expect(csv).toHaveLength(3);
    expect(csv.find((l) => l.includes('ann@hospital.example'))).toContain('Submitted Data');
    expect(csv.find((l) => l.includes('ben@hospital.example'))).toContain('true');
    expect(csv.join('\n')).not.toContain(ann);
    expect(csv.join('\n')).not.toContain(PASSWORD_TYPED);
    await page.close();
  }, 120_000);

  it('cancels a scheduled campaign from the list', async () => {
    const page = await openPage(analyst, '/phishing', problems);
    await page.getByTestId('new-campaign').click();
    await page.getByTestId('campaign-name').fill('ICU next month');
    await page.getByTestId('campaign-schedule').fill('2099-03-01T09:30');
    await page.locator('[data-testid="campaign-department"][data-department="ICU"]').check();
    await page.getByTestId('campaign-landing').selectOption('none');
    await page.getByTestId('campaign-create').click();
    await page.getByTestId('campaign-created').waitFor();
    const row = page.locator('[data-testid="campaign-row"][data-name="ICU next month"]');
    const id = (await row.getAttribute('data-campaign'))!;
    const stored = await server!.services.awareness.campaigns.get(id);
    expect(stored.landingId).toBeNull();
    expect(new Date(stored.scheduledAt).getFullYear()).toBe(2099);
    // Not due yet: nothing more goes out.
    expect(await server!.services.awareness.sendDueCampaigns()).toBe(0);
    await row.getByTestId('cancel-campaign').click();
    await row.getByTestId('cancel-campaign-confirm').click();
    await expect
      .poll(() => row.getByTestId('campaign-status').getAttribute('data-status'), { timeout: 10_000 })
      .toBe('cancelled');
    expect((await server!.services.awareness.campaigns.get(id)).status).toBe('cancelled');
    expect(await row.getByTestId('cancel-campaign').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('never tripped the Content-Security-Policy', () => {
    expect(problems).toEqual([]);
  });
});
