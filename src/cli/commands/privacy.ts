/**
 * @module cli/commands/privacy
 * The privacy office for operators on the server (the CLI holds the key directory, so it acts
 * without a console role, as `vigil vault import` does; what it does is recorded under
 * `vigil-cli:<os user>`):
 * `vigil vault hold set <patient-id> --reason <text>`, `vigil vault hold release <patient-id>`,
 * `vigil vault hold list` — legal holds, which refuse erasure;
 * `vigil audit export [--since] [--until] [--out file]` — the audit trail as FHIR AuditEvent
 * NDJSON, streamed page by page (the export itself is audited).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { VigilError } from '../../core/index.js';
import type { AuditActor } from '../../vault/index.js';
import { parseExportRange } from '../../vault/index.js';
import { withServices } from '../context.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Who the CLI acts as in the audit trail and on holds. */
function operator(): AuditActor {
  let name = 'unknown';
  try {
    name = userInfo().username || name;
  } catch {
    // No passwd entry (a container): the id still says it was the CLI.
  }
  return { id: `vigil-cli:${name.slice(0, 64)}`, role: 'operator' };
}

function subcommand(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  return found ?? program.command(name);
}

async function writeAll(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Registers `vigil vault hold …` and `vigil audit export` (after the vault commands). */
export function registerPrivacyCommands(program: Command): void {
  const vault = subcommand(program, 'vault');
  const hold = vault.command('hold').description('legal holds: a held patient cannot be erased');
  hold
    .command('set <patient-id>')
    .description('put a patient under a legal hold, or change the reason of their hold')
    .requiredOption(
      '--reason <text>',
      'why (a case, a retention rule); stored sealed, at most 500 characters',
    )
    .action(async (patientId: string, opts: { reason: string }, cmd: Command) => {
      const h = await withServices(cmd, (s) => s.vault.privacy.setHoldAs(operator(), patientId, opts.reason));
      print(`Patient/${h.patientId} is under a legal hold: ${h.reason}`);
    });
  hold
    .command('release <patient-id>')
    .description('release a legal hold')
    .action(async (patientId: string, _opts: unknown, cmd: Command) => {
      await withServices(cmd, (s) => s.vault.privacy.releaseHoldAs(operator(), patientId));
      print(`The legal hold on Patient/${patientId} is released.`);
    });
  hold
    .command('list')
    .description('every legal hold, newest first')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const holds = await withServices(cmd, (s) => s.vault.legalHolds.list());
      if (opts.json) {
        for (const h of holds) print(JSON.stringify(h));
        return;
      }
      if (!holds.length) {
        print('No legal holds.');
        return;
      }
      for (const h of holds) print(`Patient/${h.patientId}  since ${h.setAt}  by ${h.setBy}  ${h.reason}`);
    });

  const audit = subcommand(program, 'audit');
  audit
    .command('export')
    .description('the audit trail as FHIR AuditEvent NDJSON, oldest first (the export is itself audited)')
    .option(
      '--since <date>',
      'from this date or date-time (inclusive), e.g. 2026-03-01 or 2026-03-01T08:00:00Z',
    )
    .option('--until <date>', 'up to this date or date-time (exclusive)')
    .option('--out <file>', 'write to this new file (mode 0600) instead of standard output')
    .action(async (opts: { since?: string; until?: string; out?: string }, cmd: Command) => {
      const range = parseExportRange(opts.since, opts.until);
      let out: Writable = process.stdout;
      if (opts.out) {
        const file = createWriteStream(opts.out, { flags: 'wx', mode: 0o600 });
        await new Promise<void>((resolve, reject) => {
          file.once('open', () => resolve());
          file.once('error', (err: NodeJS.ErrnoException) =>
            reject(
              err.code === 'EEXIST'
                ? new VigilError('CONFLICT', `${opts.out} exists already; choose a new file`)
                : err,
            ),
          );
        });
        out = file;
      }
      let n = 0;
      let failed = true;
      try {
        await withServices(cmd, async (s) => {
          const exported = await s.vault.privacy.exportAuditAs(operator(), range);
          for await (const event of exported.events) {
            await writeAll(out, `${JSON.stringify(event)}\n`);
            n++;
          }
        });
        failed = false;
      } finally {
        if (out !== process.stdout) {
          out.end();
          await once(out, 'close');
          // A half-written export must not pass for a whole one.
          if (failed && opts.out) await unlink(opts.out).catch(() => undefined);
        }
      }
      process.stderr.write(`Exported ${n} AuditEvent(s)${opts.out ? ` to ${opts.out}` : ''}.\n`);
    });
}
