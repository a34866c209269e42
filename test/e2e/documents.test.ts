/**
 * End to end, in headless Debian Chromium against an in-process server: a clinician finds a
 * patient in their care by name, uploads a PDF to their documents with progress and downloads it
 * back byte for byte; a patient outside their care is not found by name, is refused when opened
 * by id, and opens after the clinician declares an emergency with a reason (a too-short reason is
 * refused first). The page never trips the Content-Security-Policy.
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

const PDF = Buffer.concat([
  Buffer.from('%PDF-1.4\n% discharge letter\n', 'latin1'),
  Buffer.alloc(300_000, 0x41),
  Buffer.from('\n%%EOF\n', 'latin1'),
]);

const suiteTitle = hasChromium
  ? 'patient documents and break-the-glass in headless Chromium'
  : 'patient documents (skipped: Debian chromium not installed: apt-get install chromium)';

describe.skipIf(!hasChromium)(suiteTitle, () => {
  let dataDir = '';
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let doctor: BrowserContext;
  let doctorId = '';
  const problems: string[] = [];

  beforeAll(async () => {
    requireWebBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-documents-'));
    server = await startServer(
      validateConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
      silentLogger(),
    );
    const { vault } = server.services;
    await vault.warmUp();
    await vault.importBatch({ id: 'op', role: 'admin' }, [
      { resourceType: 'Practitioner', id: 'house' },
      { resourceType: 'Patient', id: 'p-cared', name: [{ family: 'Lindqvist', given: ['Maja'] }] },
      { resourceType: 'Patient', id: 'p-stranger', name: [{ family: 'Okonkwo', given: ['Emeka'] }] },
      {
        resourceType: 'Encounter',
        id: 'e-1',
        status: 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
        subject: { reference: 'Patient/p-cared' },
        participant: [{ individual: { reference: 'Practitioner/house' } }],
      },
    ]);
    browser = await launchChromium();
    doctor = await signedIn(browser, server, 'dr.house', 'clinician');
    doctorId = (await server.services.identity.users.get('dr.house'))!.id;
    await vault.linkStaff({ id: 'op', role: 'admin' }, doctorId, 'house');
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('finds a patient in care, uploads a PDF with progress and downloads the same bytes', async () => {
    const page = await openPage(doctor, '/documents', problems);
    await page.getByRole('heading', { level: 1, name: 'Patient documents' }).waitFor();
    await page.getByTestId('patient-name').fill('Okonkwo');
    await page.getByTestId('patient-search').click();
    await page.getByTestId('patient-none').waitFor();

    await page.getByTestId('patient-name').fill('Lindqvist');
    await page.getByTestId('patient-search').click();
    await page.getByTestId('patient-open').click();
    await page.getByTestId('documents-empty').waitFor();

    await page.getByTestId('upload-input').setInputFiles({
      name: 'discharge-letter.pdf',
      mimeType: 'application/pdf',
      buffer: PDF,
    });
    await expect(page.getByTestId('upload-file-name').textContent()).resolves.toBe('discharge-letter.pdf');
    await page.getByTestId('upload-title').fill('Discharge letter');
    await page.getByTestId('upload-submit').click();
    const row = page.getByTestId('document-row').first();
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('Discharge letter');
    await screenshots(page, 'documents-patient');

    const href = await row.getByTestId('document-download').getAttribute('href');
    expect(href).toMatch(/^\/fhir\/Binary\//);
    const res = await doctor.request.get(href!);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toContain('application/pdf');
    expect(Buffer.compare(await res.body(), PDF)).toBe(0);
  });

  it('refuses a patient outside care, then opens them after a declared emergency', async () => {
    const page = await openPage(doctor, '/documents', problems);
    await page.getByTestId('emergency-patient-id').fill('p-stranger');
    await page.getByTestId('emergency-open').click();
    await page.getByTestId('break-glass-form').waitFor();
    await expect(page.getByTestId('break-glass-form').textContent()).resolves.toMatch(/break-the-glass/);

    await page.getByTestId('break-glass-reason').fill('short');
    await page.getByTestId('break-glass-declare').click();
    await page.getByText(/reason must be 10 to 500 characters/).waitFor();
    await screenshots(page, 'documents-break-glass');

    await page.getByTestId('break-glass-reason').fill('Found unresponsive in the car park, treating in ED');
    await page.getByTestId('break-glass-declare').click();
    await expect(page.getByTestId('documents-patient').textContent()).resolves.toContain('Okonkwo');
    const grants = await server!.services.vault.breakGlassGrants(
      { id: 'officer', role: 'privacy-officer' },
      new Date(0),
    );
    expect(grants).toMatchObject([{ userId: doctorId, patientId: 'p-stranger' }]);
  });

  it('never trips the Content-Security-Policy and has no page errors', () => {
    expect(problems).toEqual([]);
  });
});
