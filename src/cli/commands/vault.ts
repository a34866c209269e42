/**
 * @module cli/commands/vault
 * `vigil vault import <dir-or-ndjson>`: FHIR bulk-data NDJSON into the vault, streamed, batched,
 * idempotent and so resumable (run it again after an interruption), with a progress bar.
 * `vigil audit verify`: recomputes the audit chain and checkpoints; exit 0 when intact, 2 naming
 * the first bad entry otherwise.
 */
import type { Command } from 'commander';
import { VigilError } from '../../core/index.js';
import { importNdjson } from '../../vault/index.js';
import { withServices } from '../context.js';
import { progressBar } from '../progress.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Registers `vigil vault …` and `vigil audit …`. */
export function registerVaultCommands(program: Command): void {
  const vault = program.command('vault').description('the patient-data vault');
  vault
    .command('import <path>')
    .description('import FHIR bulk-data NDJSON (a file or a directory of .ndjson files); safe to re-run')
    .option('--batch-size <n>', 'resources per transaction', (v) => Number.parseInt(v, 10), 500)
    .action(async (target: string, opts: { batchSize: number }, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const bar = progressBar('Importing');
        try {
          const r = await importNdjson(s.vault, target, {
            batchSize: opts.batchSize,
            onProgress: (done, total) => bar.update(done, total),
          });
          bar.stop();
          print(
            `Imported ${r.lines} resources from ${r.files} file(s): ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged.`,
          );
        } finally {
          bar.stop();
        }
      });
    });

  const audit = program.command('audit').description('the vault audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain and check the signed checkpoints')
    .action(async (_opts: unknown, cmd: Command) => {
      const result = await withServices(cmd, (s) => s.vault.verifyAudit());
      if (result.ok) {
        print(
          `The audit trail is intact: ${result.entries} entries, ${result.checkpoints} signed checkpoint(s).`,
        );
        return;
      }
      // A VigilError: main prints it as one line and exits non-zero (2).
      throw new VigilError(
        'CONFLICT',
        `the audit trail is broken: entry ${result.firstBadSeq} was ${result.problem} (entries before it are intact)`,
      );
    });
}
