/**
 * `detect`: events per second through the detection pipeline on one core (per CPU-second of the
 * single-threaded loop, so a busy machine lowers the figure less; wall-clock rates are logged
 * beside), from JSON lines to
 * rule matches (JSON.parse, log-source mapping, the inventory enrichment, the compiled rules and
 * the correlator, in batches as the bus hands them), beside bare `JSON.parse` of the same lines
 * in the same run:
 *
 * - with the hospital rule pack (content/rules);
 * - with the pack plus every compiled SigmaHQ rule (../shared/data/sigma/rules) whose log source
 *   applies to the events (Zeek's conn and dns logs are in the mix, so SigmaHQ's zeek and dns
 *   rules run; Windows rules never apply to Vigil's events and are skipped by the index);
 * - over NATS JetStream (VIGIL_BENCH_NATS_URL, else VIGIL_TEST_NATS_URL, else
 *   nats://127.0.0.1:4222), with 1 and then 2 worker processes sharing one durable consumer as
 *   `vigil worker` processes do (pull, validate each event, detect, acknowledge), on a stream of
 *   its own that is deleted afterwards, then with 3; and, when PostgreSQL is given
 *   (VIGIL_BENCH_POSTGRES_URL, else VIGIL_TEST_POSTGRES_URL), with 1 and 3 workers keeping
 *   correlation state in the database as `vigil worker` does over NATS
 *   (detect/pipeline/shared-correlation.ts). Skipped, with the reason, when NATS cannot be reached.
 *
 * Each NATS worker first runs the detector (and the bus's validation) on 20,000 other events, as
 * a worker that has run for a while has: the timed part is its steady state. Beside each run's
 * rate, the CPU each event cost is logged per component (the workers, the local nats-server read
 * from /proc, this process) with the machine's busy share and the CPU other work took meanwhile;
 * from them, `detect.nats_2_workers_cpu_ceiling` is what the cores allow 2 workers against 1
 * were the machine otherwise idle. With W µs per event in a worker and S + P in nats-server and
 * here, 2 workers can at best gain 2W / (W + S + P) on 2 cores: on a 2-core machine that also
 * runs nats-server, 1.6x is out of reach whenever S + P > W / 4.
 *
 * The events are realistic Vigil events built here: sensor flows among a hospital's devices
 * (some to the Internet), DICOM and HL7 traffic, vault reads, sign-ins and MFA, gateway
 * decisions, and Zeek conn/dns records. Sizes: BENCH_DETECT_EVENTS (200,000 lines, single core)
 * and BENCH_DETECT_NATS_EVENTS (240,000: at 60,000 a run lasted well under a second, and starting
 * the workers' pulls weighed on the figures, 2 workers at 1.08x one against 1.23x at 240,000). The
 * machine's load average is printed beside the figures: other work on the machine lowers them.
 *
 * Run as a NATS worker by the benchmark itself: `node --import tsx bench/detect.bench.ts --nats-worker`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { makeEvent, type VigilEvent, validEvent } from '../src/core/index.js';
import {
  type AlertStore,
  correlationMigrations,
  Detector,
  DeviceEnricher,
  type EventLogSource,
  HOSPITAL_RULE_PACK,
  mapEvent,
  type SigmaEvent,
  StaticDirectory,
} from '../src/detect/index.js';
import { type Bus, NatsBus } from '../src/platform/bus/index.js';
import { type AnyDb, openDatabase, runMigrations } from '../src/platform/db/index.js';
import { silentLogger } from '../src/platform/log/index.js';
import { freshPostgresSchema } from '../test/support/vigil-process.js';
import { type Benchmark, figure, median } from './figure.js';

const SIGMAHQ = join(import.meta.dirname, '../../shared/data/sigma/rules');
const EVENTS = Number(process.env.BENCH_DETECT_EVENTS ?? 200_000);
const NATS_EVENTS = Number(process.env.BENCH_DETECT_NATS_EVENTS ?? 240_000);
const NATS_URL =
  process.env.VIGIL_BENCH_NATS_URL ?? process.env.VIGIL_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
/** PostgreSQL for the runs with correlation state shared in the database (as `vigil worker` keeps it). */
const POSTGRES_URL = process.env.VIGIL_BENCH_POSTGRES_URL ?? process.env.VIGIL_TEST_POSTGRES_URL;
/** Events each NATS worker detects on before the timed run (its warm-up). */
const WARM_EVENTS = 20_000;
/** Events handed to the detector at once (the bus's batch). */
const BATCH = 512;
const T0 = Date.parse('2026-06-02T08:00:00.000Z');

