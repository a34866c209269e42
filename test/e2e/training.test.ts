/**
 * End to end, in headless Debian Chromium against an in-process server: a learner linked to the
 * staff directory opens their training, reads the phishing course (the server's sanitised HTML),
 * takes its quiz, passes with explanations shown, opens the printable certificate and its code
 * verifies publicly; their manager opens the team view and sees the learner's passed course, the
 * completion rate and the overdue course of another report with its risk reasons. No page trips
 * the Content-Security-Policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const PHISHING = 'phishing-and-social-engineering';
const RANSOMWARE = 'ransomware-and-downtime';

const suiteTitle = hasChromium
  ? 'training, certificates and the team view in headless Chromium'
  : 'training (skipped: Debian chromium not installed: apt-get install chromium)';

describe.skipIf(!hasChromium)(suiteTitle, () => {
  let dataDir = '';
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let learner: BrowserContext;
  let manager: BrowserContext;
  const problems: string[] = [];

  beforeAll(async () => {
    requireWebBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-training-'));
    server = await startServer(
      validateConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
      silentLogger(),
    );
    browser = await launchChromium();
    learner = await signedIn(browser, server, 'lee.learner', 'staff');
    manager = await signedIn(browser, server, 'meg.manager', 'clinician');
    const { identity, awareness } = server.services;
    const uid = async (name: string) => (await identity.users.get(name))!.id;
    const meg = await awareness.directory.create({
      name: 'Meg Manager',
      email: 'meg@h.example',
      department: 'ICU',
      jobRole: 'Charge nurse',
      consoleUserId: await uid('meg.manager'),
    });
    await awareness.directory.create({
      name: 'Lee Learner',
      email: 'lee@h.example',
      department: 'ICU',
      jobRole: 'Nurse',
      managerId: meg.id,
      consoleUserId: await uid('lee.learner'),
    });
    const sam = await awareness.directory.create({
      name: 'Sam Slow',
      email: 'sam@h.example',
      department: 'ICU',
      jobRole: 'Porter',
      managerId: meg.id,
    });
    await awareness.training.assign({ courseId: PHISHING, departments: ['ICU'], dueAt: '2030-01-31' });
    await awareness.training.assign({ courseId: RANSOMWARE, personIds: [sam.id], dueAt: '2020-01-31' });
    await awareness.risk.recomputeAll();
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('a learner reads a course, passes its quiz and opens the certificate', async () => {
    const page = await openPage(learner, '/', problems);
    await page.getByTestId('nav-training').click();
    await page.getByRole('heading', { level: 1, name: 'My training' }).waitFor();
    const row = page.locator(`[data-testid="my-course"][data-course="${PHISHING}"]`);
    await expect(row.getAttribute('data-status')).resolves.toBe('assigned');
    await screenshots(page, 'training-my-courses');

    await row.getByTestId('open-course').click();
    const body = page.getByTestId('course-body');
    await body.waitFor();
    expect(await body.locator('h2').count()).toBeGreaterThan(0);
    expect(await body.locator('script, iframe, [onerror], [onclick]').count()).toBe(0);
    await screenshots(page, 'training-course');

    await page.getByTestId('take-quiz').click();
    await page.getByTestId('quiz').waitFor();
    const course = server!.services.awareness.training.curriculum.mustGet(PHISHING);
    expect(await page.getByTestId('quiz-submit').isDisabled()).toBe(true);
    for (const q of course.quiz.questions)
      for (const c of q.correct) await page.getByTestId(`option-${q.id}-${c}`).check();
    await page.getByTestId('quiz-submit').click();
    const result = page.getByTestId('quiz-result');
    await result.waitFor();
    expect(await result.getAttribute('data-passed')).toBe('true');
    expect(await page.getByTestId('quiz-score').textContent()).toBe('100%');
    expect(await page.getByTestId('quiz-explanation').count()).toBe(course.quiz.questions.length);
    await screenshots(page, 'training-quiz-passed');

    const href = await page.getByTestId('open-certificate').getAttribute('href');
    expect(href).toMatch(/^\/api\/awareness\/me\/certificates\/[0-9a-f-]{36}$/);
    const cert = await openPage(learner, href!, problems);
    await cert.getByTestId('certificate').waitFor();
    expect(await cert.getByTestId('certificate-name').textContent()).toBe('Lee Learner');
    expect(await cert.getByTestId('certificate-course').textContent()).toBe(course.title);
    // The stylesheet loaded (same origin, no inline style): the border comes from it.
    expect(await cert.getByTestId('certificate').evaluate((el) => getComputedStyle(el).borderTopStyle)).toBe(
      'double',
    );
    const code = (await cert.getByTestId('certificate-code').textContent())!;
    await screenshots(cert, 'training-certificate');
    await cert.close();

    const check = await learner.request.get(`/api/awareness/certificates/verify/${encodeURIComponent(code)}`);
    expect(await check.json()).toMatchObject({ valid: true, courseId: PHISHING });

    await page.getByTestId('training-tab-results').click();
    await page.getByTestId('certificates').waitFor();
    expect(await page.getByTestId('certificate-item').count()).toBe(1);
    expect(await page.getByTestId('attempt').count()).toBe(1);
    expect(await page.getByTestId('training-tab-team').count()).toBe(0);
    await screenshots(page, 'training-results');
    await page.close();
  });

  it("a manager sees the department's training status and risk", async () => {
    const page = await openPage(manager, '/training', problems);
    await page.getByTestId('training-tab-team').click();
    await page.getByRole('heading', { level: 1, name: 'Team training' }).waitFor();
    const lee = page.locator('[data-testid="team-person"][data-name="Lee Learner"]');
    await lee.waitFor();
    expect(await lee.locator(`[data-course="${PHISHING}"] [data-status]`).getAttribute('data-status')).toBe(
      'passed',
    );
    const sam = page.locator('[data-testid="team-person"][data-name="Sam Slow"]');
    expect(await sam.locator(`[data-course="${RANSOMWARE}"] [data-status]`).getAttribute('data-status')).toBe(
      'overdue',
    );
    expect(await sam.textContent()).toContain('overdue');
    // Lee passed 1 of 1, Sam 0 of 2: 1 of 3 up to date.
    expect(await page.getByTestId('team-completion').getAttribute('data-value')).toBe('33');
    expect(await page.getByTestId('team-overdue').textContent()).toContain('Sam Slow');
    await screenshots(page, 'training-team');
    await page.close();
  });

  it('never tripped the Content-Security-Policy', () => {
    expect(problems).toEqual([]);
  });
});
