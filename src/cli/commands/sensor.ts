/**
 * @module cli/commands/sensor
 * `vigil sensor read <file>…` (pcap or pcapng), `vigil sensor live --interface IF [--filter BPF]`
 * (tcpdump writes pcap to its standard output; the sensor reads that stream) and
 * `vigil sensor zeek <file-or-dir>… [--follow]` (Zeek TSV or JSON logs, plain or gzip): read
 * passively, publish the normalised events on the bus, and print a summary. Files and live capture
 * go through the same pipeline (`runCapture`) behind the `CaptureSource` interface. Nothing here
 * sends a packet.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { VigilError, type VigilEvent } from '../../core/index.js';
import {
  type CaptureOutcome,
  type CaptureSource,
  type FollowNote,
  fileSource,
  followZeek,
  newZeekStats,
  readZeekFile,
  Sensor,
  type SensorSummary,
  tcpdumpSource,
  ZEEK_FILE,
  type ZeekReadStats,
} from '../../sensor/index.js';
import type { Services } from '../../server/index.js';
import { withServices } from '../context.js';
import { progressBar } from '../progress.js';

const BATCH = 512;
/** Events wait at most this long before they are published (live sources trickle). */
const FLUSH_MS = 1000;

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function reasons(skipped: Record<string, number>): string {
  const parts = Object.entries(skipped).map(([r, n]) => `${r} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

function total(skipped: Record<string, number>): number {
  return Object.values(skipped).reduce((a, b) => a + b, 0);
}

/** Publishes in batches as the reader produces events, so memory stays flat; flushes one at a time. */
function publisher(services: Services) {
  let pending: VigilEvent[] = [];
  let published = 0;
  let chain: Promise<void> = Promise.resolve();
  return {
    push(e: VigilEvent) {
      pending.push(e);
    },
    pushAll(events: VigilEvent[]) {
      for (const e of events) pending.push(e);
    },
    get size() {
      return pending.length;
    },
    get published() {
      return published;
    },
    flush(): Promise<void> {
      chain = chain.then(async () => {
        if (!pending.length) return;
        const batch = pending;
        pending = [];
        await services.bus.publish(batch);
        published += batch.length;
      });
      return chain;
    },
  };
}

/**
 * Stops `stop` on the first SIGINT or SIGTERM (a clean stop: what was captured is read, the
 * summary printed); a second signal exits at once. Returns the function that removes the handlers.
 */
function onStopSignals(stop: () => void): () => void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) {
      process.stderr.write(`vigil: ${signal} again, exiting without a summary\n`);
      process.exit(130);
    }
    signalled = true;
    process.stderr.write(`vigil: ${signal}: stopping (a second signal exits at once)\n`);
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

function kb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A progress line that rewrites itself on a terminal, and prints now and then otherwise. */
function liveLine(label: string) {
  const tty = process.stderr.isTTY === true;
  // The first line comes after one interval: tcpdump's own start-up line goes first.
  let last = Date.now();
  let shown = false;
  return {
    update(s: SensorSummary, published: number, force = false) {
      const now = Date.now();
      if (!force && now - last < (tty ? 500 : 5000)) return;
      last = now;
      const line = `${label}: ${s.packets} packets, ${kb(s.bytes)}, ${s.connections} connections, ${s.devices} devices, ${published} events, ${total(s.skipped)} skipped`;
      if (tty) {
        process.stderr.write(`\r\x1b[2K${line}`);
        shown = true;
      } else process.stderr.write(`${line}\n`);
    },
    stop() {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}

/** What one capture source gave: the sensor's summary, events published, how the source ended. */
interface CaptureResult {
  summary: SensorSummary;
  published: number;
  outcome: CaptureOutcome;
}

/**
 * The pipeline of `sensor read` and `sensor live`: source chunks → sensor → bus, with a progress
 * display fed after every chunk and on a timer (a quiet live capture still shows it is alive).
 */
async function runCapture(
  services: Services,
  source: CaptureSource,
  progress: { update(s: SensorSummary, published: number, bytesRead: number): void },
): Promise<CaptureResult> {
  const out = publisher(services);
  const sensor = new Sensor({
    patientIdKey: services.keys.deriveKey('sensor-patient-id'),
    onEvent: (e) => out.push(e),
  });
  let read = 0;
  let lastFlush = Date.now();
  async function* paced(): AsyncGenerator<Buffer> {
    for await (const chunk of source.chunks()) {
      yield chunk;
      read += chunk.length;
      progress.update(sensor.summary(), out.published, read);
      if (out.size >= BATCH || (out.size && Date.now() - lastFlush >= FLUSH_MS)) {
        lastFlush = Date.now();
        await out.flush();
      }
    }
  }
  const timer = setInterval(() => {
    progress.update(sensor.summary(), out.published, read);
    if (out.size && Date.now() - lastFlush >= FLUSH_MS) {
      lastFlush = Date.now();
      // A failure here is not lost: the chain stays rejected and the next awaited flush throws it.
      out.flush().catch(() => {});
    }
  }, FLUSH_MS);
  try {
    const summary = await sensor.read(paced());
    await out.flush();
    const outcome = await source.outcome();
    return { summary, published: out.published, outcome };
  } finally {
    clearInterval(timer);
  }
}

function printSummary(summary: SensorSummary, published: number, outcome?: CaptureOutcome): void {
  print(
    `  packets ${summary.packets}, bytes ${summary.bytes}, connections ${summary.connections}, devices ${summary.devices}, not IP ${summary.nonIp}`,
  );
  print(
    `  DICOM associations ${summary.dicomAssociations}, DICOM commands ${summary.dicomCommands}, HL7 messages ${summary.hl7Messages}`,
  );
  const dropped =
    outcome?.droppedByKernel !== undefined ? `; dropped by the kernel ${outcome.droppedByKernel}` : '';
  print(
    `  events published ${published}; skipped: ${reasons(summary.skipped)}${summary.stopped ? `; stopped: ${summary.stopped}` : ''}${dropped}`,
  );
}

async function readPcap(services: Services, file: string): Promise<CaptureResult> {
  const source = fileSource(file);
  const size = source.total ?? 0;
  const bar = progressBar(path.basename(file));
  try {
    const result = await runCapture(services, source, {
      update: (_s, _p, read) => bar.update(Math.min(read, size), size),
    });
    bar.update(size, size);
    return result;
  } finally {
    bar.stop();
  }
}

function zeekFiles(target: string): string[] {
  const st = statSync(target, { throwIfNoEntry: false });
  if (!st) throw new VigilError('NOT_FOUND', `${target}: no such file or directory`);
  if (st.isFile()) return [target];
  return readdirSync(target)
    .filter((f) => ZEEK_FILE.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

function printZeek(file: string, stats: ZeekReadStats, published: number | null, json: boolean): void {
  if (json) {
    print(JSON.stringify({ file, ...stats, ...(published === null ? {} : { published }) }));
    return;
  }
  print(
    `${file}: ${stats.format}, ${stats.records} records (${
      Object.entries(stats.byLog)
        .map(([l, n]) => `${l} ${n}`)
        .join(', ') || 'none'
    })`,
  );
  print(`  ${published === null ? '' : `events published ${published}; `}skipped: ${reasons(stats.skipped)}`);
}

const NOTE_TEXT: Record<FollowNote['what'], string> = {
  following: 'following',
  rotated: 'rotated; reading the rest of the old file, then the new one',
  truncated: 'truncated; reading it again from the start',
  gone: 'gone (deleted or moved away); waiting for it to come back',
  'read-archive': 'reading the archive',
  unreadable: 'cannot be opened; skipped',
};

/** `sensor zeek --follow`: every target followed until a signal; one summary per file at the end. */
async function followTargets(services: Services, targets: string[], json: boolean): Promise<void> {
  for (const t of targets)
    if (!statSync(t, { throwIfNoEntry: false }))
      throw new VigilError('NOT_FOUND', `${t}: no such file or directory`);
  const out = publisher(services);
  const controller = new AbortController();
  const removeHandlers = onStopSignals(() => controller.abort());
  const maps = targets.map(() => new Map<string, ZeekReadStats>());
  const tty = process.stderr.isTTY === true;
  let shown = '';
  const progress = setInterval(
    () => {
      let files = 0;
      let records = 0;
      let skipped = 0;
      for (const m of maps)
        for (const st of m.values()) {
          files++;
          records += st.records;
          skipped += total(st.skipped);
        }
      const line = `following ${files} files: ${records} records, ${skipped} skipped, ${out.published} events published`;
      if (line === shown) return;
      shown = line;
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    tty ? 500 : 5000,
  );
  process.stderr.write(`vigil: following ${targets.join(', ')}; Ctrl-C to stop\n`);
  try {
    const results = await Promise.all(
      targets.map((target, i) =>
        followZeek(target, {
          signal: controller.signal,
          stats: maps[i],
          onEvents: async (events) => {
            out.pushAll(events);
            await out.flush();
          },
          onNote: (n) =>
            process.stderr.write(`${tty && shown ? '\n' : ''}vigil: ${n.file}: ${NOTE_TEXT[n.what]}\n`),
        }),
      ),
    );
    await out.flush();
    for (const stats of results) for (const [file, s] of stats) printZeek(file, s, null, json);
    if (json) print(JSON.stringify({ published: out.published }));
    else print(`events published ${out.published}`);
  } finally {
    clearInterval(progress);
    if (tty && shown) process.stderr.write('\n');
    removeHandlers();
  }
}

export function registerSensorCommands(program: Command): void {
  const sensor = program.command('sensor').description('passive network sensor: captures and Zeek logs');

  sensor
    .command('read <files...>')
    .description('read pcap or pcapng files and publish what they show (devices, DICOM, HL7, flows)')
    .option('--json', 'print the summaries as JSON')
    .action(async (files: string[], opts: { json?: boolean }, cmd: Command) => {
      await withServices(cmd, async (services) => {
        for (const file of files) {
          const { summary, published } = await readPcap(services, file);
          if (opts.json) {
            print(JSON.stringify({ file, ...summary, published }));
            continue;
          }
          print(`${file}:`);
          printSummary(summary, published);
        }
      });
    });

  sensor
    .command('live')
    .description(
      'capture live with tcpdump (tcpdump -i IF -w - -U) and publish what the traffic shows; stop with Ctrl-C or SIGTERM',
    )
    .requiredOption('-i, --interface <if>', 'the network interface to capture on (eth0, lo, any)')
    .option('-f, --filter <bpf>', 'a BPF capture filter, e.g. "tcp port 104 or port 2575"')
    .option('--tcpdump <path>', 'the tcpdump program (default: found on PATH, /usr/sbin or /usr/bin)')
    .option('--json', 'print the summary as JSON')
    .action(
      async (
        opts: { interface: string; filter?: string; tcpdump?: string; json?: boolean },
        cmd: Command,
      ) => {
        // Checked before the services open: a missing tcpdump or a bad name fails at once.
        const line = liveLine(`capturing on ${opts.interface}`);
        const source = tcpdumpSource({
          interface: opts.interface,
          filter: opts.filter,
          tcpdump: opts.tcpdump,
          onListening: (l) => process.stderr.write(`vigil: capturing (tcpdump: ${l}); Ctrl-C to stop\n`),
        });
        await withServices(cmd, async (services) => {
          const removeHandlers = onStopSignals(() => source.stop());
          let result: CaptureResult;
          try {
            result = await runCapture(services, source, { update: (s, p) => line.update(s, p) });
          } finally {
            removeHandlers();
            line.stop();
          }
          const { summary, published, outcome } = result;
          // tcpdump never started (no permission, no such interface): just the error.
          if (outcome.error && summary.fileBytes === 0) throw outcome.error;
          if (opts.json)
            print(
              JSON.stringify({
                interface: opts.interface,
                filter: opts.filter ?? null,
                ...summary,
                published,
                captured: outcome.captured ?? null,
                droppedByKernel: outcome.droppedByKernel ?? null,
              }),
            );
          else {
            print(`${source.label}:`);
            printSummary(summary, published, outcome);
          }
          if (outcome.error) throw outcome.error;
        });
      },
    );

  sensor
    .command('zeek <targets...>')
    .description('read Zeek logs (TSV or JSON, plain or gzip; a directory reads every log in it)')
    .option('--json', 'print the summaries as JSON')
    .option(
      '--follow',
      'keep reading as Zeek writes (like tail -F: appended lines, rotation, truncation, new files); stop with Ctrl-C or SIGTERM',
    )
    .action(async (targets: string[], opts: { json?: boolean; follow?: boolean }, cmd: Command) => {
      await withServices(cmd, async (services) => {
        if (opts.follow) {
          await followTargets(services, targets, opts.json === true);
          return;
        }
        for (const file of targets.flatMap(zeekFiles)) {
          const stats = newZeekStats();
          const out = publisher(services);
          for await (const events of readZeekFile(file, stats)) {
            for (const event of events) out.push(event);
            if (out.size >= BATCH) await out.flush();
          }
          await out.flush();
          printZeek(file, stats, out.published, opts.json === true);
        }
      });
    });
}
