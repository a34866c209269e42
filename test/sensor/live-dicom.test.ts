/**
 * The live round trip the issue asks for, with real peers: DCMTK's `storescu` sends a DICOM file
 * (made with `dump2dcm`, carrying equipment tags and a patient name and id) to `storescp` on
 * loopback while the real `vigil sensor live --interface lo` captures it into a fresh SQLite data
 * directory. The inventory then shows both ends with their implementation class UID and version
 * name, the sender with its equipment fields; the patient name and id are nowhere in the database
 * files (raw bytes, WAL included). Skips, saying why, without tcpdump, DCMTK or capture rights.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processes.js';
import {
  ensureBuilt,
  killAllVigil,
  spawnVigil,
  stopVigil,
  vigilOk,
  waitFor,
} from '../support/vigil-process.js';
import { captureSkipReason, dcmtkSkipReason } from './live-support.js';

const run = promisify(execFile);
const skip = captureSkipReason() ?? dcmtkSkipReason();
if (skip) console.warn(`live-dicom.test.ts ${skip}`);

const PATIENT_NAME = 'Zyxwvut^Quirinella';
const PATIENT_ID = 'PIDQ98765X';
const EQUIPMENT = {
  manufacturer: 'Vigil Test Imaging Corp',
  model: 'Panorama 640',
  software_version: 'VX 12.3.4',
  serial_number: 'SN-4471-ABC',
  modality: 'CT',
  station_name: 'CTSTATION7',
};

/** A CT image as dcmdump text: equipment tags, a patient, and a tiny pixel matrix. */
const DUMP = `(0002,0001) OB 00\\01
(0002,0002) UI =CTImageStorage
(0002,0003) UI [1.2.826.0.1.3680043.8.498.91001]
(0002,0010) UI =LittleEndianExplicit
(0008,0016) UI =CTImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.8.498.91001]
(0008,0060) CS [${EQUIPMENT.modality}]
(0008,0070) LO [${EQUIPMENT.manufacturer}]
(0008,1010) SH [${EQUIPMENT.station_name}]
(0008,1090) LO [${EQUIPMENT.model}]
(0010,0010) PN [${PATIENT_NAME}]
(0010,0020) LO [${PATIENT_ID}]
(0018,1000) LO [${EQUIPMENT.serial_number}]
(0018,1020) LO [${EQUIPMENT.software_version}]
(0020,000d) UI [1.2.826.0.1.3680043.8.498.91002]
(0020,000e) UI [1.2.826.0.1.3680043.8.498.91003]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 2
(0028,0011) US 2
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 0
(7fe0,0010) OW 0000\\0001\\0002\\0003
`;

/** Every file under `dir`, recursively, as raw bytes. */
function rawFiles(dir: string): Array<{ file: string; bytes: Buffer }> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...rawFiles(p));
    else out.push({ file: p, bytes: readFileSync(p) });
  }
  return out;
}

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

interface DeviceJson {
  id: string;
  ip: string | null;
  type: string;
  identity: Record<string, Array<{ value: string; source: string; evidence: string }>>;
}