// --- events --------------------------------------------------------------------------------------

/** A small deterministic generator, so every run measures the same events. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 4_294_967_296;
  };
}

/** The hospital: device addresses by type (the inventory the enrichment reads). */
const TYPES: [string, string, number][] = [
  ['patient-monitor', 'life-sustaining', 120],
  ['infusion-pump', 'life-sustaining', 150],
  ['imaging-modality', 'patient-care', 20],
  ['pacs', 'patient-care', 2],
  ['lab-analyser', 'patient-care', 15],
  ['hl7-interface-engine', 'patient-care', 2],
  ['workstation', 'clinical-support', 300],
  ['server', 'clinical-support', 40],
];

function hospital(): { directory: StaticDirectory; byType: Map<string, string[]> } {
  const devices: Record<string, { type: string; criticality: string }> = {};
  const byType = new Map<string, string[]>();
  let n = 0;
  for (const [type, criticality, count] of TYPES) {
    const list: string[] = [];
    for (let i = 0; i < count; i++, n++) {
      const ip = `10.${20 + (n >> 8)}.${n & 255}.${10 + (i % 200)}`;
      devices[ip] = { type, criticality };
      list.push(ip);
    }
    byType.set(type, list);
  }
  return { directory: new StaticDirectory(devices), byType };
}

const PUBLIC = ['52.95.110.1', '20.190.160.2', '142.250.74.78', '104.16.132.229', '185.199.108.153'];
const USERS = Array.from({ length: 400 }, (_, i) => `user${i}`);
const APPS = ['tls', 'http', 'dicom', 'hl7', ''];

