/**
 * @module cli/commands/devices
 * `vigil devices list [--json]` and `vigil devices show <id> [--json]`: the inventory from the
 * data directory, for people (a table, a page) or for scripts (JSON: one object per device with
 * its identity attributes, type, criticality and evidence). `vigil devices export [--output F]` and
 * `vigil devices import <file>` move the hand-kept fields (type, criticality, owner, location,
 * notes) to and from a CMMS as CSV: the import is all or nothing, with every bad row listed.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { VigilError } from '../../core/index.js';
import type { DeviceDetail } from '../../devices/index.js';
import { withServices } from '../context.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

function printDevice(d: DeviceDetail): void {
  print(`${d.name ?? d.ip ?? d.id}  (${d.id})`);
  print(`  MAC ${d.mac ?? '-'}   IP ${d.ip ?? '-'}   first seen ${d.firstSeen}   last seen ${d.lastSeen}`);
  print(
    `  type ${d.type} (confidence ${d.classification.confidence}, rule ${d.classification.rule}): ${d.classification.reason}`,
  );
  print(`  criticality ${d.criticality}: ${d.criticalityReason}`);
  print('  identity:');
  for (const [name, list] of Object.entries(d.identity))
    for (const a of list)
      print(
        `    ${pad(name, 32)} ${pad(a.value, 40)} ${a.source}, ${a.evidence}, confidence ${a.confidence}, ${a.firstSeen} … ${a.lastSeen}`,
      );
  if (d.protocols.served.length) print(`  serves: ${d.protocols.served.map((p) => p.value).join(', ')}`);
  if (d.protocols.used.length) print(`  uses: ${d.protocols.used.map((p) => p.value).join(', ')}`);
  if (d.peers.length) {
    print('  peers:');
    for (const p of d.peers.slice(0, 20))
      print(
        `    ${p.direction === 'out' ? '→' : '←'} ${pad(p.peerName ?? p.peerIp, 30)} ${p.app ?? p.transport}/${p.port}  connections ${p.connections}, packets ${p.packets}, bytes ${p.bytes}, observations ${p.observations}`,
      );
  }
  for (const f of d.findings) print(`  finding [${f.severity}] ${f.summary} (×${f.count})`);
}

export function registerDevicesCommands(program: Command): void {
  const devices = program.command('devices').description('the medical-device inventory');

  devices
    .command('list')
    .description('list the devices in the inventory')
    .option('--json', 'one JSON object per line: identity attributes, type, criticality and evidence')
    .option('--type <type>', 'only this type')
    .option('--search <text>', 'only devices matching this text (IP, MAC, name, AE title, …)')
    .action(async (opts: { json?: boolean; type?: string; search?: string }, cmd: Command) => {
      await withServices(cmd, async (services) => {
        const q = services.devices.queries;
        let offset = 0;
        if (!opts.json)
          print(
            `${pad('id', 29)} ${pad('ip', 16)} ${pad('mac', 18)} ${pad('name', 24)} ${pad('type', 21)} criticality`,
          );
        for (;;) {
          const page = await q.list({ type: opts.type, q: opts.search, sort: 'ip', limit: 500, offset });
          for (const d of page.devices) {
            if (opts.json) {
              const detail = await q.get(d.id);
              if (detail) print(JSON.stringify(detail));
            } else
              print(
                `${pad(d.id, 29)} ${pad(d.ip ?? '-', 16)} ${pad(d.mac ?? '-', 18)} ${pad(d.name ?? '-', 24)} ${pad(d.type, 21)} ${d.criticality}`,
              );
          }
          offset += page.devices.length;
          if (!page.devices.length || offset >= page.total) {
            if (!opts.json) print(`${page.total} devices`);
            break;
          }
        }
      });
    });

  devices
    .command('show <id>')
    .description('one device (by id, MAC or IP) with its evidence, protocols, peers and findings')
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await withServices(cmd, async (services) => {
        const d = await services.devices.queries.get(id);
        if (!d) throw new VigilError('NOT_FOUND', `${id}: no such device (give an id, a MAC or an IP)`);
        if (opts.json) print(JSON.stringify(d, null, 2));
        else printDevice(d);
      });
    });

  devices
    .command('export')
    .description('the inventory as CSV for a CMMS (identity, type, criticality and the hand-kept fields)')
    .option('--output <file>', 'write to this file (default: standard output)')
    .action(async (opts: { output?: string }, cmd: Command) => {
      await withServices(cmd, async (services) => {
        const csv = await services.devices.edits.exportCsv();
        if (opts.output) {
          writeFileSync(opts.output, csv, { mode: 0o600 });
          process.stderr.write(`wrote ${csv.split('\n').length - 2} devices to ${opts.output}\n`);
        } else process.stdout.write(csv);
      });
    });

  devices
    .command('import <file>')
    .description(
      'set type, criticality, owner, location and notes from a CMMS CSV (rows name a device by id, mac or ip); all rows or none',
    )
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      await withServices(cmd, async (services) => {
        try {
          const s = await services.devices.edits.importCsv(createReadStream(file), 'cli');
          print(
            `${s.rows} rows: ${s.updated} devices updated, ${s.unchanged} unchanged${s.ignoredColumns.length ? `; columns ignored: ${s.ignoredColumns.join(', ')}` : ''}`,
          );
        } catch (err) {
          const errors = (err as VigilError).details?.errors;
          if (Array.isArray(errors))
            for (const e of errors as Array<{ row: number; field: string; message: string }>)
              process.stderr.write(`  row ${e.row}, ${e.field}: ${e.message}\n`);
          throw err;
        }
      });
    });
}
