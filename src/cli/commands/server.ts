/**
 * @module cli/commands/server
 * `vigil start` and `vigil demo`: run the server (the demo on its own data directory, seeded with
 * a demo hospital on its first start).
 */
import type { Command } from 'commander';
import { seededRng, VigilError } from '../../core/index.js';
import type { VigilConfig } from '../../platform/config/index.js';
import { createLogger } from '../../platform/log/index.js';
import { attachConsumers, createServices, startServer } from '../../server/index.js';
import { cliLogger, configFrom, drainBus } from '../context.js';
import { demoSeeders } from '../demo-seeders.js';
import { progressBar } from '../progress.js';

function portOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--port must be a number from 0 to 65535, got ${value}`);
  return n;
}

function serverOverrides(opts: { port?: number; host?: string }): Record<string, unknown> {
  const server: Record<string, unknown> = {};
  if (opts.port !== undefined) server.port = opts.port;
  if (opts.host !== undefined) server.host = opts.host;
  return Object.keys(server).length ? { server } : {};
}

type FirstAdmin = { username: string; oneTimePassword: string } | null;

async function run(config: Readonly<VigilConfig>, created: FirstAdmin = null): Promise<void> {
  const logger = createLogger({ level: config.log.level });
  const server = await startServer(config, logger, { handleSignals: true });
  const out = process.stdout;
  // One write, so a reader that sees the first line sees the rest of the banner with it.
  out.write(
    `\nVigil is listening on ${server.url}\n  data directory: ${config.dataDir}\n  database: ${server.services.database.description}; bus: ${server.services.bus.kind}\n`,
  );
  const firstAdmin = server.firstAdmin ?? created;
  if (firstAdmin) {
    // Shown once on the terminal, never written to a log.
    out.write('\nFirst start: an administrator was created. Sign in, replace this password and enrol MFA:\n');
    out.write(`  username: ${firstAdmin.username}\n  one-time password: ${firstAdmin.oneTimePassword}\n\n`);
  }
}

export function registerServerCommands(program: Command): void {
  program
    .command('start')
    .description('run the Vigil server (console and API)')
    .option('-p, --port <port>', 'port to listen on (default 8080)', portOption)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      await run(configFrom(cmd, serverOverrides(opts)));
    });

  program
    .command('worker')
    .description('consume events without serving HTTP (distributed mode: bus.kind=nats)')
    .action(async (_opts: unknown, cmd: Command) => {
      const config = configFrom(cmd);
      if (config.bus.kind !== 'nats') {
        throw new VigilError(
          'CONFIG_INVALID',
          'vigil worker shares work over NATS: set bus.kind=nats (VIGIL_BUS_KIND=nats) and bus.natsUrl. With the in-process bus, `vigil start` does all the work.',
        );
      }
      const logger = createLogger({ level: config.log.level });
      const services = await createServices(config, logger, { backgroundCheckpoints: true });
      const consumers = await attachConsumers(services);
      process.stdout.write(
        `Vigil worker consuming from ${config.bus.natsUrl} (stream ${config.bus.stream})\n`,
      );
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          void (async () => {
            for (const c of consumers) await c.close();
            await services.close();
            process.exit(0);
          })();
        });
      }
    });

  program
    .command('demo')
    .description('run the server on a separate data directory seeded with a demo hospital')
    .option('-p, --port <port>', 'port to listen on (default 8080)', portOption)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ dataDir?: string }>();
      const config = configFrom(cmd, {
        ...serverOverrides(opts),
        ...(globals.dataDir || process.env.VIGIL_DATA_DIR ? {} : { dataDir: './vigil-demo-data' }),
      });
      const created = await seedDemo(config);
      try {
        await run(config, created);
      } catch (err) {
        // The administrator exists now: a later `vigil demo` finds the data seeded and shows no
        // password, so show it before the start-up error or nobody could ever sign in as admin.
        if (created) {
          process.stdout.write(
            `\nThe demo administrator was created before the server failed to start:\n  username: ${created.username}\n  one-time password: ${created.oneTimePassword}\n\n`,
          );
        }
        throw err;
      }
    });
}

/**
 * Seeds the demo hospital once (a data directory that already has people is left as it is).
 * Returns the first administrator when this call created it.
 */
export async function seedDemo(config: Readonly<VigilConfig>): Promise<FirstAdmin> {
  const services = await createServices(config, cliLogger(config));
  const consumers = await attachConsumers(services);
  try {
    const firstAdmin = await services.identity.users.ensureFirstAdmin();
    if (!firstAdmin) {
      process.stdout.write(`Demo data directory ${config.dataDir} is seeded already.\n`);
      return null;
    }
    const rng = seededRng(20_261_201);
    for (const seeder of demoSeeders) {
      const bar = progressBar(`Seeding ${seeder.name}`);
      const summary = await seeder.run({ services, rng, progress: (d, t) => bar.update(d, t) });
      bar.stop();
      process.stdout.write(`  ${seeder.name}: ${summary}\n`);
    }
    return firstAdmin;
  } finally {
    await drainBus(services.bus);
    for (const c of consumers) await c.close();
    await services.close();
  }
}
