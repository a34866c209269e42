/**
 * @module cli/main
 * The `vigil` command. Every command takes `--data-dir` (or VIGIL_DATA_DIR) and `--config`.
 * Errors print one clear line (what is wrong and what to do) and exit non-zero; no stack traces
 * for expected problems.
 */
import { Command, CommanderError } from 'commander';
import { isVigilError } from '../core/index.js';
import { registerAccessCommands } from './commands/access.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerAlertsCommands } from './commands/alerts.js';
import { registerBaselinesCommands } from './commands/baselines.js';
import { registerDevicesCommands } from './commands/devices.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerPrivacyCommands } from './commands/privacy.js';
import { registerRulesCommands } from './commands/rules.js';
import { registerSensorCommands } from './commands/sensor.js';
import { registerServerCommands } from './commands/server.js';
import { registerStaffCommands } from './commands/staff.js';
import { registerVaultCommands } from './commands/vault.js';

export function buildProgram(): Command {
  const program = new Command('vigil')
    .description('Vigil: security operations for hospitals')
    .option('-d, --data-dir <dir>', 'data directory (default ./vigil-data; env VIGIL_DATA_DIR)')
    .option(
      '-c, --config <file>',
      'configuration file, JSON or YAML (default vigil.config.json|yaml in the working directory)',
    )
    .showHelpAfterError()
    .exitOverride();
  registerServerCommands(program);
  registerAdminCommands(program);
  registerVaultCommands(program);
  registerStaffCommands(program);
  registerPrivacyCommands(program);
  registerKeysCommands(program);
  registerSensorCommands(program);
  registerDevicesCommands(program);
  registerRulesCommands(program);
  registerAlertsCommands(program);
  registerBaselinesCommands(program);
  registerAccessCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (isVigilError(err)) {
      process.stderr.write(`vigil: ${err.message}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(
        'vigil: the port is in use. Stop the other program or choose another with --port.\n',
      );
      return 2;
    }
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      process.stderr.write(`vigil: permission denied (${e.message}). Check the data directory and port.\n`);
      return 2;
    }
    if (e.code === 'ECONNREFUSED') {
      process.stderr.write(`vigil: cannot reach a server (${e.message}). Is the database or NATS running?\n`);
      return 2;
    }
    process.stderr.write(`vigil: ${e.message ?? String(err)}\n`);
    return 1;
  }
}
