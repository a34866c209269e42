/**
 * `vigil sensor read` and `vigil sensor zeek` on the real captures and logs, as an operator runs
 * them: summaries, and clear one-line errors for what is not a capture.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ROOT } from '../support/processes.js';

const run = promisify(execFile);
const DATA = path.resolve(ROOT, '../shared/data');
const present = existsSync(path.join(DATA, 'pcap')) && existsSync(path.join(ROOT, 'dist/cli/main.js'));

/** The JSON summary lines of a command's output. */
function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function vigil(args: string[]) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: cleanEnv(), timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.skipIf(!present)(
  present ? 'vigil sensor' : 'vigil sensor (skipped: needs ../shared/data and a build)',
  () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-sensor-cli-'));
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('reads the DICOM captures and reports the associations', { timeout: 120_000 }, async () => {
      const r = await vigil([
        'sensor',
        'read',
        '--json',
        '--data-dir',
        dataDir,
        path.join(DATA, 'pcap/dicom-echo.pcap'),
        path.join(DATA, 'pcap/dicom-association-store.pcap'),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const summaries = jsonLines(r.stdout);
      expect(summaries).toHaveLength(2);
      expect(summaries[0]).toMatchObject({ packets: 25, dicomAssociations: 1, skipped: {} });
      expect(summaries[1]).toMatchObject({ dicomAssociations: 1 });
      expect(summaries.every((s) => Number(s.published) > 0)).toBe(true);
    });

    it('reads a directory of Zeek logs, in both formats, and ignores other files', {
      timeout: 180_000,
    }, async () => {
      const logs = path.join(dataDir, 'zeek-logs');
      mkdirSync(logs);
      copyFileSync(path.join(DATA, 'zeek/json/ssh.json.gz'), path.join(logs, 'a-ssh.json.gz'));
      copyFileSync(path.join(DATA, 'zeek/tsv/notice.log.gz'), path.join(logs, 'b-notice.log.gz'));
      writeFileSync(path.join(logs, 'README.txt'), 'not a log');
      const r = await vigil(['sensor', 'zeek', '--json', '--data-dir', dataDir, logs]);
      expect(r.code, r.stderr).toBe(0);
      const summaries = jsonLines(r.stdout);
      expect(summaries.map((s) => [s.format, s.records, s.published])).toEqual([
        ['json', 22, 22],
        ['tsv', 207, 207],
      ]);
    });

    it('says what is wrong with a file that is not a capture, or is missing', {
      timeout: 120_000,
    }, async () => {
      const notCapture = await vigil([
        'sensor',
        'read',
        '--data-dir',
        dataDir,
        path.join(ROOT, 'package.json'),
      ]);
      expect(notCapture.code).toBe(0);
      expect(notCapture.stdout).toMatch(/stopped: bad-magic/);
      const missing = await vigil(['sensor', 'read', '--data-dir', dataDir, '/nonexistent.pcap']);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('/nonexistent.pcap: no such file');
      expect(missing.stderr).not.toMatch(/\n\s+at /);
    });
  },
);
