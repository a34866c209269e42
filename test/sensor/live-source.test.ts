/**
 * Live capture sources on real processes: tcpdump capturing on `lo` while an HL7/MLLP exchange runs
 * over loopback, and everything that goes wrong: no such interface, a filter tcpdump refuses,
 * tcpdump missing, no permission to capture (tcpdump's own words, run as an unprivileged user), a
 * capture process whose output ends in the middle of a record, one that fails after writing, and a
 * reader that gives up on a stream that is not a capture.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { VigilError } from '../../src/core/index.js';
import {
  type CaptureSource,
  findTcpdump,
  mllpFrame,
  processSource,
  Sensor,
  type SensorSummary,
  tcpdumpError,
  tcpdumpSource,
} from '../../src/sensor/index.js';
import { freePort } from '../support/processes.js';
import { canDropPrivileges, captureSkipReason, TCPDUMP } from './live-support.js';
import { HL7_DIR, KEY, PCAP_DIR, skipReason } from './support.js';

const noCapture = captureSkipReason();
if (noCapture) console.warn(`live-source.test.ts: ${noCapture}`);
const noData = skipReason();
if (noData) console.warn(`live-source.test.ts: ${noData}`);

/** Runs the sensor over a source; returns the summary, the events' kinds and the outcome. */
async function runSource(source: CaptureSource, onStart?: () => void) {
  const kinds: string[] = [];
  const sensor = new Sensor({ patientIdKey: KEY, onEvent: (e) => kinds.push(e.kind) });
  async function* started() {
    onStart?.();
    yield* source.chunks();
  }
  const summary: SensorSummary = await sensor.read(started());
  const outcome = await source.outcome();
  return { summary, kinds, outcome };
}

function failure(stderr: string) {
  return (end: { code: number | null }) =>
    new VigilError('UNAVAILABLE', `capture process exited with code ${end.code}: ${stderr}`);
}

