/**
 * End to end, in headless Debian Chromium: the access portal in front of a protected application.
 * A small forward-auth proxy (what Traefik's ForwardAuth does: ask `/access/check` with the
 * X-Forwarded-* headers and the browser's cookies, follow its answer) stands in front of a ward
 * application. The browser reaches the application, is sent to the portal, signs in with password
 * and TOTP and lands back on the application; registers a passkey on the security page with
 * Chromium's virtual authenticator (CDP WebAuthn domain), signs out, signs in again with the
 * passkey as the second factor, and signs out at the end: the application sends it to the portal
 * again. Screenshots of each page; no CSP refusal or page error.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { enrolledUser, type TestUser } from '../access/users.js';
import { freePort } from '../support/processes.js';
import { hasChromium, launchChromium, openPage, screenshots, UI_TIMEOUT } from './support/browser.js';
import { freshCode, timeStep } from './support/totp.js';

const suiteTitle = hasChromium
  ? 'access portal: password, TOTP, passkeys and self-service enrolment in headless Chromium'
  : 'access portal (skipped: Debian chromium not installed: apt-get install chromium)';

/** The forward-auth proxy in front of the ward application. */
function wardProxy(appPort: number, vigilPort: number): Server {
  return createServer((req, res) => {
    const cookie = req.headers.cookie;
    fetch(`http://127.0.0.1:${vigilPort}/access/check`, {
      redirect: 'manual',
      headers: {
        'x-forwarded-method': req.method ?? 'GET',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': `localhost:${appPort}`,
        'x-forwarded-uri': req.url ?? '/',
        'x-forwarded-for': '127.0.0.1',
        ...(cookie ? { cookie } : {}),
      },
    })
      .then((answer) => {
        if (answer.status === 302) {
          res.writeHead(302, { location: answer.headers.get('location') ?? '/' }).end();
        } else if (answer.status === 200) {
          const user = answer.headers.get('x-vigil-user') ?? '';
          res
            .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
            .end(
              `<!doctype html><title>Ward</title><h1>Ward chart</h1><p id="who">Signed in as ${user.replace(/[^a-z0-9._-]/gi, '')}</p>`,
            );
        } else res.writeHead(answer.status, { 'content-type': 'text/plain' }).end('access denied');
      })
      .catch(() => res.writeHead(502).end('gateway unreachable'));
  });
}

