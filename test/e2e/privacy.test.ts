/**
 * End to end, in headless Debian Chromium against an in-process server (so the test can seed the
 * vault through its services): a clinician linked to a practitioner breaks the glass for a patient
 * outside their care and reads the record; a privacy officer reviews the grant on the Privacy page,
 * follows it into the audit trail, pages on, filters and downloads the trail as NDJSON; an admin
 * links another clinician to a practitioner by NPI from the Users page, sees a refusal explained,
 * and removes the link. The pages must never trip the server's Content-Security-Policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/core/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import {
  hasChromium,
  launchChromium,
  openPage as open,
  RESULTS,
  requireWebBuild,
  screenshots,
  signedIn as signedInAs,
} from './support/browser.js';

const NPI = 'http://hl7.org/fhir/sid/us-npi';
const REASON = 'Unconscious in ED, no history';
/** Reads the clinician makes under the grant: more than one page (50) of the audit trail. */
const READS = 60;

const suiteTitle = hasChromium
  ? 'privacy review and practitioner links in headless Chromium'
  : 'privacy review and practitioner links (skipped: Debian chromium not installed: apt-get install chromium)';

describe.skipIf(!hasChromium)(suiteTitle, () => {
  let dataDir = '';
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let officer: BrowserContext;
  let admin: BrowserContext;
  let wilsonId = '';
  const pageProblems: string[] = [];

  beforeAll(async () => {
    requireWebBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-privacy-'));
    // A checkpoint every 25 entries, so the page has signatures to show.
    const config = validateConfig({
      dataDir,
      server: { host: '127.0.0.1', port: 0 },
      vault: { auditCheckpointEvery: 25 },
    });
    server = await startServer(config, silentLogger());
    const { vault, identity } = server.services;
    await vault.warmUp();

    // The vault's data, as an import would bring it.
    await vault.importBatch({ id: 'op', role: 'admin' }, [
      { resourceType: 'Practitioner', id: 'wilson', identifier: [{ system: NPI, value: '3333333333' }] },
      { resourceType: 'Practitioner', id: 'okafor', identifier: [{ system: NPI, value: '9999974493' }] },
      { resourceType: 'Patient', id: 'p-cared', name: [{ family: 'Cared' }] },
      { resourceType: 'Patient', id: 'p-ed', name: [{ family: 'Emergency' }] },
      {
        resourceType: 'Encounter',
        id: 'e-1',
        status: 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
        subject: { reference: 'Patient/p-cared' },
        participant: [{ individual: { reference: 'Practitioner/wilson' } }],
      },
    ]);

    // Two clinicians: Wilson linked by an operator, Okafor left for the admin to link in the console.
    wilsonId = (
      await identity.users.create({ username: 'dr.wilson', displayName: 'Grace Wilson', role: 'clinician' })
    ).user.id;
    await identity.users.create({ username: 'dr.okafor', displayName: 'Ada Okafor', role: 'clinician' });
    await vault.linkStaff({ id: 'op', role: 'admin' }, wilsonId, 'wilson');

    // Wilson is refused a patient outside her care, breaks the glass, and reads the record.
    const wilson = { id: wilsonId, role: 'clinician' as const };
    await expect(vault.read(wilson, 'Patient', 'p-ed')).rejects.toThrow();
    await vault.declareBreakGlass(wilson, 'p-ed', REASON);
    for (let i = 0; i < READS; i++) await vault.read(wilson, 'Patient', 'p-ed');

    browser = await launchChromium();
    officer = await signedIn('pia.privacy', 'privacy-officer');
    admin = await signedIn('al.admin', 'admin');
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const signedIn = (username: string, role: Role): Promise<BrowserContext> =>
    signedInAs(browser!, server!, username, role);
  const openPage = (context: BrowserContext, path: string): Promise<Page> =>
    open(context, path, pageProblems);

  it('shows the privacy officer the emergency access to review, and only to them', async () => {
    const page = await openPage(officer, '/privacy');
    await page.getByRole('heading', { level: 1, name: 'Privacy' }).waitFor();
    expect(await page.getByTestId('nav-privacy').getAttribute('aria-current')).toBe('page');
    expect(await page.getByTestId('nav-users').count()).toBe(0);

    const grant = page.locator('[data-testid="break-glass-row"][data-patient="p-ed"]');
    await grant.waitFor();
    await expect(grant.getByTestId('break-glass-reason').textContent()).resolves.toBe(REASON);
    await expect(grant.textContent()).resolves.toContain(wilsonId);
    await expect(grant.getByTestId('break-glass-active').textContent()).resolves.toBe('Active');
    expect(await grant.getAttribute('data-active')).toBe('true');
    await expect(page.getByTestId('break-glass-count').textContent()).resolves.toMatch(
      /1 grant .*1 still active/,
    );

    // A period is a new question to the server; the grant is within the last 24 hours too.
    await page.getByTestId('break-glass-period').selectOption('24h');
    await grant.waitFor();
    expect(await page.getByTestId('break-glass-row').count()).toBe(1);

    // The signed checkpoints of the chain (every 25 entries here).
    await page.getByTestId('signatures-latest').waitFor();
    await expect(page.getByTestId('signatures-latest').textContent()).resolves.toMatch(/Entries 1 to \d+/);

    // Other roles do not see the page: the admin's navigation has no Privacy entry.
    const adminPage = await openPage(admin, '/privacy');
    await adminPage.getByRole('heading', { level: 1, name: 'Not available to your role' }).waitFor();
    expect(await adminPage.getByTestId('nav-privacy').count()).toBe(0);
    await adminPage.close();
    await page.close();
  }, 90_000);

  it('shows the audit trail with the break-the-glass marker, pages on, filters and downloads', async () => {
    const page = await openPage(officer, '/privacy');
    const rows = page.getByTestId('audit-row');
    await rows.first().waitFor();
    // The first page holds 50 entries; the reads under the grant carry its reason.
    await expect.poll(() => rows.count()).toBe(50);
    const marked = page.locator('[data-testid="audit-row"][data-break-glass="true"]');
    expect(await marked.count()).toBeGreaterThan(0);
    await expect(marked.first().getByTestId('audit-break-glass-reason').textContent()).resolves.toBe(REASON);
    await expect(marked.first().textContent()).resolves.toContain(wilsonId);

    // "Load more" follows the search's next link.
    await page.getByTestId('audit-more').click();
    await expect.poll(() => rows.count()).toBeGreaterThan(50);

    // Each entry opens to its FHIR JSON.
    await marked.first().getByTestId('audit-expand').click();
    const json = JSON.parse((await page.getByTestId('audit-json').first().textContent()) ?? '{}');
    expect(json).toMatchObject({ resourceType: 'AuditEvent', purposeOfEvent: [{ text: REASON }] });

    // From the grant to what was done under it: the filter names the clinician and the patient.
    const grant = page.locator('[data-testid="break-glass-row"][data-patient="p-ed"]');
    await grant.getByTestId('break-glass-audit').click();
    await expect.poll(() => page.getByTestId('audit-agent').inputValue()).toBe(wilsonId);
    expect(await page.getByTestId('audit-patient').inputValue()).toBe('p-ed');
    await page.getByTestId('audit-clear').waitFor();
    // Newest first: the 50 latest of her 60 reads under the grant, each marked with its reason.
    const shown = () =>
      rows.evaluateAll((r) =>
        r.map((x) => `${x.getAttribute('data-action')}:${x.getAttribute('data-break-glass')}`),
      );
    await expect.poll(shown).toEqual(Array(50).fill('read:true'));
    await screenshots(page, 'privacy-review');

    // The next page ends with the declaration and, before it, the refusal that led to it.
    await page.getByTestId('audit-more').click();
    await expect.poll(shown).toEqual([...Array(READS).fill('read:true'), 'break-glass:true', 'read:false']);
    await expect(rows.last().textContent()).resolves.toContain('Denied');

    // Execute-type actions only (E), for this clinician and patient: the declaration.
    await page.getByTestId('audit-action').selectOption('E');
    await page.getByTestId('audit-search').click();
    await expect.poll(shown).toEqual(['break-glass:true']);
    await expect(page.getByTestId('audit-count').textContent()).resolves.toContain('that is all');

    // Days in the wrong order are caught in the form; a patient id the server refuses shows its message.
    await page.getByTestId('audit-from').fill('2030-01-02');
    await page.getByTestId('audit-to').fill('2030-01-01');
    await page.getByTestId('audit-search').click();
    await page.getByTestId('audit-range-error').waitFor();
    await page.getByTestId('audit-from').fill('');
    await page.getByTestId('audit-to').fill('');
    await page.getByTestId('audit-patient').fill('not a/valid id');
    await page.getByTestId('audit-search').click();
    await expect(page.getByTestId('audit-error').textContent()).resolves.toMatch(/patient/i);

    // A day with nothing in it says so, with a way back.
    await page.getByTestId('audit-patient').fill('p-ed');
    await page.getByTestId('audit-from').fill('2001-01-01');
    await page.getByTestId('audit-to').fill('2001-01-01');
    await page.getByTestId('audit-search').click();
    await page.getByTestId('audit-empty').waitFor();
    await page.getByTestId('audit-empty').getByRole('button', { name: 'Clear the filters' }).click();
    await expect.poll(() => rows.count()).toBe(50);

    // The NDJSON download: the trail's AuditEvents, one per line, the grant's reason among them.
    const href = await page.getByTestId('audit-export').getAttribute('href');
    expect(href).toBe('/api/vault/audit/export');
    const res = await page.request.get(href!);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toContain('application/fhir+ndjson');
    const lines = (await res.text()).trim().split('\n');
    expect(lines.length).toBeGreaterThan(READS);
    expect(
      lines.every((l) => (JSON.parse(l) as { resourceType: string }).resourceType === 'AuditEvent'),
    ).toBe(true);
    expect(lines.some((l) => l.includes(REASON))).toBe(true);
    await page.close();
  }, 120_000);

  it('lets an admin link a clinician to a practitioner by NPI, explains a refusal, and removes it', async () => {
    const page = await openPage(admin, '/users');
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await expect(page.getByTestId('links-explained').textContent()).resolves.toContain(
      'the clinician gets the care relationships of this practitioner',
    );

    // The operator's link is listed.
    await page
      .locator('[data-testid="link-row"][data-username="dr.wilson"][data-practitioner="wilson"]')
      .waitFor();

    const okafor = page.locator('[data-testid="link-row"][data-username="dr.okafor"]');
    await expect(okafor.textContent()).resolves.toContain('Not linked');
    await okafor.getByTestId('link-edit').click();
    const input = page.getByTestId('link-practitioner-input');
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true);

    // An identifier no practitioner has: the server's message, at the field.
    await input.fill(`${NPI}|0000000000`);
    await page.getByTestId('link-save').click();
    await expect(page.getByTestId('link-error').textContent()).resolves.toContain(
      `No practitioner has identifier ${NPI}|0000000000`,
    );
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    await page.screenshot({ path: join(RESULTS, 'privacy-practitioner-link-error.png'), fullPage: true });

    await input.fill(`${NPI}|9999974493`);
    await page.getByTestId('link-save').click();
    await page
      .locator('[data-testid="link-row"][data-username="dr.okafor"][data-practitioner="okafor"]')
      .waitFor();
    await expect(page.getByTestId('links-notice').textContent()).resolves.toContain(
      'dr.okafor is now linked to Practitioner/okafor',
    );
    await expect(okafor.getByTestId('link-practitioner').textContent()).resolves.toBe('Practitioner/okafor');
    await expect(okafor.textContent()).resolves.toContain('by al.admin');
    const okaforId = (await server!.services.identity.users.get('dr.okafor'))!.id;
    expect(await server!.services.vault.staffLinks()).toContainEqual(
      expect.objectContaining({ userId: okaforId, practitionerId: 'okafor' }),
    );
    await page.getByTestId('links-table').scrollIntoViewIfNeeded();
    await screenshots(page, 'privacy-practitioner-links');

    // Removing asks first, then the clinician is unlinked.
    await okafor.getByTestId('link-remove').click();
    await okafor.getByTestId('link-remove-confirm').click();
    await page
      .locator('[data-testid="link-row"][data-username="dr.okafor"]:not([data-practitioner])')
      .waitFor();
    expect((await server!.services.vault.staffLinks()).map((l) => l.userId)).toEqual([wilsonId]);
    await page.close();
  }, 90_000);

  it('never trips the Content-Security-Policy and has no page errors', () => {
    expect(pageProblems).toEqual([]);
  });
});
