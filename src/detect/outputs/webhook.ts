/**
 * Webhook output: each new alert is POSTed as JSON to a URL. The body is signed with HMAC-SHA256
 * under a secret key: `X-Vigil-Signature: sha256=<hex of HMAC(key, raw body)>`. The body carries
 * `sentAt` and `deliveryId` (also in `X-Vigil-Timestamp`, Unix seconds, and `X-Vigil-Delivery`),
 * so a receiver that checks the signature also knows the time was not altered and can refuse
 * replays (older than a few minutes, or a delivery id seen before). Redirects are not followed.
 * 5xx, 408, 429 and network errors are retried with backoff; other answers are final.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../platform/log/index.js';
import type { Alert } from '../alerts/store.js';
import { type DeliveryOptions, DeliveryQueue, PermanentDeliveryError } from './queue.js';
import type { AlertOutput, ProductInfo } from './types.js';

export interface WebhookSettings extends DeliveryOptions {
  name: string;
  url: string;
  /** The HMAC key (from a file, the environment or derived from the key ring; never stored). */
  secret: Buffer;
  minLevel: string;
  timeoutMs: number;
}

export const SIGNATURE_HEADER = 'x-vigil-signature';
export const TIMESTAMP_HEADER = 'x-vigil-timestamp';

/** `sha256=<hex>` of the body under the key. */
export function signBody(secret: Buffer, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Checks a signature header in constant time (what a receiver does; used by the tests). */
export function verifySignature(secret: Buffer, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The JSON body of a delivery. */
export function webhookBody(alert: Alert, product: ProductInfo, sentAt: Date, deliveryId: string): string {
  return JSON.stringify({
    type: 'vigil.alert.created',
    deliveryId,
    sentAt: sentAt.toISOString(),
    source: { product: product.name, version: product.version },
    alert,
  });
}

type Fetch = typeof fetch;

export class WebhookOutput implements AlertOutput {
  readonly kind = 'webhook' as const;
  readonly name: string;
  readonly minLevel: string;
  readonly #queue: DeliveryQueue<{ alert: Alert; deliveryId: string }>;

  constructor(
    private readonly settings: WebhookSettings,
    private readonly product: ProductInfo,
    private readonly now: () => Date = () => new Date(),
    logger?: Logger,
    private readonly fetcher: Fetch = fetch,
  ) {
    this.name = settings.name;
    this.minLevel = settings.minLevel;
    this.#queue = new DeliveryQueue(settings.name, 'webhook', (d) => this.#deliver(d), settings, logger);
  }

  send(alert: Alert): void {
    // One delivery id for every attempt, so a receiver can tell a retry from a new alert.
    this.#queue.push({ alert, deliveryId: randomUUID() });
  }

  stats() {
    return this.#queue.stats();
  }

  idle(timeoutMs?: number): Promise<void> {
    return this.#queue.idle(timeoutMs);
  }

  close(): Promise<void> {
    return this.#queue.close();
  }

  async #deliver({ alert, deliveryId }: { alert: Alert; deliveryId: string }): Promise<void> {
    const sentAt = this.now();
    const body = webhookBody(alert, this.product, sentAt, deliveryId);
    let res: Response;
    try {
      res = await this.fetcher(this.settings.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': `${this.product.name}/${this.product.version}`,
          [SIGNATURE_HEADER]: signBody(this.settings.secret, body),
          [TIMESTAMP_HEADER]: String(Math.floor(sentAt.getTime() / 1000)),
          'x-vigil-delivery': deliveryId,
          'x-vigil-event': 'alert.created',
        },
        body,
      });
    } catch (err) {
      // The URL may hold a token in its query: name the host only.
      throw new Error(`POST to ${new URL(this.settings.url).host} failed: ${(err as Error).message}`);
    }
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return;
    const message = `POST to ${new URL(this.settings.url).host} answered ${res.status}`;
    if (res.status >= 500 || res.status === 408 || res.status === 429) throw new Error(message);
    throw new PermanentDeliveryError(message);
  }
}