/** `count` realistic Vigil events over about an hour of a hospital's day. */
export function hospitalEvents(count: number, seed = 1): VigilEvent[] {
  const r = rng(seed);
  const { byType } = hospital();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const any = [...byType.values()].flat();
  const office = [...byType.get('workstation')!, ...byType.get('server')!];
  const out: VigilEvent[] = [];
  for (let i = 0; i < count; i++) {
    const t = new Date(T0 + Math.floor((i / count) * 3_600_000));
    const x = r();
    let input: Parameters<typeof makeEvent>[0];
    if (x < 0.5) {
      // Workstations and servers reach the Internet and file shares; devices stay inside.
      const it = r() < 0.5;
      const src = it ? pick(office) : pick(any);
      const dst = it && r() < 0.1 ? pick(PUBLIC) : pick(any);
      const dstPort = it ? pick([443, 443, 443, 80, 53, 445, 8080]) : pick([443, 443, 104, 2575, 53, 11112]);
      const udp = dstPort === 53;
      input = {
        kind: 'net.flow',
        source: 'sensor',
        time: t,
        device: { ip: src, mac: `00:0e:2c:${(i & 255).toString(16).padStart(2, '0')}:10:20` },
        net: { srcIp: src, srcPort: 40_000 + (i % 20_000), dstIp: dst, dstPort, proto: udp ? 'udp' : 'tcp' },
        data: udp
          ? { transport: 'udp', app: null, packets: 2, bytes: 180, durationMs: 1.2, end: 'idle' }
          : {
              transport: 'tcp',
              app: pick(APPS),
              packetsToServer: 12,
              // Now and then a port that is closed or a host that is down: a reset or no answer.
              packetsToClient: r() < 0.01 ? 1 : 18,
              bytesToServer: Math.floor(r() * 40_000),
              bytesToClient: Math.floor(r() * 400_000),
              durationMs: Math.floor(r() * 30_000),
              sawSyn: true,
              end: 'fin',
            },
      };
    } else if (x < 0.56) {
      const src = pick(byType.get('workstation')!);
      input = {
        kind: 'net.dicom.command',
        source: 'sensor',
        time: t,
        device: { ip: src },
        net: { srcIp: src, srcPort: 51_000, dstIp: byType.get('pacs')![0]!, dstPort: 104, proto: 'tcp' },
        data: {
          command: pick(['C-FIND-RQ', 'C-STORE-RQ', 'C-ECHO-RQ', 'C-MOVE-RQ']),
          commandField: 32,
          affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.1',
          status: null,
          callingAe: `WS${i % 40}`,
          calledAe: 'PACS',
          equipment: {},
          carriesPatientData: false,
        },
      };
    } else if (x < 0.6) {
      const src = pick([...byType.get('hl7-interface-engine')!, ...byType.get('lab-analyser')!]);
      input = {
        kind: 'net.hl7.message',
        source: 'sensor',
        time: t,
        device: { ip: src },
        net: {
          srcIp: src,
          srcPort: 52_000,
          dstIp: byType.get('hl7-interface-engine')![0]!,
          dstPort: 2575,
          proto: 'tcp',
        },
        patientRef: `h:${Math.floor(r() * 1e9).toString(16)}`,
        data: {
          sendingApplication: 'COBAS',
          sendingFacility: 'LAB',
          receivingApplication: 'MIRTH',
          receivingFacility: 'HOSP',
          messageType: { code: 'ORU', trigger: 'R01', structure: 'ORU_R01' },
          controlId: String(i),
          version: '2.5.1',
          patientRefs: [],
        },
      };
    } else if (x < 0.75) {
      input = {
        kind: pick(['vault.resource.read', 'vault.resource.read', 'vault.resource.searched']),
        source: 'vault',
        time: t,
        severity: 'info',
        user: { id: pick(USERS), role: 'clinician' },
        patientRef: `h:${Math.floor(r() * 50_000).toString(16)}`,
        data: {
          resourceType: pick(['Patient', 'Observation', 'Encounter', 'MedicationRequest']),
          action: 'read',
        },
      };
    } else if (x < 0.85) {
      const kind = pick([
        'auth.login.succeeded',
        'auth.login.succeeded',
        'auth.login.failed',
        'auth.mfa.challenged',
      ]);
      input = {
        kind,
        source: 'identity',
        time: t,
        severity: kind === 'auth.login.failed' ? 'low' : 'info',
        user: { id: `id-${i % 400}`, name: pick(USERS), role: 'clinician' },
        net: { srcIp: pick(any) },
        data: { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', mfa: false },
      };
    } else if (x < 0.9) {
      input = {
        kind: 'access.decision',
        source: 'access',
        time: t,
        severity: 'info',
        user: { id: `id-${i % 400}`, name: pick(USERS), role: 'clinician' },
        net: { srcIp: pick(PUBLIC) },
        data: {
          decision: pick(['allow', 'allow', 'allow', 'step-up', 'deny']),
          risk: Math.floor(r() * 100),
          app: 'ehr',
          host: 'ehr.hospital.org',
          path: '/chart',
          method: 'GET',
          reasons: r() < 0.1 ? [{ signal: 'geo-country', score: 25, reason: 'new country' }] : [],
        },
      };
    } else if (x < 0.96) {
      const src = pick(any);
      const dst = r() < 0.2 ? pick(PUBLIC) : pick(any);
      input = {
        kind: 'zeek.conn',
        source: 'zeek',
        time: t,
        net: { srcIp: src, srcPort: 40_000 + (i % 20_000), dstIp: dst, dstPort: 443, proto: 'tcp' },
        data: {
          ts: t.toISOString(),
          uid: `C${i.toString(36)}`,
          'id.orig_h': src,
          'id.orig_p': 40_000 + (i % 20_000),
          'id.resp_h': dst,
          'id.resp_p': 443,
          proto: 'tcp',
          service: 'ssl',
          duration: 1.2,
          orig_bytes: 1200,
          resp_bytes: 48_000,
          conn_state: 'SF',
          history: 'ShADadFf',
        },
      };
    } else {
      const src = pick(any);
      input = {
        kind: 'zeek.dns',
        source: 'zeek',
        time: t,
        net: { srcIp: src, srcPort: 53_000, dstIp: '10.20.0.2', dstPort: 53, proto: 'udp' },
        data: {
          ts: t.toISOString(),
          uid: `D${i.toString(36)}`,
          'id.orig_h': src,
          'id.resp_h': '10.20.0.2',
          proto: 'udp',
          query: pick(['ehr.hospital.org', 'pacs.hospital.org', 'update.vendor.example', 'time.windows.com']),
          qtype_name: 'A',
          rcode_name: 'NOERROR',
          answers: ['10.20.0.50'],
        },
      };
    }
    out.push(makeEvent(input));
  }
  return out;
}

// --- single core ---------------------------------------------------------------------------------

/** A store that records nothing: the benchmark measures detection, not the database. */
const noStore = { record: async () => [] } as unknown as AlertStore;

function newDetector(sources: string[], correlationDb?: AnyDb): Detector {
  return new Detector(sources, {
    alerts: noStore,
    bus: {} as Bus,
    clock: { now: () => new Date(T0) },
    enricher: new DeviceEnricher(hospital().directory),
    correlationDb,
  });
}

/** Rates of one timed loop: per CPU-second of this process (one core) and per wall second. */
interface Rate {
  cpu: number;
  wall: number;
}

/**
 * A full garbage collection, so that a timed loop does not pay for garbage made before it (the
 * parse of the SigmaHQ rules leaves hundreds of megabytes): each loop pays only for its own.
 */
const collect: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Times `fn` over `n` events by the CPU time this process spent and by the clock. */
function timed(n: number, fn: () => void): Rate {
  collect();
  const c = process.cpuUsage();
  const t = performance.now();
  fn();
  const wall = (performance.now() - t) / 1000;
  const used = process.cpuUsage(c);
  const cpu = (used.user + used.system) / 1e6;
  return { cpu: n / Math.max(cpu, 1e-6), wall: n / Math.max(wall, 1e-6) };
}

function parseRate(lines: readonly string[]): Rate {
  let n = 0;
  const r = timed(lines.length, () => {
    for (const l of lines) n += (JSON.parse(l) as { v: number }).v;
  });
  if (n !== lines.length) throw new Error('parse check');
  return r;
}

/** JSON lines to alerts, in bus-sized batches, as the detector's bus handler gets them. */
function detectRate(detector: Detector, lines: readonly string[]): { rate: Rate; alerts: number } {
  let alerts = 0;
  const rate = timed(lines.length, () => {
    let batch: VigilEvent[] = [];
    for (const l of lines) {
      batch.push(JSON.parse(l) as VigilEvent);
      if (batch.length === BATCH) {
        alerts += detector.detect(batch).length;
        batch = [];
      }
    }
    if (batch.length) alerts += detector.detect(batch).length;
  });
  return { rate, alerts };
}

/**
 * Median of 5 timed runs, each on a fresh detector (correlation state starts empty) right after a
 * bare parse of the same lines. "Per core" is events per CPU-second of this single-threaded loop,
 * which other processes on a busy machine slow down far less than they slow the clock (the GC's
 * helper threads count too, so it errs low); wall-clock rates are logged beside it.
 */
function measure(sources: string[], lines: readonly string[]): { rate: Rate; parse: Rate; alerts: number } {
  const runs: { rate: Rate; parse: Rate }[] = [];
  let alerts = 0;
  detectRate(newDetector(sources), lines); // warm-up: the compiler settles on a whole pass
  for (let i = 0; i < 5; i++) {
    const parse = parseRate(lines);
    const r = detectRate(newDetector(sources), lines);
    runs.push({ rate: r.rate, parse });
    alerts = r.alerts;
  }
  const pick = (f: (x: { rate: Rate; parse: Rate }) => number) => median(runs.map(f));
  return {
    rate: { cpu: pick((x) => x.rate.cpu), wall: pick((x) => x.rate.wall) },
    parse: { cpu: pick((x) => x.parse.cpu), wall: pick((x) => x.parse.wall) },
    alerts,
  };
}

/** SigmaHQ rules (not the pack's) whose log source applies to at least one of the events. */
function applicableSigmaHq(detector: Detector, sources: readonly EventLogSource[]): number {
  const pack = new Set(newDetector([HOSPITAL_RULE_PACK]).loaded.rules.map((r) => r.id));
  const ids = new Set<string>();
  for (const ls of sources)
    for (const r of detector.loaded.ruleSet.rulesFor(ls)) if (!pack.has(r.id)) ids.add(r.id);
  return ids.size;
}

/** The distinct log sources of some events. */
function logSourcesOf(events: readonly VigilEvent[]): EventLogSource[] {
  const out = new Map<string, EventLogSource>();
  for (const e of events) {
    const { logsource } = mapEvent(e as unknown as SigmaEvent);
    if (logsource) out.set(JSON.stringify(logsource), logsource);
  }
  return [...out.values()];
}

// --- NATS ----------------------------------------------------------------------------------------

interface WorkerMessage {
  type: 'ready' | 'count';
  count?: number;
  /** The worker's CPU time so far, µs (user + system). */
  cpuUs?: number;
}

/** CPU seconds a process has used (Linux /proc), or undefined when it cannot be read. */
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100 Hz)
  } catch {
    return undefined;
  }
}

