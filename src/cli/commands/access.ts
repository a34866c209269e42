/**
 * @module cli/commands/access
 * `vigil access update-lists [--json]`: downloads the Tor exit list and the configured IP lists
 * (`access.lists`) into the lists directory, each checked and replaced atomically; a list that
 * fails keeps its old file. Prints the counts per list; exits 1 when any list failed (so a cron job
 * notices). A running gateway picks the new files up by itself within `access.lists.reloadSeconds`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type ListUpdate, updateLists } from '../../access/index.js';
import { VigilError } from '../../core/index.js';
import { configFrom } from '../context.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

const readOrNull = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

function describe(u: ListUpdate): string {
  const before = u.previous === null ? 'none' : String(u.previous);
  if (u.ok)
    return `${u.name}: ${u.entries} entries (before: ${before})${u.rejected ? `, ${u.rejected} unreadable lines skipped` : ''}`;
  return `${u.name}: FAILED (${u.error}); kept ${u.previous === null ? 'no list' : `the old list of ${u.previous} entries`}`;
}

export function registerAccessCommands(program: Command): void {
  const access = program.command('access').description('the remote access gateway');

  access
    .command('update-lists')
    .description('download the Tor exit list and the configured IP blocklists (access.lists)')
    .option('--json', 'one JSON object per list')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      const settings = config.access.lists;
      const dir = settings.dir ?? path.join(config.dataDir, 'access-lists');
      if (!settings.torExitUrl.trim() && settings.sources.length === 0)
        throw new VigilError(
          'BAD_REQUEST',
          'No lists to download: set access.lists.torExitUrl or access.lists.sources.',
        );
      const results = await updateLists(settings, dir, readOrNull);
      for (const r of results) print(opts.json ? JSON.stringify(r) : describe(r));
      const failed = results.filter((r) => !r.ok).length;
      if (!opts.json)
        print(
          `${results.length - failed} of ${results.length} lists updated in ${dir}${failed ? '' : '; the gateway reloads them by itself'}`,
        );
      if (failed) process.exitCode = 1;
    });
}
