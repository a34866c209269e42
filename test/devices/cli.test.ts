/**
 * `vigil sensor read` fills the inventory in one process, and `vigil devices list|show` print it
 * for people and, with --json, one object per device with identity, type, criticality and evidence;
 * `vigil devices export|import` move the hand-kept fields to and from a CMMS as CSV, all or nothing.
 * Runs the command in-process (no build needed).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { hasPcaps, PCAP_DIR } from './fixture.js';

async function vigil(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    err += String(c);
    return true;
  });
  try {
    const code = await main(['node', 'vigil', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe.skipIf(!hasPcaps)(
  hasPcaps ? 'vigil devices' : 'vigil devices (skipped: ../shared/data/pcap is not beside this clone)',
  () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-devices-cli-'));
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('sensor read fills the inventory; devices list and show print it', { timeout: 60_000 }, async () => {
      const read = await vigil([
        'sensor',
        'read',
        '--data-dir',
        dataDir,
        `${PCAP_DIR}dicom-echo.pcap`,
        `${PCAP_DIR}dicom-association-store.pcap`,
      ]);
      expect(read.code, read.err).toBe(0);
      const list = await vigil(['devices', 'list', '--data-dir', dataDir]);
      expect(list.code, list.err).toBe(0);
      expect(list.out).toMatch(/DCM4CHEE\s+pacs\s+patient-care/);
      const json = await vigil(['devices', 'list', '--json', '--data-dir', dataDir]);
      const devices = json.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(devices.length).toBeGreaterThanOrEqual(4);
      const osirix = devices.find((d) => d.ip === '167.73.217.32');
      expect(osirix).toMatchObject({
        type: 'dicom-workstation',
        criticality: 'patient-care',
        mac: '00:23:12:53:12:1e',
      });
      expect(osirix.identity.ae_title[0]).toMatchObject({
        value: 'OSIRIX',
        evidence: expect.stringMatching(/association/),
      });
      expect(osirix.classification.reason).toBeTruthy();
      const show = await vigil(['devices', 'show', '64.186.47.79', '--data-dir', dataDir]);
      expect(show.out).toMatch(/dcm4che-1\.4\.22/);
      expect(show.out).toMatch(/criticality patient-care/);
      const showJson = JSON.parse(
        (await vigil(['devices', 'show', osirix.id, '--json', '--data-dir', dataDir])).out,
      );
      expect(showJson.id).toBe(osirix.id);
      const missing = await vigil(['devices', 'show', 'nope', '--data-dir', dataDir]);
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/no such device/);
    });

    it('devices export writes CSV; import sets the hand-kept fields, all rows or none', async () => {
      const csvFile = path.join(dataDir, 'cmms.csv');
      const exported = await vigil(['devices', 'export', '--output', csvFile, '--data-dir', dataDir]);
      expect(exported.code, exported.err).toBe(0);
      const csv = readFileSync(csvFile, 'utf8');
      expect(csv.split('\n')[0]).toMatch(/^id,mac,ip,name/);
      expect(csv).toContain('167.73.217.32');

      writeFileSync(
        csvFile,
        'ip,owner,location,criticality\n167.73.217.32,Radiology,Room 4,life-sustaining\n',
      );
      const ok = await vigil(['devices', 'import', csvFile, '--data-dir', dataDir]);
      expect(ok.code, ok.err).toBe(0);
      expect(ok.out).toMatch(/1 rows: 1 devices updated/);
      const after = JSON.parse(
        (await vigil(['devices', 'show', '167.73.217.32', '--json', '--data-dir', dataDir])).out,
      );
      expect(after.criticality).toBe('life-sustaining');

      // One bad row: nothing is written, every problem is listed.
      writeFileSync(
        csvFile,
        'ip,owner,criticality\n167.73.217.32,Cardiology,patient-care\n10.255.255.1,Nobody,patient-care\n64.186.47.79,X,extreme\n',
      );
      const bad = await vigil(['devices', 'import', csvFile, '--data-dir', dataDir]);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/nothing was imported/);
      expect(bad.err).toMatch(/row 3, ip: no device/);
      expect(bad.err).toMatch(/row 4, criticality/);
      const unchanged = await vigil(['devices', 'export', '--data-dir', dataDir]);
      expect(unchanged.out).toContain('Radiology');
      expect(unchanged.out).not.toContain('Cardiology');
    });
  },
);