/** The local nats-server's pid, when NATS runs on this machine (its CPU is then measured too). */
function localNatsServer(): number | undefined {
  if (!/^nats:\/\/(127\.0\.0\.1|localhost)(:|$)/.test(NATS_URL)) return undefined;
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'nats-server') return Number(d);
      } catch {}
    }
  } catch {}
  return undefined;
}

/** Busy and total CPU seconds of the whole machine so far (Linux /proc/stat), or undefined. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0) / 100;
    const idle = (f[3]! + f[4]!) / 100;
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** One NATS run: wall rate, and CPU per event of the workers, nats-server and this process. */
interface NatsRun {
  rate: number;
  /** µs of CPU per event, summed over the workers. */
  workerUs: number;
  /** µs per event of the local nats-server (undefined: not measured). */
  serverUs: number | undefined;
  /** µs per event of this process (it only waits and counts during a run). */
  parentUs: number;
  /** µs per event of everything else the machine ran meanwhile (other users' work). */
  othersUs: number | undefined;
}

/** Runs `workers` worker processes on a group until they have handled `total` events: events/s. */
async function natsRun(
  workers: number,
  group: string,
  env: Record<string, string>,
  total: number,
  log: (line: string) => void,
): Promise<NatsRun> {
  const children: ChildProcess[] = [];
  const counts = new Array<number>(workers).fill(0);
  const cpus = new Array<number>(workers).fill(0);
  const server = localNatsServer();
  try {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < workers; i++) {
      const child = fork(fileURLToPath(import.meta.url), ['--nats-worker'], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, ...env, BENCH_NATS_GROUP: group },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      children.push(child);
      ready.push(
        new Promise((resolve, reject) => {
          child.once('error', reject);
          child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
          child.on('message', (m: WorkerMessage) => {
            if (m.type === 'ready') {
              cpus[i] = m.cpuUs ?? 0;
              resolve();
            } else if (m.type === 'count') {
              counts[i] = m.count ?? 0;
              cpus[i] = m.cpuUs ?? cpus[i]!;
            }
          });
        }),
      );
    }
    await Promise.all(ready);
    const cpu0 = cpus.reduce((a, b) => a + b, 0);
    const server0 = server === undefined ? undefined : procCpuSeconds(server);
    const machine0 = machineCpu();
    const self0 = process.cpuUsage();
    const t = performance.now();
    for (const c of children) c.send('go');
    const deadline = Date.now() + 600_000;
    while (counts.reduce((a, b) => a + b, 0) < total) {
      if (Date.now() > deadline) throw new Error(`timed out at ${counts.join('+')} of ${total} events`);
      if (children.some((c) => c.exitCode !== null)) throw new Error('a worker exited during the run');
      await new Promise((r) => setTimeout(r, 10));
    }
    const seconds = (performance.now() - t) / 1000;
    const rate = total / seconds;
    const self = process.cpuUsage(self0);
    const server1 = server === undefined ? undefined : procCpuSeconds(server);
    const machine1 = machineCpu();
    const perEvent = (s: number) => (s * 1e6) / total;
    const workerUs = (cpus.reduce((a, b) => a + b, 0) - cpu0) / total; // the last count carries the CPU
    const serverUs = server0 !== undefined && server1 !== undefined ? perEvent(server1 - server0) : undefined;
    const parentUs = (self.user + self.system) / total;
    const busyUs = machine0 && machine1 ? perEvent(machine1.busy - machine0.busy) : undefined;
    const othersUs =
      busyUs === undefined ? undefined : Math.max(0, busyUs - workerUs - (serverUs ?? 0) - parentUs);
    const busyPct =
      machine0 && machine1
        ? ` ${(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100).toFixed(0)}% of the machine busy;`
        : '';
    log(
      `${workers} worker(s): ${rate.toFixed(0)} events/s (split ${counts.join(' + ')});${busyPct} CPU per event: workers ${workerUs.toFixed(1)} µs, nats-server ${serverUs === undefined ? 'not measured' : `${serverUs.toFixed(1)} µs`}, this process ${parentUs.toFixed(1)} µs${othersUs === undefined ? '' : `, other work on the machine ${othersUs.toFixed(1)} µs`}`,
    );
    return { rate, workerUs, serverUs, parentUs, othersUs };
  } finally {
    for (const c of children) {
      c.removeAllListeners('exit');
      if (c.connected) c.send('stop');
    }
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }
}

