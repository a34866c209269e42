/**
 * Email output: one plain-text message per new alert, through the platform mailer (nodemailer;
 * header values checked for control characters). The message says what fired, on what, how
 * often and where to look; evidence stays in Vigil.
 */
import type { Logger } from '../../platform/log/index.js';
import type { MailSender } from '../../platform/mail/index.js';
import type { Alert } from '../alerts/store.js';
import { type DeliveryOptions, DeliveryQueue } from './queue.js';
import type { AlertOutput, ProductInfo } from './types.js';

export interface EmailSettings extends DeliveryOptions {
  name: string;
  from: string;
  to: readonly string[];
  minLevel: string;
  /** Base URL of the console, for a link to the alert (optional). */
  consoleUrl?: string | undefined;
}

/** A header-safe one-line version of a value (control characters become spaces). */
function oneLine(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed.
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').slice(0, max);
}

/** Subject and text of the message for an alert. */
export function alertMail(
  alert: Alert,
  product: ProductInfo,
  consoleUrl?: string,
): { subject: string; text: string } {
  const subject = oneLine(`[${product.name}] ${alert.level.toUpperCase()} alert: ${alert.ruleTitle}`, 200);
  const lines = [
    `${alert.ruleTitle}`,
    '',
    `Level:      ${alert.level}`,
    `Entity:     ${alert.entity || '-'}`,
    `Rule:       ${alert.ruleId}`,
    `Tags:       ${alert.tags.join(', ') || '-'}`,
    `First seen: ${alert.firstSeen}`,
    `Last seen:  ${alert.lastSeen}`,
    `Count:      ${alert.count}`,
    `Alert id:   ${alert.id}`,
  ];
  if (consoleUrl)
    lines.push('', `Open it: ${consoleUrl.replace(/\/+$/, '')}/alerts?id=${encodeURIComponent(alert.id)}`);
  lines.push('', `Sent by ${product.name} ${product.version}.`);
  return { subject, text: lines.join('\n') };
}

export class EmailOutput implements AlertOutput {
  readonly kind = 'email' as const;
  readonly name: string;
  readonly minLevel: string;
  readonly #queue: DeliveryQueue<Alert>;

  constructor(
    private readonly settings: EmailSettings,
    private readonly mailer: MailSender,
    private readonly product: ProductInfo,
    logger?: Logger,
  ) {
    this.name = settings.name;
    this.minLevel = settings.minLevel;
    this.#queue = new DeliveryQueue(settings.name, 'email', (a) => this.#deliver(a), settings, logger);
  }

  send(alert: Alert): void {
    this.#queue.push(alert);
  }

  stats() {
    return this.#queue.stats();
  }

  idle(timeoutMs?: number): Promise<void> {
    return this.#queue.idle(timeoutMs);
  }

  async close(): Promise<void> {
    await this.#queue.close();
    await this.mailer.close();
  }

  async #deliver(alert: Alert): Promise<void> {
    const { subject, text } = alertMail(alert, this.product, this.settings.consoleUrl);
    const sent = await this.mailer.send({
      from: this.settings.from,
      to: this.settings.to.join(', '),
      subject,
      text,
      headers: { 'X-Vigil-Alert': alert.id },
    });
    if (!sent.accepted.length)
      throw new Error(`no recipient accepted the alert mail (${sent.rejected.length} refused)`);
  }
}
