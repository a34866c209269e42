/**
 * @module cli/commands/alerts
 * `vigil alerts export [--format ocsf|json] [--ndjson] [--status s,…] [--level l] [--since t]
 * [--until t] [--output file]`: the alerts as OCSF 1.3 Detection Findings (default) or Vigil's
 * own JSON, as one array or one per line. `vigil alerts webhook-secret <name>`: the HMAC key a
 * webhook output derives from the key ring when its configuration names no file or variable, to
 * give the receiver.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { VigilError } from '../../core/index.js';
import {
  ALERT_LEVELS,
  ALERT_STATUSES,
  type AlertQuery,
  type AlertStatus,
  derivedWebhookSecret,
  toDetectionFinding,
} from '../../detect/index.js';
import { FileKeyRing } from '../../platform/keys/index.js';
import { configFrom, withServices } from '../context.js';

interface ExportOptions {
  format: string;
  ndjson?: boolean;
  status?: string;
  level?: string;
  since?: string;
  until?: string;
  output?: string;
}

function filtersOf(opts: ExportOptions): Omit<AlertQuery, 'limit' | 'offset'> {
  const q: Omit<AlertQuery, 'limit' | 'offset'> = {};
  if (opts.status) {
    const list = opts.status.split(',').filter(Boolean);
    for (const s of list)
      if (!(ALERT_STATUSES as readonly string[]).includes(s))
        throw new VigilError('BAD_REQUEST', `--status: ${s} is not one of ${ALERT_STATUSES.join(', ')}`);
    q.status = list as AlertStatus[];
  }
  if (opts.level) {
    if (!(ALERT_LEVELS as readonly string[]).includes(opts.level))
      throw new VigilError('BAD_REQUEST', `--level: one of ${ALERT_LEVELS.join(', ')}`);
    q.level = opts.level;
  }
  for (const [flag, value] of [
    ['since', opts.since],
    ['until', opts.until],
  ] as const) {
    if (value === undefined) continue;
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw new VigilError('BAD_REQUEST', `--${flag}: a date or time (ISO 8601)`);
    q[flag] = new Date(t).toISOString();
  }
  return q;
}

/** The package version, as the server reports it (package.json beside src/ and dist/). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const PRODUCT = { name: 'Vigil', vendor: 'Vigil', version: VERSION };

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise((r) => out.once('drain', r));
}

export function registerAlertsCommands(program: Command): void {
  const alerts = program.command('alerts').description('detection alerts');

  alerts
    .command('export')
    .description('export alerts as OCSF Detection Findings (class 2004) or as Vigil JSON')
    .option('--format <format>', 'ocsf or json', 'ocsf')
    .option('--ndjson', 'one JSON object per line instead of one array')
    .option('--status <list>', `only these statuses (comma-separated: ${ALERT_STATUSES.join(', ')})`)
    .option('--level <level>', `only this level (${ALERT_LEVELS.join(', ')})`)
    .option('--since <time>', 'only alerts first seen at or after this time')
    .option('--until <time>', 'only alerts first seen before this time')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (opts: ExportOptions, cmd: Command) => {
      if (opts.format !== 'ocsf' && opts.format !== 'json')
        throw new VigilError('BAD_REQUEST', '--format: ocsf or json');
      const q = filtersOf(opts);
      await withServices(cmd, async (services) => {
        const out: Writable = opts.output
          ? createWriteStream(path.resolve(opts.output), { mode: 0o600 })
          : process.stdout;
        let n = 0;
        if (!opts.ndjson) await write(out, '[');
        for await (const a of services.detect.alerts.each(q)) {
          const doc = opts.format === 'ocsf' ? toDetectionFinding(a, PRODUCT) : a;
          const sep = opts.ndjson ? '' : n ? ',\n' : '\n';
          await write(out, `${sep}${JSON.stringify(doc)}${opts.ndjson ? '\n' : ''}`);
          n++;
        }
        if (!opts.ndjson) await write(out, '\n]\n');
        if (opts.output) {
          await new Promise<void>((resolve, reject) =>
            out.end((err?: Error | null) => (err ? reject(err) : resolve())),
          );
          process.stderr.write(`${n} alerts written to ${opts.output}\n`);
        }
      });
    });

  alerts
    .command('webhook-secret <name>')
    .description('print the HMAC key a webhook output derives from the key ring (give it to the receiver)')
    .action((name: string, _opts: unknown, cmd: Command) => {
      const config = configFrom(cmd);
      const hook = config.alerts.webhooks.find((w) => w.name === name);
      if (!hook) throw new VigilError('NOT_FOUND', `no webhook output named ${name} in alerts.webhooks`);
      if (hook.secretFile || hook.secretEnv)
        throw new VigilError(
          'BAD_REQUEST',
          `webhook ${name} takes its key from ${hook.secretFile ? `the file ${hook.secretFile}` : `the variable ${hook.secretEnv}`}, not the key ring`,
        );
      const keys = FileKeyRing.open(config.keys.dir ?? path.join(config.dataDir, 'keys'));
      process.stdout.write(`${derivedWebhookSecret(keys, name)}\n`);
    });
}
