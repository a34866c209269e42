/**
 * @module cli/commands/sensor
 * `vigil sensor read <file>…` (pcap or pcapng) and `vigil sensor zeek <file-or-dir>…` (Zeek TSV or
 * JSON logs, plain or gzip): read passively, publish the normalised events on the bus, and print
 * a summary. Nothing here sends a packet.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { VigilError, type VigilEvent } from '../../core/index.js';
import { newZeekStats, readZeekFile, Sensor, type SensorSummary } from '../../sensor/index.js';
import type { Services } from '../../server/index.js';
import { withServices } from '../context.js';
import { progressBar } from '../progress.js';

const BATCH = 512;

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function mustBeFile(file: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch {
    throw new VigilError('NOT_FOUND', `${file}: no such file`);
  }
  if (!st.isFile()) throw new VigilError('BAD_REQUEST', `${file}: not a file`);
  return st.size;
}

function reasons(skipped: Record<string, number>): string {
  const parts = Object.entries(skipped).map(([r, n]) => `${r} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** Publishes in batches as the reader produces events, so memory stays flat. */
function publisher(services: Services) {
  let pending: VigilEvent[] = [];
  let published = 0;
  return {
    push(e: VigilEvent) {
      pending.push(e);
    },
    get size() {
      return pending.length;
    },
    get published() {
      return published;
    },
    async flush() {
      if (!pending.length) return;
      const batch = pending;
      pending = [];
      await services.bus.publish(batch);
      published += batch.length;
    },
  };
}

async function readPcap(
  services: Services,
  file: string,
): Promise<{ summary: SensorSummary; published: number }> {
  const size = mustBeFile(file);
  const out = publisher(services);
  const sensor = new Sensor({
    patientIdKey: services.keys.deriveKey('sensor-patient-id'),
    onEvent: (e) => out.push(e),
  });
  const bar = progressBar(path.basename(file));
  let read = 0;
  async function* paced(): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      yield chunk as Buffer;
      read += (chunk as Buffer).length;
      bar.update(read, size);
      if (out.size >= BATCH) await out.flush();
    }
  }
  try {
    const summary = await sensor.read(paced());
    await out.flush();
    bar.update(size, size);
    return { summary, published: out.published };
  } finally {
    bar.stop();
  }
}

function zeekFiles(target: string): string[] {
  const st = statSync(target, { throwIfNoEntry: false });
  if (!st) throw new VigilError('NOT_FOUND', `${target}: no such file or directory`);
  if (st.isFile()) return [target];
  return readdirSync(target)
    .filter((f) => /\.(log|json)(\.gz)?$/.test(f))
    .sort()
    .map((f) => path.join(target, f));
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
          print(
            `  packets ${summary.packets}, bytes ${summary.bytes}, connections ${summary.connections}, not IP ${summary.nonIp}`,
          );
          print(
            `  DICOM associations ${summary.dicomAssociations}, DICOM commands ${summary.dicomCommands}, HL7 messages ${summary.hl7Messages}`,
          );
          print(
            `  events published ${published}; skipped: ${reasons(summary.skipped)}${summary.stopped ? `; stopped: ${summary.stopped}` : ''}`,
          );
        }
      });
    });

  sensor
    .command('zeek <targets...>')
    .description('read Zeek logs (TSV or JSON, plain or gzip; a directory reads every log in it)')
    .option('--json', 'print the summaries as JSON')
    .action(async (targets: string[], opts: { json?: boolean }, cmd: Command) => {
      await withServices(cmd, async (services) => {
        for (const file of targets.flatMap(zeekFiles)) {
          const stats = newZeekStats();
          const out = publisher(services);
          for await (const event of readZeekFile(file, stats)) {
            out.push(event);
            if (out.size >= BATCH) await out.flush();
          }
          await out.flush();
          if (opts.json) print(JSON.stringify({ file, ...stats, published: out.published }));
          else {
            print(
              `${file}: ${stats.format}, ${stats.records} records (${
                Object.entries(stats.byLog)
                  .map(([l, n]) => `${l} ${n}`)
                  .join(', ') || 'none'
              })`,
            );
            print(`  events published ${out.published}; skipped: ${reasons(stats.skipped)}`);
          }
        }
      });
    });
}