async function natsFigures(log: (line: string) => void) {
  const run = `${process.pid}_${Date.now().toString(36)}`;
  const stream = `VIGIL_BENCH_${run}`;
  const prefix = `bench_${run}`;
  let bus: NatsBus;
  try {
    bus = await NatsBus.connect({ url: NATS_URL, stream, subjectPrefix: prefix, logger: silentLogger() });
  } catch (err) {
    log(`NATS part skipped: cannot reach NATS at ${NATS_URL} (${(err as Error).message})`);
    return [];
  }
  const env = { BENCH_NATS_URL: NATS_URL, BENCH_NATS_STREAM: stream, BENCH_NATS_PREFIX: prefix };
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>> | undefined;
  try {
    // Each group's durable consumer exists before the events: each sees all of them.
    const groups = ['detect1', 'detect2', 'detect3', ...(POSTGRES_URL ? ['shared1', 'shared3'] : [])];
    for (const group of groups)
      await (await bus.subscribe({ group, subjects: ['vigil.>'], handler: async () => {} })).close();
    const events = hospitalEvents(NATS_EVENTS, 7);
    const t = performance.now();
    await bus.publish(events);
    log(
      `published ${events.length} events to stream ${stream} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const oneRun = await natsRun(1, 'detect1', env, events.length, log);
    const twoRun = await natsRun(2, 'detect2', env, events.length, log);
    const three = (await natsRun(3, 'detect3', env, events.length, log)).rate;
    const [one, two] = [oneRun.rate, twoRun.rate];
    const figures = [
      figure('detect.nats_1_worker', 'events/s', one),
      figure('detect.nats_2_workers', 'events/s', two, '1 worker', one),
      figure('detect.nats_3_workers', 'events/s', three, '1 worker', one),
      figure('detect.nats_worker_cpu', 'µs/event', oneRun.workerUs),
    ];
    figures.push(...scalingCeiling(oneRun, twoRun, log));
    if (!POSTGRES_URL) {
      log('shared correlation runs skipped: set VIGIL_BENCH_POSTGRES_URL or VIGIL_TEST_POSTGRES_URL');
      return figures;
    }
    // As `vigil worker` runs: correlation state in PostgreSQL, shared by the workers (one schema each run).
    const shared: number[] = [];
    // (rates only: the CPU split of these runs also holds PostgreSQL's share, not measured here)
    for (const [n, group] of [
      [1, 'shared1'],
      [3, 'shared3'],
    ] as const) {
      schema = await freshPostgresSchema(POSTGRES_URL, 'vigil_bench');
      const db = await openDatabase({ url: schema.url, poolSize: 2 });
      await runMigrations(db, correlationMigrations);
      await db.close();
      log(`correlation state in PostgreSQL (schema ${schema.schema}):`);
      shared.push((await natsRun(n, group, { ...env, BENCH_NATS_DB: schema.url }, events.length, log)).rate);
      await schema.drop();
      schema = undefined;
    }
    figures.push(
      figure('detect.nats_shared_1_worker', 'events/s', shared[0]!, 'in-memory correlation', one),
      figure('detect.nats_shared_3_workers', 'events/s', shared[1]!, '1 worker', shared[0]!),
    );
    return figures;
  } finally {
    await schema?.drop().catch(() => undefined);
    await bus.close();
    const nc = await connect({ servers: NATS_URL.split(',') }).catch(() => undefined);
    if (nc) {
      await jetstreamManager(nc)
        .then((jsm) => jsm.streams.delete(stream))
        .catch(() => undefined);
      await nc.close();
    }
  }
}

/**
 * What the machine's cores allow with 2 workers, from the CPU each event cost in the runs: with
 * W µs per event in a worker, S in nats-server and P in this process, one worker can go no faster
 * than 1e6/W events/s, and all of them together no faster than cores × 1e6 / (W + S + P). On a
 * 2-core machine that runs nats-server too, 2 workers can at best gain 2W / (W + S + P) over one.
 * Logged with the ceiling on an otherwise idle machine, so a figure below 1.6 says whether the
 * cores or the code are the limit.
 */
function scalingCeiling(one: NatsRun, two: NatsRun, log: (line: string) => void) {
  if (one.serverUs === undefined || two.serverUs === undefined) {
    log('2-worker ceiling not computed: nats-server is not on this machine (its CPU is not measured)');
    return [];
  }
  const cores = availableParallelism();
  const cost = (r: NatsRun) => r.workerUs + r.serverUs! + r.parentUs;
  const ceiling1 = Math.min(1e6 / one.workerUs, (cores * 1e6) / cost(one));
  // Each of 2 workers spends half of two.workerUs per event of the stream, on a core of its own at best.
  const ceiling2 = Math.min(2 * (1e6 / two.workerUs), (cores * 1e6) / cost(two));
  log(
    `CPU ceiling on this ${cores}-core machine were it otherwise idle: 1 worker ${ceiling1.toFixed(0)} events/s, 2 workers ${ceiling2.toFixed(0)} events/s (${(ceiling2 / ceiling1).toFixed(2)}x), from the CPU per event measured in the runs (workers + nats-server + this process)`,
  );
  return [figure('detect.nats_2_workers_cpu_ceiling', 'events/s', ceiling2, '1 worker ceiling', ceiling1)];
}

/** A `vigil worker`-style consumer of the benchmark's stream: detect, acknowledge, report counts. */
async function natsWorker(): Promise<void> {
  const db = process.env.BENCH_NATS_DB
    ? await openDatabase({ url: process.env.BENCH_NATS_DB, poolSize: 2 })
    : undefined;
  const detector = newDetector([HOSPITAL_RULE_PACK], db?.db);
  // A worker runs for days: warm it up (the compiler settles on the decoding and detection code)
  // on other events than the stream's, so the timed part is its steady state.
  const warm = hospitalEvents(WARM_EVENTS, 99).map((e) => JSON.stringify(e));
  for (let pass = 0; pass < 2; pass++) {
    const d = newDetector([HOSPITAL_RULE_PACK]);
    for (let i = 0; i < warm.length; i += BATCH)
      d.detect(
        warm.slice(i, i + BATCH).map((l) => {
          const event = validEvent(JSON.parse(l)); // as the bus validates (nats-subscription.ts)
          if (!event) throw new Error('the warm-up built an invalid event');
          return event;
        }),
      );
  }
  const cpuUs = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const bus = await NatsBus.connect({
    url: process.env.BENCH_NATS_URL!,
    stream: process.env.BENCH_NATS_STREAM!,
    subjectPrefix: process.env.BENCH_NATS_PREFIX!,
    logger: silentLogger(),
  });
  let count = 0;
  let reported = 0;
  let sub: { close(): Promise<void> } | undefined;
  // Counts (with the CPU used so far) go to the parent every few ms, not per batch.
  setInterval(() => {
    if (count === reported) return;
    reported = count;
    process.send?.({ type: 'count', count, cpuUs: cpuUs() } satisfies WorkerMessage);
  }, 10).unref();
  process.on('message', (m: string) => {
    if (m === 'go')
      void bus
        .subscribe({
          group: process.env.BENCH_NATS_GROUP!,
          subjects: ['vigil.>'],
          batchSize: BATCH,
          handler: async (events) => {
            if (db) await detector.handle(events);
            else detector.detect(events);
            count += events.length;
          },
        })
        .then((s) => {
          sub = s;
        });
    else if (m === 'stop')
      void (async () => {
        await sub?.close();
        await bus.close();
        await db?.close();
        process.exit(0);
      })();
  });
  process.send?.({ type: 'ready', cpuUs: cpuUs() } satisfies WorkerMessage);
}

// --- the benchmark -------------------------------------------------------------------------------

function describe(m: { rate: Rate; parse: Rate }): string {
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
  return `${m.rate.cpu.toFixed(0)} events per CPU-second vs JSON.parse ${m.parse.cpu.toFixed(0)} (${pct(m.rate.cpu, m.parse.cpu)}); wall clock ${m.rate.wall.toFixed(0)} vs ${m.parse.wall.toFixed(0)} events/s (${pct(m.rate.wall, m.parse.wall)})`;
}

export const detectBenchmark: Benchmark = {
  name: 'detect',
  description: `detection on one core (${EVENTS} events: hospital pack; pack + SigmaHQ) vs JSON.parse; 1, 2 and 3 workers over NATS (and with correlation shared in PostgreSQL)`,
  async run(log) {
    const [l1, l5, l15] = loadavg();
    log(
      `load average ${l1!.toFixed(2)} ${l5!.toFixed(2)} ${l15!.toFixed(2)} on ${availableParallelism()} cores (other work lowers the figures)`,
    );
    let events: VigilEvent[] | undefined = hospitalEvents(EVENTS);
    const lines = events.map((e) => JSON.stringify(e));
    const sources = logSourcesOf(events);
    events = undefined; // only the lines are measured: let the objects go before timing
    for (let i = 0; i < 2; i++) parseRate(lines); // the first passes are slower for everything
    const bytes = lines.reduce((n, l) => n + l.length + 1, 0);
    log(`${lines.length} events, ${(bytes / lines.length).toFixed(0)} bytes each on average`);

    const pack = measure([HOSPITAL_RULE_PACK], lines);
    const packRules = newDetector([HOSPITAL_RULE_PACK]).loaded.report;
    log(
      `hospital pack (${packRules.loaded} rules, ${packRules.correlations} correlations): ${describe(pack)}, ${pack.alerts} alerts`,
    );
    const figures = [
      figure('detect.hospital_pack', 'events/s/core', pack.rate.cpu, 'JSON.parse', pack.parse.cpu),
    ];

    if (existsSync(SIGMAHQ)) {
      const t = performance.now();
      const all = newDetector([HOSPITAL_RULE_PACK, SIGMAHQ]);
      const applicable = applicableSigmaHq(all, sources);
      log(
        `pack + SigmaHQ: ${all.loaded.report.loaded} rules compiled in ${((performance.now() - t) / 1000).toFixed(1)} s, ${applicable} SigmaHQ rules apply to these events' log sources`,
      );
      const both = measure([HOSPITAL_RULE_PACK, SIGMAHQ], lines);
      log(`pack + SigmaHQ: ${describe(both)}, ${both.alerts} alerts`);
      figures.push(
        figure('detect.pack_plus_sigmahq', 'events/s/core', both.rate.cpu, 'JSON.parse', both.parse.cpu),
      );
    } else log(`pack + SigmaHQ skipped: ${SIGMAHQ} is missing`);

    figures.push(...(await natsFigures(log)));
    return figures;
  },
};

if (process.argv.includes('--nats-worker')) await natsWorker();
