/**
 * @module sensor/zeek/events
 * A Zeek record as a Vigil event: kind `zeek.<log>` (`zeek.dns`, `zeek.ssl`, …), source `zeek`,
 * the connection 4-tuple in `net`, and the record's own fields (Zeek's names, so Sigma rules for
 * `product: zeek` apply unchanged) in `data`.
 */
import { createHash } from 'node:crypto';
import { makeEvent, type VigilEvent } from '../../core/index.js';
import type { ZeekRecord } from './values.js';

/** The logs the sensor understands; others are still turned into events and counted as `other`. */
export const ZEEK_LOGS = [
  'conn',
  'dns',
  'dhcp',
  'http',
  'ssl',
  'x509',
  'software',
  'known_services',
  'smb_mapping',
  'rdp',
  'ssh',
  'notice',
  'weird',
] as const;

const KNOWN = new Set<string>(ZEEK_LOGS);

export function isKnownZeekLog(path: string): boolean {
  return KNOWN.has(path);
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

export function zeekEvent(path: string, record: ZeekRecord): VigilEvent {
  const ts = str(record.ts);
  const time = ts ?? new Date(0).toISOString();
  // A stable id: the same record read twice (or from TSV and from JSON) is the same event.
  const id = createHash('sha256')
    .update(path)
    .update('\0')
    .update(JSON.stringify(record))
    .digest('hex')
    .slice(0, 32);
  const srcIp = str(record['id.orig_h']);
  const dstIp = str(record['id.resp_h']);
  const net =
    srcIp || dstIp
      ? {
          srcIp,
          srcPort: num(record['id.orig_p']),
          dstIp,
          dstPort: num(record['id.resp_p']),
          proto: str(record.proto),
        }
      : undefined;
  const kind = `zeek.${path.replace(/[^a-z0-9_-]/gi, '_').toLowerCase() || 'unknown'}`;
  return makeEvent({ id, time, kind, source: 'zeek', ...(net ? { net } : {}), data: { ...record } });
}
