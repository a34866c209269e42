/**
 * End to end: the built server and console in headless Debian Chromium. The first admin signs in
 * with the one-time password printed at start-up, chooses a password, enrols MFA, saves the
 * recovery codes, sees the overview, uses the admin pages, signs out and signs back in with a
 * TOTP code. The page must never trip the server's strict Content-Security-Policy.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshCode, type TotpCode } from './support/totp.js';
import {
  REPO_ROOT,
  type RunningServer,
  requireBuild,
  startServer,
  stopServer,
} from './support/vigil-server.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const RESULTS = join(REPO_ROOT, 'test-results');
const SCREENSHOT = join(RESULTS, 'console-overview.png');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };
const NEW_PASSWORD = 'Calm-harbour-lantern-47';
const UI_TIMEOUT = 30_000;

const suiteTitle = hasChromium
  ? 'web console in headless Chromium'
  : 'web console (skipped: Debian chromium not installed: apt-get install chromium)';

describe.skipIf(!hasChromium)(suiteTitle, () => {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let secret = '';
  let lastTotp: TotpCode | undefined;
  let staffPassword = '';
  const pageProblems: string[] = [];

  beforeAll(async () => {
    requireBuild();
    server = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ baseURL: server.url, viewport: DESKTOP });
    context.setDefaultTimeout(UI_TIMEOUT);
    page = await context.newPage();
    page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
        pageProblems.push(`CSP: ${msg.text()}`);
      }
    });
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (server) {
      const { child, dataDir } = server;
      await stopServer(child);
      expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  /** Adds the server's output to a failure, which is where a server-side cause shows. */
  async function step(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const e = err as Error;
      e.message = `${e.message}\n\nserver output (tail):\n${server?.output().slice(-4000) ?? ''}`;
      throw e;
    }
  }

  async function signIn(username: string, password: string): Promise<void> {
    await page.getByTestId('login-username').fill(username);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
  }

  async function expectOverview(): Promise<void> {
    await expect
      .poll(() => page.getByTestId('stat-users-total').isVisible(), { timeout: UI_TIMEOUT })
      .toBe(true);
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' }).isVisible()).resolves.toBe(true);
  }

  it('signs in with the one-time password and replaces it', async () => {
    await step(async () => {
      await page.goto('/');
      await page.getByTestId('login-username').waitFor();
      expect(await page.title()).toContain('Vigil');

      // A wrong password is refused with the server's message.
      await signIn(server!.adminUsername, 'not-the-password');
      await page.getByTestId('login-error').waitFor();

      await signIn(server!.adminUsername, server!.adminOneTimePassword);
      await page.getByTestId('password-current').fill(server!.adminOneTimePassword);
      await page.getByTestId('password-new').fill(NEW_PASSWORD);
      await page.getByTestId('password-repeat').fill(NEW_PASSWORD);
      await page.getByTestId('password-submit').click();
      await page.getByTestId('totp-secret').waitFor();
    });
  }, 90_000);

  it('enrols MFA with the QR code or the key, and shows the recovery codes once', async () => {
    await step(async () => {
      const qr = page.getByTestId('totp-qr');
      expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
      expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

      secret = ((await page.getByTestId('totp-secret').textContent()) ?? '').replace(/\s+/g, '');
      expect(secret).toMatch(/^[A-Z2-7]+=*$/);

      lastTotp = await freshCode(secret);
      await page.getByTestId('totp-code').fill(lastTotp.code);
      await page.getByTestId('totp-confirm').click();

      const codes = page.getByTestId('recovery-codes').locator('li');
      await codes.first().waitFor();
      expect(await codes.count()).toBeGreaterThanOrEqual(1);
      await page.getByTestId('recovery-ack').click();
      await expectOverview();
    });
  }, 90_000);

  it('shows the overview figures and the shell for an admin', async () => {
    await step(async () => {
      const usersTotal = Number(await page.getByTestId('stat-users-total').getAttribute('data-value'));
      const sessions = Number(await page.getByTestId('stat-sessions-active').getAttribute('data-value'));
      expect(usersTotal).toBeGreaterThanOrEqual(1);
      expect(sessions).toBeGreaterThanOrEqual(1);

      // The sign-in just made is among the events of the last 24 hours (a refresh may be needed).
      const authRows = page.locator('[data-testid="event-kind-row"][data-name^="auth."]');
      await expect.poll(() => authRows.count(), { timeout: 25_000, interval: 1000 }).toBeGreaterThan(0);
      expect(Number(await authRows.first().getAttribute('data-count'))).toBeGreaterThanOrEqual(1);

      await expect(page.getByTestId('updated-at').textContent()).resolves.toMatch(
        /Updated \d{2}:\d{2}:\d{2}/,
      );
      await expect(page.getByTestId('current-user').textContent()).resolves.toBeTruthy();
      await expect(page.getByTestId('current-role').textContent()).resolves.toBe('Administrator');
      await expect(page.getByTestId('nav-users').isVisible()).resolves.toBe(true);
      await expect(page.getByTestId('nav-tokens').isVisible()).resolves.toBe(true);
      await expect(page.getByTestId('nav-events').isVisible()).resolves.toBe(true);
      await expect(page.getByTestId('nav-access').isVisible()).resolves.toBe(true);

      mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(existsSync(SCREENSHOT)).toBe(true);
    });
  }, 60_000);

  it('keeps the figures and shows a banner when a refresh fails', async () => {
    await step(async () => {
      await page.route('**/api/overview', (route) =>
        route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'UNAVAILABLE', message: 'The database is not ready.', requestId: 'e2e' },
          }),
        }),
      );
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByTestId('overview-error').getByText('The database is not ready.').waitFor();
      expect(await page.getByTestId('stat-users-total').isVisible()).toBe(true);

      await page.unroute('**/api/overview');
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByTestId('overview-error').waitFor({ state: 'detached' });
    });
  }, 60_000);

  it('lets the admin add a user and create and revoke an API token', async () => {
    await step(async () => {
      await page.getByTestId('nav-users').click();
      await page.locator('[data-testid="user-row"][data-username="admin"]').waitFor();
      await page.getByTestId('user-add').click();
      await page.getByTestId('user-username').fill('n.okafor');
      await page.getByTestId('user-display-name').fill('Nkechi Okafor');
      await page.getByTestId('user-role').selectOption('biomed');
      await page.getByTestId('user-create').click();
      staffPassword = (await page.getByTestId('user-one-time-password').textContent()) ?? '';
      expect(staffPassword.length).toBeGreaterThan(7);
      await page.locator('[data-testid="user-row"][data-username="n.okafor"]').waitFor();

      await page.getByTestId('nav-tokens').click();
      await page.getByTestId('token-name').fill('SIEM export');
      await page.getByTestId('token-role').selectOption('analyst');
      await page.getByTestId('token-create').click();
      expect(((await page.getByTestId('token-secret').textContent()) ?? '').length).toBeGreaterThan(15);
      const row = page.getByTestId('token-row').filter({ hasText: 'SIEM export' });
      await row.getByRole('button', { name: 'Revoke SIEM export' }).click();
      await row.getByRole('button', { name: 'Revoke', exact: true }).click();
      await row.getByText(/Revoked/).waitFor();

      await page.getByTestId('nav-overview').click();
      await expectOverview();
    });
  }, 90_000);

  /** A full-page screenshot at desktop width, and one at phone width. */
  async function screenshots(name: string): Promise<void> {
    mkdirSync(RESULTS, { recursive: true });
    // From the top: a full-page shot of a scrolled page draws the sticky header mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(RESULTS, `${name}.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    try {
      await page.screenshot({ path: join(RESULTS, `${name}-phone.png`), fullPage: true });
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    expect(existsSync(join(RESULTS, `${name}.png`))).toBe(true);
  }

  it('shows the event log with the sign-in, filtered and expandable', async () => {
    await step(async () => {
      await page.getByTestId('nav-events').click();
      await page.getByRole('heading', { level: 1, name: 'Event log' }).waitFor();
      const login = page.locator('[data-testid="event-row"][data-kind="auth.login.succeeded"]').first();
      await login.waitFor();

      // The kind filter asks the server for that prefix only.
      await page.getByTestId('events-kind').selectOption('user.');
      await page.locator('[data-testid="event-row"][data-kind^="user."]').first().waitFor();
      const kinds = await page
        .getByTestId('event-row')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind') ?? ''));
      expect(kinds.length).toBeGreaterThan(0);
      expect(kinds.every((k) => k.startsWith('user.'))).toBe(true);
      await page.getByTestId('events-kind').selectOption('auth.');
      await login.waitFor();

      // Each event opens to its JSON, as text.
      await login.getByTestId('event-expand').click();
      const json = page.getByTestId('event-json').first();
      await json.waitFor();
      const text = (await json.textContent()) ?? '';
      expect(JSON.parse(text)).toMatchObject({ kind: 'auth.login.succeeded' });
      expect(await login.getByTestId('event-expand').getAttribute('aria-expanded')).toBe('true');

      await screenshots('console-events');
    });
  }, 60_000);

  it('blocks an address range on the remote access page, and shows the server refusing a bad one', async () => {
    await step(async () => {
      await page.getByTestId('nav-access').click();
      await page.getByRole('heading', { level: 1, name: 'Remote access' }).waitFor();
      // A fresh server has no gateway traffic: each list says so.
      await page.getByTestId('decisions-empty').waitFor();
      await page.getByTestId('blocks-empty').waitFor();

      await page.getByTestId('block-cidr').fill('203.0.113.0/24');
      await page.getByTestId('block-reason').fill('Password spraying against the portal');
      await page.getByTestId('block-submit').click();
      const row = page.locator('[data-testid="block-row"][data-cidr="203.0.113.0/24"]');
      await row.waitFor();
      await expect(row.textContent()).resolves.toContain('Password spraying against the portal');
      await expect(row.textContent()).resolves.toContain(server!.adminUsername);
      await page.getByTestId('block-notice').waitFor();

      // The server validates the address; its 400 message names the field and shows at it.
      await page.getByTestId('block-cidr').fill('203.0.113.0/33');
      await page.getByTestId('block-reason').fill('Typo check');
      await page.getByTestId('block-submit').click();
      const error = page.getByTestId('block-cidr-error');
      await error.waitFor();
      await expect(error.textContent()).resolves.toBe('cidr: not an IPv4/IPv6 address or CIDR range');
      expect(await page.getByTestId('block-cidr').getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator('[data-testid="block-row"]').count()).toBe(1);

      // A check as a reverse proxy would ask it (from 127.0.0.1, a trusted proxy by default): with no
      // application configured the gateway denies, and the decision lists with its reason.
      const check = await page.request.get('/access/check', {
        headers: {
          'x-original-uri': '/chart/',
          'x-original-method': 'GET',
          'x-forwarded-host': 'ehr.hospital.example',
          'x-forwarded-proto': 'https',
          'x-forwarded-for': '203.0.113.9',
        },
      });
      expect(check.status()).toBe(403);
      await page.getByRole('button', { name: 'Refresh' }).click();
      const denied = page.locator('[data-testid="decision-row"][data-decision="deny"]').first();
      await denied.waitFor();
      await expect(denied.getByTestId('decision-badge').textContent()).resolves.toBe('Denied');
      await expect(denied.textContent()).resolves.toContain('203.0.113.9');
      await denied.getByTestId('decision-expand').click();
      const reason = page.getByTestId('decision-reason').first();
      await reason.waitFor();
      await expect(reason.textContent()).resolves.toContain(
        'no protected application for ehr.hospital.example',
      );
      await page.getByTestId('stat-access-deny').and(page.locator('[data-value="1"]')).waitFor();

      await screenshots('console-access');
      await page.getByTestId('nav-overview').click();
      await expectOverview();
    });
  }, 60_000);

  it('signs out, and back in with the password and a fresh TOTP code', async () => {
    await step(async () => {
      await page.getByTestId('sign-out').click();
      await page.getByTestId('login-username').waitFor();
      // The session is gone on the server too: the API refuses the old cookie.
      const after = await page.request.get('/api/overview');
      expect(after.status()).toBe(401);

      await signIn(server!.adminUsername, NEW_PASSWORD);
      await page.getByTestId('mfa-code').waitFor();
      // A code of the same 30 s step as the enrolment one may be refused as a replay: wait for the next.
      lastTotp = await freshCode(secret, lastTotp?.step ?? -1);
      await page.getByTestId('mfa-code').fill(lastTotp.code);
      await page.getByTestId('mfa-submit').click();
      await expectOverview();
      expect(
        Number(await page.getByTestId('stat-users-total').getAttribute('data-value')),
      ).toBeGreaterThanOrEqual(2);
    });
  }, 120_000);

  it('shows a role only what it may use', async () => {
    await step(async () => {
      // A separate browser context: its own cookies, as on another workstation.
      const other = await browser!.newContext({
        baseURL: server!.url,
        viewport: { width: 390, height: 844 },
      });
      other.setDefaultTimeout(UI_TIMEOUT);
      const biomed = await other.newPage();
      try {
        await biomed.goto('/users');
        await biomed.getByTestId('login-username').fill('n.okafor');
        await biomed.getByTestId('login-password').fill(staffPassword);
        await biomed.getByTestId('login-submit').click();
        await biomed.getByTestId('password-current').fill(staffPassword);
        await biomed.getByTestId('password-new').fill('Quiet-ward-monitor-2931');
        await biomed.getByTestId('password-repeat').fill('Quiet-ward-monitor-2931');
        await biomed.getByTestId('password-submit').click();

        // Signed in at the address asked for, which the role may not open.
        await biomed.getByRole('heading', { level: 1, name: 'Not available to your role' }).waitFor();
        await expect(biomed.getByTestId('current-role').textContent()).resolves.toBe('Biomedical engineer');
        await expect(biomed.getByTestId('nav-overview').isVisible()).resolves.toBe(true);
        expect(await biomed.getByTestId('nav-users').count()).toBe(0);
        expect(await biomed.getByTestId('nav-tokens').count()).toBe(0);
        expect(await biomed.getByTestId('nav-events').count()).toBe(0);
        expect(await biomed.getByTestId('nav-access').count()).toBe(0);
        await biomed.getByTestId('nav-overview').click();
        await biomed.getByTestId('stat-users-total').waitFor();

        // A direct address of a page the role may not use says so.
        for (const path of ['/events', '/access']) {
          await biomed.goto(path);
          await biomed.getByRole('heading', { level: 1, name: 'Not available to your role' }).waitFor();
        }
      } finally {
        await other.close();
      }
    });
  }, 90_000);

  it('never trips the Content-Security-Policy and has no page errors', () => {
    expect(pageProblems).toEqual([]);
  });
});
