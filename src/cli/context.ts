/**
 * @module cli/context
 * Turns the global flags (`--data-dir`, `--config`) into a validated configuration, and opens the
 * services for commands that work on the data directory directly (users, tokens, migrate).
 */
import type { Command } from 'commander';
import type { Bus } from '../platform/bus/index.js';
import { loadConfig, type VigilConfig } from '../platform/config/index.js';
import { createLogger, type Logger } from '../platform/log/index.js';
import { attachConsumers, createServices, type Services } from '../server/index.js';

export interface GlobalOptions {
  dataDir?: string;
  config?: string;
}

export function configFrom(cmd: Command, overrides: Record<string, unknown> = {}): Readonly<VigilConfig> {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const merged: Record<string, unknown> = { ...overrides };
  if (opts.dataDir) merged.dataDir = opts.dataDir;
  return loadConfig({ file: opts.config, overrides: merged });
}

export function cliLogger(config: Readonly<VigilConfig>, quiet = true): Logger {
  // Commands print for people; logs would only repeat that, so they show warnings and worse.
  return createLogger({ level: quiet && config.log.level === 'info' ? 'warn' : config.log.level });
}

/** Waits until the in-process bus has handed every queued event to its consumers. */
export async function drainBus(bus: Bus, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (bus.stats().queued > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** Runs `fn` with open services (the event log attached, so CLI actions are recorded), then closes them. */
export async function withServices<T>(cmd: Command, fn: (services: Services) => Promise<T>): Promise<T> {
  const config = configFrom(cmd);
  const services = await createServices(config, cliLogger(config));
  // In one process (memory bus) the consumers run here, so what a command publishes is handled.
  const consumers = services.bus.kind === 'memory' ? await attachConsumers(services) : [];
  try {
    return await fn(services);
  } finally {
    await drainBus(services.bus);
    for (const c of consumers) await c.close();
    await services.close();
  }
}
