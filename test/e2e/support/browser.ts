/**
 * Headless Debian Chromium for the console tests against an in-process server: launch it with
 * the machine's flags, sign a user in through the API inside a browser context (one-time password,
 * new password, MFA enrolment when the role needs it), open pages while collecting page errors
 * and Content-Security-Policy refusals, and take desktop and phone screenshots.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateSync } from 'otplib';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Role } from '../../../src/core/index.js';
import type { RunningServer } from '../../../src/server/index.js';
import { REPO_ROOT } from './vigil-server.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const RESULTS = join(REPO_ROOT, 'test-results');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 860 };
export const UI_TIMEOUT = 30_000;
export const PASSWORD = 'Steady-lamp-over-ward-nine-61';

/** Fails early when the console has not been built. */
export function requireWebBuild(): void {
  if (!existsSync(join(REPO_ROOT, 'dist/web/index.html')))
    throw new Error('dist/web/index.html is missing: run npm run build:web first.');
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/**
 * A browser context with a new user of this role signed in through the API, as the console would
 * do it. The context's request client shares the browser's cookies.
 */
export async function signedIn(
  browser: Browser,
  server: RunningServer,
  username: string,
  role: Role,
): Promise<BrowserContext> {
  const { oneTimePassword } = await server.services.identity.users.create({
    username,
    displayName: username,
    role,
  });
  const context = await browser.newContext({ baseURL: server.url, viewport: DESKTOP });
  context.setDefaultTimeout(UI_TIMEOUT);
  const api = context.request;
  const ok = async (res: Awaited<ReturnType<typeof api.post>>, what: string) => {
    if (!res.ok()) throw new Error(`${what}: ${res.status()} ${await res.text()}`);
    return (await res.json()) as { state: string; csrfToken: string; secret?: string };
  };
  let answer = await ok(
    await api.post('/api/auth/login', { data: { username, password: oneTimePassword } }),
    'login',
  );
  answer = await ok(
    await api.post('/api/auth/password', {
      data: { currentPassword: oneTimePassword, newPassword: PASSWORD },
      headers: { 'x-csrf-token': answer.csrfToken },
    }),
    'password',
  );
  if (answer.state === 'enroll') {
    const csrf = answer.csrfToken;
    const { secret } = await ok(
      await api.post('/api/auth/mfa/enroll/start', { headers: { 'x-csrf-token': csrf } }),
      'enroll start',
    );
    answer = await ok(
      await api.post('/api/auth/mfa/enroll/confirm', {
        data: { code: generateSync({ secret: secret! }) },
        headers: { 'x-csrf-token': csrf },
      }),
      'enroll confirm',
    );
  }
  expect(answer.state).toBe('ok');
  return context;
}

/** Opens a page, recording page errors and CSP refusals in `problems`. */
export async function openPage(context: BrowserContext, path: string, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text()))
      problems.push(`CSP: ${msg.text()}`);
  });
  await page.goto(path);
  return page;
}

/** A full-page screenshot at desktop width, and one at phone width. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
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
