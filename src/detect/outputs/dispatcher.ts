/**
 * Sends new alerts to the configured outputs. The dispatcher consumes `detect.alert` events as the
 * `alert-outputs` group (so with several workers each alert goes out once, at least once), reads
 * the alert from the store and hands it to each output whose minimum level it reaches.
 *
 * Secrets: a webhook's HMAC key is read from `secretFile`, else from the environment variable
 * `secretEnv`, else derived from the key ring (`detect.webhook:<name>`, printed by `vigil alerts
 * webhook-secret <name>`); an SMTP password from `passwordFile` or `passwordEnv`. The key is the
 * text (UTF-8) of that secret. None of them is ever stored in the database or logged.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { VigilError, type VigilEvent } from '../../core/index.js';
import type { Bus, Subscription } from '../../platform/bus/index.js';
import type { VigilConfig } from '../../platform/config/index.js';
import type { KeyRing } from '../../platform/keys/index.js';
import type { Logger } from '../../platform/log/index.js';
import { createSmtpSender, type MailSender, type SmtpSettings } from '../../platform/mail/index.js';
import type { Alert, AlertStore } from '../alerts/store.js';
import { EmailOutput } from './email.js';
import type { OutputStats } from './queue.js';
import { SyslogOutput } from './syslog.js';
import { type AlertOutput, type ProductInfo, passes } from './types.js';
import { WebhookOutput } from './webhook.js';

export type AlertsConfig = VigilConfig['alerts'];

/** What building the outputs needs. */
export interface OutputDeps {
  keys: Pick<KeyRing, 'deriveKey'>;
  product: ProductInfo;
  logger?: Logger;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** Builds an SMTP sender (default nodemailer). */
  mailer?: (settings: SmtpSettings) => MailSender;
  fetch?: typeof fetch;
}

/** The webhook key derived from the key ring for an output name, as text (64 hex digits). */
export function derivedWebhookSecret(keys: Pick<KeyRing, 'deriveKey'>, name: string): string {
  return keys.deriveKey(`detect.webhook:${name}`).toString('hex');
}

function readSecret(
  what: string,
  source: { file?: string | undefined; env?: string | undefined },
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (source.file) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8').trim();
    } catch (err) {
      throw new VigilError(
        'CONFIG_INVALID',
        `${what}: cannot read ${source.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (!text) throw new VigilError('CONFIG_INVALID', `${what}: ${source.file} is empty`);
    return text;
  }
  if (source.env) {
    const text = env[source.env]?.trim();
    if (!text)
      throw new VigilError('CONFIG_INVALID', `${what}: the environment variable ${source.env} is not set`);
    return text;
  }
  return undefined;
}

/** Builds the outputs of the configuration (no connection is opened until the first alert). */
export function buildOutputs(config: AlertsConfig, deps: OutputDeps): AlertOutput[] {
  const env = deps.env ?? process.env;
  const now = deps.now ?? (() => new Date());
  const outputs: AlertOutput[] = [];
  for (const w of config.webhooks) {
    const secret =
      readSecret(`alerts.webhooks ${w.name} secret`, { file: w.secretFile, env: w.secretEnv }, env) ??
      derivedWebhookSecret(deps.keys, w.name);
    outputs.push(
      new WebhookOutput(
        { ...w, secret: Buffer.from(secret, 'utf8') },
        deps.product,
        now,
        deps.logger,
        deps.fetch,
      ),
    );
  }
  for (const s of config.syslog) {
    const read = (file: string | undefined, what: string) => {
      if (!file) return undefined;
      try {
        return readFileSync(file);
      } catch (err) {
        throw new VigilError(
          'CONFIG_INVALID',
          `alerts.syslog ${s.name} ${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    };
    outputs.push(
      new SyslogOutput(
        {
          ...s,
          port: s.port ?? (s.transport === 'tls' ? 6514 : 514),
          hostname: s.hostname ?? osHostname(),
          ca: read(s.caFile, 'caFile'),
          cert: read(s.certFile, 'certFile'),
          key: read(s.keyFile, 'keyFile'),
        },
        deps.product,
        now,
        deps.logger,
      ),
    );
  }
  for (const e of config.email) {
    const password = readSecret(
      `alerts.email ${e.name} password`,
      { file: e.passwordFile, env: e.passwordEnv },
      env,
    );
    const mailer = (deps.mailer ?? createSmtpSender)({
      host: e.host,
      port: e.port,
      security: e.security,
      username: e.username ?? null,
      password: password ?? null,
      verifyTls: e.verifyTls,
    });
    outputs.push(new EmailOutput(e, mailer, deps.product, deps.logger));
  }
  return outputs;
}

/** An output's counters with its kind and level, for the API. */
export type OutputStatus = OutputStats & { minLevel: string };

/** Most alert events remembered to skip a redelivery. */
const MAX_SEEN = 10_000;

/** Hands new alerts to the outputs; see the module comment. */
export class AlertDispatcher {
  readonly #seen = new Set<string>();

  constructor(
    private readonly alerts: Pick<AlertStore, 'get'>,
    readonly outputs: readonly AlertOutput[],
    private readonly logger?: Logger,
  ) {}

  /** Sends one alert to every output it reaches. */
  send(alert: Alert): void {
    for (const o of this.outputs) if (passes(o, alert)) o.send(alert);
  }

  /** Handles `detect.alert` events: reads each alert and sends it. */
  async handle(events: readonly VigilEvent[]): Promise<void> {
    for (const e of events) {
      if (e.kind !== 'detect.alert' || this.#seen.has(e.id)) continue;
      const id = (e.data as { alertId?: unknown } | undefined)?.alertId;
      if (typeof id !== 'string') continue;
      const alert = await this.alerts.get(id);
      if (!alert) {
        this.logger?.warn({ alertId: id }, 'alert event for an alert not in the store');
        continue;
      }
      this.send(alert);
      this.#seen.add(e.id);
      for (const old of this.#seen) {
        if (this.#seen.size <= MAX_SEEN) break;
        this.#seen.delete(old);
      }
    }
  }

  /** Subscribes to new alerts as the `alert-outputs` group (nothing when no output is configured). */
  async attach(bus: Bus): Promise<Subscription> {
    if (!this.outputs.length) return { close: async () => {} };
    const sub = await bus.subscribe({
      group: 'alert-outputs',
      subjects: ['vigil.detect.alert'],
      handler: (events) => this.handle(events),
    });
    return sub;
  }

  status(): OutputStatus[] {
    return this.outputs.map((o) => ({ ...o.stats(), minLevel: o.minLevel }));
  }

  /** Resolves when every output has nothing waiting (or after `timeoutMs`). */
  async idle(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.idle(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.close()));
  }
}
