/**
 * @module server
 * Starts Vigil: services, the HTTP app, housekeeping, and a graceful shutdown on SIGTERM/SIGINT
 * (stop accepting, finish in-flight requests, close the bus and the database).
 */
import type { FastifyInstance } from 'fastify';
import type { VigilConfig } from '../platform/config/index.js';
import type { Logger } from '../platform/log/index.js';
import { buildApp } from './app.js';
import {
  attachConsumers,
  createServices,
  type ServiceOptions,
  type Services,
  scheduleJobs,
} from './services.js';

export { buildApp } from './app.js';
export {
  ALL_MIGRATIONS,
  attachConsumers,
  createServices,
  openDatabaseFor,
  type Services,
  scheduleJobs,
} from './services.js';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  /** Set when this start created the first administrator: show it once, never log it. */
  firstAdmin: { username: string; oneTimePassword: string } | null;
  close(): Promise<void>;
}

export async function startServer(
  config: Readonly<VigilConfig>,
  logger: Logger,
  options: ServiceOptions & { handleSignals?: boolean } = {},
): Promise<RunningServer> {
  const services = await createServices(config, logger, options);
  let closing = false;
  let app: FastifyInstance;
  try {
    // Consumers listen first, so the events of the first start (the first admin) are kept too.
    const consumers = await attachConsumers(services);
    app = await buildApp(services, { isClosing: () => closing });
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    // Only once listening: a start that fails (a busy port) must not create an admin nobody sees.
    const firstAdmin = await services.identity.users.ensureFirstAdmin();
    const stopJobs = scheduleJobs(services);

    let closed: Promise<void> | undefined;
    const close = () => {
      closed ??= (async () => {
        closing = true;
        stopJobs();
        const timer = setTimeout(() => {
          logger.error('graceful shutdown took too long; exiting');
          process.exit(1);
        }, config.server.shutdownGraceMs + 5_000);
        timer.unref();
        await app.close();
        for (const c of consumers) await c.close();
        await services.close();
        clearTimeout(timer);
        logger.info('Vigil stopped');
      })();
      return closed;
    };
    if (options.handleSignals) {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          logger.info({ signal }, 'shutting down');
          void close().then(() => process.exit(0));
        });
      }
    }
    return { app, services, url: address, firstAdmin, close };
  } catch (err) {
    await services.close().catch(() => {});
    throw err;
  }
}