describe.skipIf(!hasChromium)(suiteTitle, () => {
  let dataDir = '';
  let server: RunningServer | undefined;
  let proxy: Server | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let nina: TestUser;
  let appUrl = '';
  let portal = '';
  let authenticatorId = '';
  const problems: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-portal-'));
    const vigilPort = await freePort();
    const appPort = await freePort();
    portal = `http://localhost:${vigilPort}`;
    appUrl = `http://localhost:${appPort}/chart/42`;
    server = await startServer(
      validateConfig({
        dataDir,
        server: { host: '127.0.0.1', port: vigilPort },
        access: {
          applications: [{ name: 'ward', host: `localhost:${appPort}`, pathPrefix: '/', roles: 'any' }],
          zones: { lan: ['127.0.0.0/8'] },
          portalUrl: `${portal}/access`,
        },
      }),
      silentLogger(),
    );
    nina = await enrolledUser(server.services, 'nina.nurse', 'clinician');
    proxy = wardProxy(appPort, vigilPort);
    await new Promise<void>((resolve) => proxy!.listen(appPort, '127.0.0.1', resolve));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    context.setDefaultTimeout(UI_TIMEOUT);
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('the application sends the browser to the portal; password then TOTP lead back to it', async () => {
    page = await openPage(context, appUrl, problems);
    await page.waitForURL(/\/access\/login\?rd=/);
    expect(new URL(page.url()).searchParams.get('rd')).toBe(appUrl);
    await page.getByRole('heading', { name: 'Sign in for remote access' }).waitFor();
    await screenshots(page, 'portal-login');

    await page.getByLabel('Username').fill(nina.username);
    await page.getByLabel('Password').fill(nina.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Second factor' }).waitFor();
    // No passkey yet: the passkey form is not offered.
    expect(await page.locator('form[data-webauthn]').count()).toBe(0);
    await screenshots(page, 'portal-mfa');
    // The enrolment used the current time step; the next one is fresh.
    const { code } = await freshCode(nina.secret, timeStep());
    await page.getByLabel('Code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(appUrl);
    await expect(page.locator('#who').textContent()).resolves.toBe('Signed in as nina.nurse');
  }, 90_000);

  it('self-service enrolment: a passkey added with the virtual authenticator', async () => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const added = (await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    })) as { authenticatorId: string };
    authenticatorId = added.authenticatorId;

    await page.goto(`${portal}/access/account`);
    await page.getByRole('heading', { name: 'Sign-in security' }).waitFor();
    await expect(page.locator('main').textContent()).resolves.toContain('An authenticator app is set up');
    await page.getByText('No passkeys yet.').waitFor();
    await page.getByLabel('Name for this passkey').fill('Ward PC');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('Passkey "Ward PC" added.').waitFor();
    await expect(page.locator('#passkeys li').count()).resolves.toBe(1);
    await screenshots(page, 'portal-security');

    const creds = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as {
      credentials: Array<{ credentialId: string; signCount: number }>;
    };
    expect(creds.credentials).toHaveLength(1);
    const stored = await server!.services.access.portal.passkeys.list(nina.id);
    expect(stored.map((p) => p.id)).toEqual([
      creds.credentials[0]!.credentialId.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'),
    ]);
  });

  it('sign out, then a fresh sign-in with the passkey as the second factor', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await page.goto(appUrl);
    await page.waitForURL(/\/access\/login\?rd=/);

    await page.getByLabel('Username').fill(nina.username);
    await page.getByLabel('Password').fill(nina.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Second factor' }).waitFor();
    const usePasskey = page.getByRole('button', { name: 'Use a passkey' });
    await usePasskey.waitFor(); // shown by the portal script because the browser offers WebAuthn
    await screenshots(page, 'portal-mfa-passkey');
    await usePasskey.click();
    await page.waitForURL(appUrl);
    await expect(page.locator('#who').textContent()).resolves.toBe('Signed in as nina.nurse');
    const [pk] = await server!.services.access.portal.passkeys.list(nina.id);
    expect(pk!.lastUsedAt).not.toBeNull();
  }, 90_000);

  it('logout ends the session: the application sends the browser to the portal again', async () => {
    await page.goto(`${portal}/access/account`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await screenshots(page, 'portal-signed-out');
    await page.goto(appUrl);
    await page.waitForURL(/\/access\/login\?rd=/);
    await page.goto(`${portal}/access/account`);
    await page.waitForURL(/\/access\/login$/);
  });

  it('self-service enrolment: a user without MFA sets up an authenticator app from its QR code', async () => {
    const { identity } = server!.services;
    const { oneTimePassword } = await identity.users.create({
      username: 'otto.porter',
      displayName: 'Otto',
      role: 'staff',
    });
    const first = await identity.auth.login('otto.porter', oneTimePassword, {});
    const p = await identity.sessions.authenticate(first.token);
    await identity.auth.changePassword(p!, oneTimePassword, nina.password, {});

    const otto = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
    otto.setDefaultTimeout(UI_TIMEOUT);
    const tab = await openPage(otto, appUrl, problems);
    await tab.waitForURL(/\/access\/login\?rd=/);
    await tab.getByLabel('Username').fill('otto.porter');
    await tab.getByLabel('Password').fill(nina.password);
    await tab.getByRole('button', { name: 'Continue' }).click();
    await tab.waitForURL(appUrl); // no second factor yet

    await tab.goto(`${portal}/access/account`);
    await tab.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const qr = tab.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    expect(await qr.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(100);
    await screenshots(tab, 'portal-enrol-totp');
    const secret = (await tab.locator('#totp-secret').textContent())!;
    const { code } = await freshCode(secret);
    await tab.getByLabel('Code', { exact: true }).fill(code);
    await tab.getByRole('button', { name: 'Turn on' }).click();
    await tab.getByText('Your authenticator app is set up.').first().waitFor();
    await expect(tab.locator('#recovery-codes li').count()).resolves.toBe(10);
    await screenshots(tab, 'portal-recovery-codes');
    expect((await identity.users.get('otto.porter'))!.mfa_enrolled_at).not.toBeNull();
    await otto.close();
  }, 90_000);

  it('never trips the Content-Security-Policy and has no page errors', () => {
    expect(problems).toEqual([]);
  });
});
