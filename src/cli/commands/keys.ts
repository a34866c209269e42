/**
 * @module cli/commands/keys
 * `vigil keys rotate`: a new key-encryption key (KEK), then every data key re-wrapped under it in
 * batches with a progress bar, while servers on the same database and key directory keep serving
 * (they load the new KEK by themselves, see platform/keys/file-keyring.ts). Interrupted, it is
 * finished by running it again: while data keys are left under an older KEK, `rotate` finishes
 * that rotation instead of adding another KEK (`--new-key` adds one anyway). Legal-hold reasons,
 * sealed the same way, are re-sealed too.
 * `vigil keys status`: the KEKs and how many data keys each one wraps.
 */
import type { Command } from 'commander';
import { makeEvent, VigilError } from '../../core/index.js';
import { completeRotation, dataKeysByKek, staleDataKeyCount } from '../../vault/index.js';
import { withServices } from '../context.js';
import { progressBar } from '../progress.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function positiveInt(name: string, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 0 || n > max)
      throw new VigilError('BAD_REQUEST', `${name} must be a whole number from 0 to ${max}`);
    return n;
  };
}

interface RotateOptions {
  batchSize: number;
  settleMs: number;
  newKey?: boolean;
}

/** Registers `vigil keys …`. */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('the key-encryption keys of the vault');

  keys
    .command('rotate')
    .description(
      'add a key-encryption key and re-wrap every data key under it while servers keep serving; safe to re-run',
    )
    .option('--batch-size <n>', 'data keys per transaction', positiveInt('--batch-size', 10_000), 200)
    .option(
      '--settle-ms <ms>',
      'after adding the key, wait this long for writes already under way, then check again',
      positiveInt('--settle-ms', 600_000),
      2000,
    )
    .option('--new-key', 'add a new key even when an earlier rotation is unfinished')
    .action(async (opts: RotateOptions, cmd: Command) => {
      if (opts.batchSize < 1) throw new VigilError('BAD_REQUEST', '--batch-size must be at least 1');
      await withServices(cmd, async (s) => {
        const db = s.database.db;
        const unfinished = await staleDataKeyCount(db, s.keys);
        let settleUntil = 0;
        let rotated: string | null = null;
        if (unfinished > 0 && !opts.newKey) {
          print(
            `An earlier rotation to key ${s.keys.currentKekId()} is unfinished (${unfinished} data keys under older keys): finishing it. Run \`vigil keys rotate\` again afterwards for a new key.`,
          );
        } else {
          const previous = s.keys.currentKekId();
          rotated = s.keys.rotate();
          settleUntil = Date.now() + opts.settleMs;
          print(`New key-encryption key ${rotated} (was ${previous}). Re-wrapping the data keys…`);
        }
        const bar = progressBar('Re-wrapping');
        let outcome: Awaited<ReturnType<typeof completeRotation>>;
        try {
          outcome = await completeRotation(db, s.keys, {
            batchSize: opts.batchSize,
            settleUntil,
            onProgress: (done, total) => bar.update(done, total),
          });
        } finally {
          bar.stop();
        }
        const holds = await s.vault.legalHolds.rewrap();
        // On the record (the event log, detection, other processes on NATS); never fatal.
        await s.bus
          .publish([
            makeEvent({
              kind: 'keys.rotated',
              source: 'cli',
              severity: 'info',
              data: { kekId: outcome.kekId, newKey: rotated !== null, rewrapped: outcome.rewrapped },
            }),
          ])
          .catch(() => undefined);
        print(
          `Re-wrapped ${outcome.rewrapped} data key(s)${holds ? ` and ${holds} legal-hold reason(s)` : ''} under key ${outcome.kekId}.`,
        );
        if (outcome.remaining > 0)
          throw new VigilError(
            'CONFLICT',
            `${outcome.remaining} data key(s) are still under older keys (written while this ran); run \`vigil keys rotate\` again to finish`,
          );
        print('Every data key is under the current key. Older key files stay: they open backups.');
      });
    });

  keys
    .command('status')
    .description('the current key-encryption key and how many data keys each key wraps')
    .action(async (_opts: unknown, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const current = s.keys.refresh();
        const counts = new Map((await dataKeysByKek(s.database.db)).map((c) => [c.kekId, c.keys]));
        print(`Current key-encryption key: ${current}`);
        for (const id of s.keys.kekIds())
          print(`  ${id}${id === current ? ' (current)' : ''}: ${counts.get(id) ?? 0} data key(s)`);
        for (const [id, n] of counts)
          if (!s.keys.kekIds().includes(id))
            print(`  ${id} (missing from the key directory!): ${n} data key(s)`);
        const stale = await staleDataKeyCount(s.database.db, s.keys);
        print(
          stale
            ? `${stale} data key(s) are under older keys: run \`vigil keys rotate\` to finish the rotation.`
            : 'Every data key is under the current key.',
        );
      });
    });
}
