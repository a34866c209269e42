/**
 * `vigil sensor live` and `vigil sensor zeek --follow` as an operator meets them: one clear line
 * and exit code 2 when tcpdump is missing, may not capture (run as an unprivileged user), the
 * interface does not exist or the filter is refused; and a follower that picks up appended Zeek
 * lines and stops on SIGTERM with its summary.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv } from '../support/processes.js';
import {
  ensureBuilt,
  killAllVigil,
  runVigil,
  spawnVigil,
  stopVigil,
  waitFor,
} from '../support/vigil-process.js';
import { canDropPrivileges, captureSkipReason, TCPDUMP } from './live-support.js';
import { DATA, skipReason } from './support.js';

const noCapture = captureSkipReason();
if (noCapture) console.warn(`live-cli.test.ts: ${noCapture}`);

describe('vigil sensor live and zeek --follow from the command line', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'vigil-live-cli-'));
  const dataDir = path.join(work, 'data');
  beforeAll(() => ensureBuilt(), 600_000);
  afterAll(async () => {
    await killAllVigil();
    rmSync(work, { recursive: true, force: true });
  });

  /** Exit code 2, the expected message on one line, no stack trace. */
  function expectClearError(r: { code: number | null; stderr: string; output: string }, message: RegExp) {
    expect(r.code, r.output).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  it('says what to install when tcpdump is missing', { timeout: 120_000 }, async () => {
    const r = await runVigil(
      ['sensor', 'live', '--interface', 'lo', '--tcpdump', '/nonexistent/tcpdump', '--data-dir', dataDir],
      {},
      work,
    );
    expectClearError(
      r,
      /^vigil: tcpdump is not installed at \/nonexistent\/tcpdump: install it \(Debian\/Ubuntu: apt-get install tcpdump/,
    );
  });

  it.skipIf(noCapture !== null)(
    'names an interface that does not exist, and a filter tcpdump refuses',
    { timeout: 180_000 },
    async () => {
      const noIf = await runVigil(
        ['sensor', 'live', '--interface', 'nosuch0', '--data-dir', dataDir],
        {},
        work,
      );
      expectClearError(noIf, /^vigil: no network interface named nosuch0 .*ip link/m);
      const badFilter = await runVigil(
        ['sensor', 'live', '-i', 'lo', '--filter', 'port 99999999', '--data-dir', dataDir],
        {},
        work,
      );
      expectClearError(badFilter, /^vigil: tcpdump refused the filter "port 99999999": .*pcap-filter/m);
    },
  );

  it.skipIf(!TCPDUMP || !canDropPrivileges())(
    'tells an unprivileged user how to get the right to capture',
    { timeout: 120_000 },
    async () => {
      // The whole command as nobody: tcpdump itself refuses, vigil says what to do.
      const own = path.join(work, 'nobody');
      chmodSync(work, 0o755);
      mkdirSync(own);
      chownSync(own, 65534, 65534);
      const env = cleanEnv({ HOME: own });
      let stderr = '';
      let code = 0;
      try {
        execFileSync(
          'setpriv',
          [
            '--reuid',
            '65534',
            '--regid',
            '65534',
            '--clear-groups',
            process.execPath,
            BIN,
            'sensor',
            'live',
            '--interface',
            'lo',
            '--data-dir',
            path.join(own, 'data'),
          ],
          { cwd: own, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
        );
      } catch (err) {
        const e = err as { status: number; stderr: string };
        code = e.status;
        stderr = e.stderr;
      }
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(
        /^vigil: tcpdump may not capture on lo \(.+\)\. Run vigil as root, or allow tcpdump/m,
      );
      expect(stderr).toContain(`setcap cap_net_raw,cap_net_admin=eip ${TCPDUMP}`);
    },
  );

  it.skipIf(skipReason() !== null)(
    'follows a Zeek log until SIGTERM and prints what it read',
    { timeout: 180_000 },
    async () => {
      const lines = execFileSync('zcat', [path.join(DATA, 'zeek/json/ssh.json.gz')], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      const dir = path.join(work, 'zeek');
      mkdirSync(dir);
      const log = path.join(dir, 'ssh.json');
      writeFileSync(log, `${lines[0]}\n`);
      const p = spawnVigil(['sensor', 'zeek', '--follow', '--json', '--data-dir', dataDir, dir], {}, work);
      await waitFor(() => (p.stderr().includes(`${log}: following`) ? true : undefined), 'the follower', {
        proc: p,
      });
      appendFileSync(log, `${lines[1]}\nnot json at all\n${lines[2]}\n`);
      await waitFor(
        () => (/following 1 files: 3 records, 1 skipped/.test(p.stderr()) ? true : undefined),
        'the appended records',
        { proc: p },
      );
      // Truncated and rewritten: read again from the top.
      writeFileSync(log, `${lines[3]}\n`);
      await waitFor(() => (p.stderr().includes(`${log}: truncated`) ? true : undefined), 'the truncation', {
        proc: p,
      });
      const exit = await stopVigil(p);
      expect(exit, p.output()).toEqual({ code: 0, signal: null });
      const out = p
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(out[0]).toMatchObject({ file: log, format: 'json', records: 4, skipped: { 'bad-json': 1 } });
      expect(out[1]).toEqual({ published: 4 });
    },
  );
});