describe.skipIf(noCapture !== null || noData !== null)('tcpdump on lo (real capture)', () => {
  it('captures an HL7 exchange over loopback and stops cleanly with its counters', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const message = readFileSync(`${HL7_DIR}ADT-A01-01.hl7`);
    const received: Buffer[] = [];
    const server = createServer((s: Socket) => {
      s.on('data', (b) => {
        received.push(b);
        s.end(mllpFrame(Buffer.from('MSH|^~\\&|ACK|HOSP|||20240101||ACK^A01|1|P|2.5\rMSA|AA|1\r')));
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    let listening!: () => void;
    const ready = new Promise<void>((r) => {
      listening = r;
    });
    const source = tcpdumpSource({
      interface: 'lo',
      filter: `tcp port ${port}`,
      onListening: () => listening(),
    });
    const run = runSource(source);
    await ready;
    await new Promise<void>((resolve, reject) => {
      const c = tcpConnect(port, '127.0.0.1', () => c.write(mllpFrame(message)));
      c.on('data', () => {});
      c.on('close', () => resolve());
      c.on('error', reject);
    });
    // -U writes each packet as it comes; give the last ones a moment to reach the pipe.
    await new Promise((r) => setTimeout(r, 500));
    source.stop();
    const { summary, kinds, outcome } = await run;
    server.close();
    expect(received.length).toBeGreaterThan(0);
    expect(outcome.error).toBeNull();
    expect(outcome.captured).toBeGreaterThanOrEqual(summary.packets);
    expect(outcome.droppedByKernel).toBe(0);
    expect(summary.packets).toBeGreaterThanOrEqual(6);
    expect(summary).toMatchObject({ connections: 1, devices: 1, hl7Messages: 2, skipped: {}, stopped: null });
    expect(kinds).toContain('net.hl7.message');
    expect(kinds).toContain('net.flow');
  });

  it('names a missing interface, and a filter tcpdump refuses', { timeout: 30_000 }, async () => {
    const noIf = await runSource(tcpdumpSource({ interface: 'nosuch0' }));
    expect(noIf.summary.packets).toBe(0);
    expect(noIf.outcome.error?.code).toBe('BAD_REQUEST');
    expect(noIf.outcome.error?.message).toMatch(
      /^no network interface named nosuch0 \(.+\)\. List the interfaces/,
    );

    const badFilter = await runSource(tcpdumpSource({ interface: 'lo', filter: 'tcp port nonsense' }));
    expect(badFilter.outcome.error?.code).toBe('BAD_REQUEST');
    expect(badFilter.outcome.error?.message).toMatch(
      /^tcpdump refused the filter "tcp port nonsense": unknown port 'nonsense'/,
    );
  });
});

describe('tcpdump missing or not allowed', () => {
  it('says what to install when tcpdump is not where it was said to be', async () => {
    const r = await runSource(tcpdumpSource({ interface: 'lo', tcpdump: '/nonexistent/tcpdump' }));
    expect(r.summary.packets).toBe(0);
    expect(r.outcome.error?.code).toBe('UNAVAILABLE');
    expect(r.outcome.error?.message).toMatch(
      /^tcpdump is not installed at \/nonexistent\/tcpdump: install it \(Debian\/Ubuntu: apt-get install tcpdump/,
    );
  });

  it('finds tcpdump where distributions put it even when PATH lacks it', () => {
    if (!TCPDUMP) return void expect(findTcpdump('')).toBeNull();
    expect(findTcpdump('')).toMatch(/^\/(usr\/)?s?bin\/tcpdump$/);
  });

  it('refuses interface names tcpdump could read as options', () => {
    for (const bad of ['-X', '', 'eth0 tcp', 'a/b'])
      expect(() => tcpdumpSource({ interface: bad })).toThrow(/is not a network interface name/);
  });

  it.skipIf(!TCPDUMP || !canDropPrivileges())(
    'turns tcpdump refusing an unprivileged user into what to do (root or setcap)',
    () => {
      // tcpdump's own answer when it may not capture: run it as nobody.
      const r = spawnSync(
        'setpriv',
        ['--reuid', '65534', '--regid', '65534', '--clear-groups', TCPDUMP!, '-i', 'lo', '-w', '-', '-U'],
        { encoding: 'utf8', timeout: 10_000 },
      );
      expect(r.status).not.toBe(0);
      const err = tcpdumpError(r.stderr, r.status, { interface: 'lo', tcpdump: TCPDUMP! });
      expect(err.code).toBe('FORBIDDEN');
      expect(err.message).toContain('tcpdump may not capture on lo');
      expect(err.message).toContain('Run vigil as root');
      expect(err.message).toContain(`setcap cap_net_raw,cap_net_admin=eip ${TCPDUMP}`);
    },
  );
});

describe.skipIf(noData !== null)('a capture process stream that goes wrong', () => {
  const file = `${PCAP_DIR}dicom-echo.pcap`;

  it('counts a record cut by the end of the stream, keeping the whole ones before it', async () => {
    const whole = readFileSync(file);
    // Where the 6th record ends, and 10 bytes into the 7th.
    let p = 24;
    for (let i = 0; i < 6; i++) p += 16 + whole.readUInt32LE(p + 8);
    const cut = p + 10;
    const r = await runSource(
      processSource({
        label: 'head',
        command: 'head',
        args: ['-c', String(cut), file],
        failure: failure(''),
      }),
    );
    expect(r.outcome.error).toBeNull();
    expect(r.summary.packets).toBe(6);
    expect(r.summary.fileBytes).toBe(cut);
    expect(r.summary.skipped).toEqual({ 'truncated-record': 1 });
    expect(r.summary.stopped).toBe('truncated-record');
  });

  it('reads what a failing process wrote, then reports its failure', async () => {
    const r = await runSource(
      processSource({
        label: 'sh',
        command: 'sh',
        args: ['-c', 'cat "$0"; echo "capture: the interface went down" >&2; exit 3', file],
        failure: (end) => new VigilError('UNAVAILABLE', `exit ${end.code}: ${end.stderr.trim()}`),
      }),
    );
    expect(r.summary.packets).toBe(25);
    expect(r.summary.dicomAssociations).toBe(1);
    expect(r.outcome.error?.message).toBe('exit 3: capture: the interface went down');
  });

  it('stops a process whose output is not a capture instead of reading it forever', {
    timeout: 20_000,
  }, async () => {
    const source = processSource({ label: 'yes', command: 'yes', args: [], failure: failure('') });
    const r = await runSource(source);
    expect(r.summary.stopped).toBe('bad-magic');
    expect(r.summary.skipped).toEqual({ 'bad-magic': 1 });
    // The reader gave up: the process was stopped, which is not a failure of the source.
    expect(r.outcome.error).toBeNull();
  });

  it('ends at once when stopped before it started', async () => {
    const source = processSource({ label: 'sleep', command: 'sleep', args: ['30'], failure: failure('') });
    source.stop();
    const t0 = Date.now();
    const r = await runSource(source);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.summary.packets).toBe(0);
    expect(r.outcome.error).toBeNull();
  });
});