describe.skipIf(skip !== null)('vigil sensor live on lo with DCMTK peers', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'vigil-live-dicom-'));
  const dataDir = path.join(work, 'data');
  const received = path.join(work, 'received');
  let storescp: ChildProcess | null = null;

  beforeAll(() => ensureBuilt(), 600_000);
  afterAll(async () => {
    await killAllVigil();
    if (storescp && storescp.exitCode === null) {
      storescp.kill('SIGTERM');
      await new Promise((r) => storescp?.once('close', r));
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('captures a C-STORE and inventories both ends, without the patient', { timeout: 300_000 }, async () => {
    mkdirSync(received);
    writeFileSync(path.join(work, 'ct.dump'), DUMP);
    await run('dump2dcm', ['--write-file', path.join(work, 'ct.dump'), path.join(work, 'ct.dcm')]);
    // The file really carries the patient: what is asserted absent below did cross the wire.
    expect(readFileSync(path.join(work, 'ct.dcm')).includes(PATIENT_NAME)).toBe(true);

    const port = await freePort();
    storescp = spawn('storescp', ['-aet', 'VIGILPACS', '--output-directory', received, String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitFor(
      async () => ((await canConnect(port, '127.0.0.1')) ? true : undefined),
      'storescp to listen',
      {
        timeoutMs: 30_000,
      },
    );

    const sensor = spawnVigil(
      [
        'sensor',
        'live',
        '--interface',
        'lo',
        '--filter',
        `tcp port ${port}`,
        '--json',
        '--data-dir',
        dataDir,
      ],
      {},
      work,
    );
    await waitFor(
      () => (sensor.stderr().includes('capturing (tcpdump: listening on lo') ? true : undefined),
      'the sensor to capture',
      { proc: sensor, timeoutMs: 120_000 },
    );

    // 127.0.0.2 is another loopback address: the kernel sends from 127.0.0.1, so the two ends differ.
    const scu = await run(
      'storescu',
      ['-aet', 'MODALITY7', '-aec', 'VIGILPACS', '127.0.0.2', String(port), path.join(work, 'ct.dcm')],
      { timeout: 60_000 },
    );
    expect(scu.stderr).not.toMatch(/E: /);
    await waitFor(() => (readdirSync(received).length > 0 ? true : undefined), 'storescp to store the file', {
      timeoutMs: 30_000,
    });

    const exit = await stopVigil(sensor);
    expect(exit, sensor.output()).toEqual({ code: 0, signal: null });
    expect(sensor.stderr()).toContain('SIGTERM: stopping');
    const summary = JSON.parse(sensor.stdout().trim().split('\n').pop()!) as Record<string, unknown>;
    expect(summary).toMatchObject({
      interface: 'lo',
      filter: `tcp port ${port}`,
      connections: 1,
      devices: 2,
      dicomAssociations: 1,
      skipped: {},
      stopped: null,
      droppedByKernel: 0,
    });
    expect(Number(summary.dicomCommands)).toBeGreaterThanOrEqual(2);
    expect(Number(summary.packets)).toBeGreaterThan(6);
    expect(Number(summary.published)).toBeGreaterThanOrEqual(4);

    // No patient name or id anywhere in the data directory: database, WAL, keys.
    const files = rawFiles(dataDir);
    expect(files.some((f) => f.file.endsWith('.sqlite'))).toBe(true);
    for (const { file, bytes } of files) {
      expect(bytes.includes(PATIENT_NAME), file).toBe(false);
      expect(bytes.includes('Quirinella'), file).toBe(false);
      expect(bytes.includes(PATIENT_ID), file).toBe(false);
    }

    const out = await vigilOk(['devices', 'list', '--json', '--data-dir', dataDir], {}, work);
    const devices = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DeviceJson);
    const values = (d: DeviceJson | undefined, name: string) => d?.identity[name]?.map((a) => a.value) ?? [];
    const modality = devices.find((d) => d.ip === '127.0.0.1');
    const pacs = devices.find((d) => d.ip === '127.0.0.2');
    expect(modality, out).toBeDefined();
    expect(pacs, out).toBeDefined();
    for (const d of [modality, pacs]) {
      expect(values(d, 'dicom_implementation_class_uid')[0]).toMatch(/^1\.2\.276\.0\.7230010\.3\./);
      expect(values(d, 'dicom_implementation_version')[0]).toMatch(/^OFFIS_DCMTK_\d+$/);
    }
    expect(values(modality, 'ae_title')).toEqual(['MODALITY7']);
    expect(values(pacs, 'ae_title')).toEqual(['VIGILPACS']);
    expect(values(modality, 'dicom_role')).toEqual(['scu']);
    expect(values(pacs, 'dicom_role')).toEqual(['scp']);
    for (const [name, value] of Object.entries(EQUIPMENT)) expect(values(modality, name)).toEqual([value]);
    expect(modality?.identity.manufacturer?.[0]?.evidence).toMatch(/net\.dicom\.command C-STORE/);
    expect(modality?.type).toBe('imaging-modality');
    expect(JSON.stringify(devices)).not.toContain('Quirinella');

    // Reading the inventory wrote nothing that names the patient either.
    for (const { file, bytes } of rawFiles(dataDir)) expect(bytes.includes(PATIENT_ID), file).toBe(false);
  });
});
