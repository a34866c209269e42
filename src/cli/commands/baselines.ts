/**
 * @module cli/commands/baselines
 * `vigil baselines list [--learning|--active] [--json]`: device behaviour baselines, learning or
 * active, with what each learned. `vigil baselines show <device> [--json]`: one device's peers,
 * ports and protocols. `vigil baselines reset <device>`: back to learning (by inventory id, MAC or
 * address), after a planned change of the device's behaviour.
 */
import type { Command } from 'commander';
import { VigilError } from '../../core/index.js';
import { withServices } from '../context.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

export function registerBaselinesCommands(program: Command): void {
  const baselines = program.command('baselines').description('device behaviour baselines');

  baselines
    .command('list')
    .description('list device baselines: status, learning window, what each learned')
    .option('--learning', 'only devices still learning')
    .option('--active', 'only devices past their learning window')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { learning?: boolean; active?: boolean; json?: boolean }, cmd: Command) => {
      if (opts.learning && opts.active)
        throw new VigilError('BAD_REQUEST', 'Use --learning or --active, not both.');
      const status = opts.learning ? 'learning' : opts.active ? 'active' : undefined;
      await withServices(cmd, async (services) => {
        const b = services.detect.baselines;
        if (!opts.json)
          print(
            `${pad('device', 40)} ${pad('status', 9)} ${pad('learning until', 25)} peers ports protocols anomalies`,
          );
        let offset = 0;
        for (;;) {
          const page = await b.list({ status, limit: 1000, offset });
          for (const x of page.baselines) {
            if (opts.json) print(JSON.stringify(x));
            else {
              const sat = (k: keyof typeof x.saturated, v: number) => `${v}${x.saturated[k] ? '+' : ''}`;
              print(
                `${pad(x.device, 40)} ${pad(x.status, 9)} ${pad(x.learningUntil, 25)} ${pad(sat('peers', x.peers), 5)} ${pad(sat('ports', x.ports), 5)} ${pad(sat('protocols', x.protocols), 9)} ${x.anomalies}`,
              );
            }
          }
          offset += page.baselines.length;
          if (!page.baselines.length || offset >= page.total) {
            if (!opts.json)
              print(`${page.total} baselines (+: more than the cap while learning, not alerted on)`);
            break;
          }
        }
      });
    });

  baselines
    .command('show <device>')
    .description("one device's baseline (inventory id, MAC or address)")
    .option('--json', 'print it as one JSON object')
    .action(async (device: string, opts: { json?: boolean }, cmd: Command) => {
      await withServices(cmd, async (services) => {
        const d = await services.detect.baselines.get(device);
        if (!d) throw new VigilError('NOT_FOUND', `${device} has no baseline.`);
        if (opts.json) return print(JSON.stringify(d));
        print(`${d.device}: ${d.status} (learning ${d.learningSince} … ${d.learningUntil})`);
        print(`  seen ${d.firstSeen} … ${d.lastSeen}, ${d.anomalies} anomalies, ${d.resets} resets`);
        print(`  peers (${d.peers}${d.saturated.peers ? ', over the cap' : ''}): ${d.knownPeers.join(' ')}`);
        print(`  ports (${d.ports}${d.saturated.ports ? ', over the cap' : ''}): ${d.knownPorts.join(' ')}`);
        print(`  protocols: ${d.knownProtocols.join(' ')}`);
        print(`  hours of the week with volume history: ${d.volumeHours}`);
      });
    });

  baselines
    .command('reset <device>')
    .description('return a device (inventory id, MAC or address) to learning')
    .action(async (device: string, _opts: unknown, cmd: Command) => {
      await withServices(cmd, async (services) => {
        const d = await services.detect.baselines.reset(device, { name: 'cli' });
        print(`${d.device}: learning again until ${d.learningUntil}`);
      });
    });
}
