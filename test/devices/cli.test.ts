/**
 * `vigil sensor read` fills the inventory in one process, and `vigil devices list|show` print it
 * for people and, with --json, one object per device with identity, type, criticality and evidence.
 * Runs the command in-process (no build needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
  },
);
