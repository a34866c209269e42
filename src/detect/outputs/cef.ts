/**
 * ArcSight Common Event Format (CEF) for alerts: `CEF:0|Vendor|Product|Version|SignatureID|Name|
 * Severity|Extension`. Header fields escape `\` and `|` (line breaks become spaces); extension
 * values escape `\` and `=`, and line breaks become the two characters `\n` / `\r`, as the CEF
 * specification says, so no value can forge a field or a second record.
 */
import type { Alert } from '../alerts/store.js';
import type { ProductInfo } from './types.js';

/** Escapes a header field. */
export function cefHeader(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

/** Escapes an extension value. */
export function cefValue(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r\n|\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

/** CEF severity (0-10) of a Sigma level. */
export function cefSeverity(level: string): number {
  return { informational: 1, low: 3, medium: 5, high: 8, critical: 10 }[level] ?? 5;
}

/** One alert as a CEF record (no syslog header). */
export function alertToCef(alert: Alert, product: ProductInfo): string {
  const ext: Array<[string, string | number]> = [
    ['rt', Date.parse(alert.lastSeen)],
    ['start', Date.parse(alert.firstSeen)],
    ['end', Date.parse(alert.lastSeen)],
    ['cnt', alert.count],
    ['externalId', alert.id],
    ['cat', alert.level],
    ['msg', alert.entity ? `${alert.ruleTitle} (${alert.entity})` : alert.ruleTitle],
    ['cs1Label', 'entity'],
    ['cs1', alert.entity],
    ['cs2Label', 'tags'],
    ['cs2', alert.tags.join(',')],
    ['cs3Label', 'status'],
    ['cs3', alert.status],
  ];
  const header = [
    'CEF:0',
    cefHeader(product.vendor),
    cefHeader(product.name),
    cefHeader(product.version),
    cefHeader(alert.ruleId),
    cefHeader(alert.ruleTitle),
    String(cefSeverity(alert.level)),
  ].join('|');
  return `${header}|${ext.map(([k, v]) => `${k}=${cefValue(String(v))}`).join(' ')}`;
}
