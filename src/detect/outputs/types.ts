/**
 * What every alert output (webhook, syslog, email) offers the dispatcher: a name, the lowest level
 * it forwards, a non-blocking `send` (the output queues and retries by itself), its counters, and
 * `close`.
 */
import type { Alert } from '../alerts/store.js';
import { levelRank } from '../alerts/tables.js';
import type { OutputStats } from './queue.js';

export interface AlertOutput {
  readonly name: string;
  readonly kind: 'webhook' | 'syslog' | 'email';
  /** Lowest alert level forwarded. */
  readonly minLevel: string;
  /** Queues the alert for delivery; never throws for a receiver that is down. */
  send(alert: Alert): void;
  stats(): OutputStats;
  /** Resolves when nothing waits (tests, shutdown). */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The product that reports, as outputs name it (CEF vendor/product/version, OCSF metadata). */
export interface ProductInfo {
  name: string;
  vendor: string;
  version: string;
}

/** Does an alert reach an output's minimum level? */
export function passes(output: Pick<AlertOutput, 'minLevel'>, alert: Pick<Alert, 'level'>): boolean {
  return levelRank(alert.level) >= levelRank(output.minLevel);
}
