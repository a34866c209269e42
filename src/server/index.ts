/**
 * @module server
 * Starts Vigil: services, the HTTP app, housekeeping, and a graceful shutdown on SIGTERM/SIGINT
 * (stop accepting, finish in-flight requests, close the bus and the database).
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { type ReportMailbox, startReportMailbox } from '../awareness/index.js';
import { VigilError } from '../core/index.js';
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

/** Starts the report mailbox when configured; a busy port names the setting to change. */
async function startMailbox(
  config: Readonly<VigilConfig>,
  services: Services,
  logger: Logger,
): Promise<ReportMailbox | null> {
  const c = config.awareness.reportMailbox;
  if (!c.enabled) return null;
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (c.tlsCertFile && c.tlsKeyFile) {
    try {
      tls = { cert: readFileSync(c.tlsCertFile), key: readFileSync(c.tlsKeyFile) };
    } catch (err) {
      throw new VigilError(
        'CONFIG_INVALID',
        `the report mailbox certificate or key cannot be read (awareness.reportMailbox.tlsCertFile, tlsKeyFile): ${(err as Error).message}`,
      );
    }
  }
  try {
    const mailbox = await startReportMailbox(services.awareness.tracking, {
      host: c.host,
      port: c.port,
      maxBytes: c.maxBytes,
      recipients: c.recipients.map((r) => r.toLowerCase()),
      ...(tls ? { tls } : {}),
      onError: (err) => logger.warn({ err }, 'report mailbox error'),
    });
    if (mailbox.starttls)
      logger.info({ port: mailbox.port, starttls: true }, 'report mailbox listening (STARTTLS on)');
    else
      logger.warn(
        { port: mailbox.port, starttls: false },
        'report mailbox listening with STARTTLS off: forwarded reports arrive unencrypted; set awareness.reportMailbox.tlsCertFile and tlsKeyFile to offer it',
      );
    return mailbox;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new VigilError(
      'CONFLICT',
      code === 'EADDRINUSE'
        ? `the report mailbox port ${c.port} is in use: change awareness.reportMailbox.port (VIGIL_AWARENESS_REPORT_MAILBOX_PORT)`
        : `the report mailbox could not start${tls ? ' (check awareness.reportMailbox.tlsCertFile and tlsKeyFile)' : ''}: ${(err as Error).message}`,
    );
  }
}

export async function startServer(
  config: Readonly<VigilConfig>,
  logger: Logger,
  options: ServiceOptions & { handleSignals?: boolean } = {},
): Promise<RunningServer> {
  const services = await createServices(config, logger, { backgroundCheckpoints: true, ...options });
  let closing = false;
  let app: FastifyInstance;
  let listening = false;
  let mailbox: ReportMailbox | null = null;
  try {
    // Consumers listen first, so the events of the first start (the first admin) are kept too.
    const consumers = await attachConsumers(services);
    app = await buildApp(services, { isClosing: () => closing });
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    listening = true;
    // Only once listening: a start that fails (a busy port) must not create an admin nobody sees.
    mailbox = await startMailbox(config, services, logger);
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
        await mailbox?.close();
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
    if (mailbox) await mailbox.close().catch(() => {});
    if (listening) await app!.close().catch(() => {});
    await services.close().catch(() => {});
    throw err;
  }
}
