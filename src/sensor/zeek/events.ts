/**
 * @module sensor/zeek/events
 * A Zeek record as a Vigil event: kind `zeek.<log>` (`zeek.dns`, `zeek.ssl`, …), source `zeek`,
 * the connection 4-tuple in `net`, and the record's own fields (Zeek's names, so Sigma rules for
 * `product: zeek` apply unchanged) in `data`.
 */
import { hash } from 'node:crypto';
import { EVENT_VERSION, type VigilEvent } from '../../core/index.js';
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

/** `zeek.<log>` for each log name seen (a handful per file: computed once). */
const kinds = new Map<string, string>();
function kindOf(path: string): string {
  let kind = kinds.get(path);
  if (kind === undefined) {
    kind = `zeek.${path.replace(/[^a-z0-9_-]/gi, '_').toLowerCase() || 'unknown'}`;
    if (kinds.size < 1024) kinds.set(path, kind);
  }
  return kind;
}

/**
 * Zeek's microsecond ISO time (values.ts: both readers normalise `ts` to it) as an event time:
 * milliseconds, as `Date` prints it. A `ts` of another form (a file that typed it as a string) is
 * read by `Date`; one that is no time at all, or none, gives the epoch.
 */
const ZEEK_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const EPOCH = new Date(0).toISOString();
function eventTime(ts: string | undefined): string {
  if (ts === undefined) return EPOCH;
  if (ZEEK_ISO.test(ts)) return `${ts.slice(0, 23)}Z`;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? EPOCH : new Date(t).toISOString();
}

/**
 * The event of one record. The id is a digest of the log name and the record (so reading the same
 * log twice, or its TSV and JSON forms, gives the same ids and the bus drops the repeats): 132 bits
 * of its SHA-256, in base64url. The
 * record becomes `data` as it is: the parsers build a fresh object per line.
 */
export function zeekEvent(path: string, record: ZeekRecord): VigilEvent {
  const id = hash('sha256', `${path}\0${JSON.stringify(record)}`, 'base64url').slice(0, 22);
  const srcIp = str(record['id.orig_h']);
  const dstIp = str(record['id.resp_h']);
  const event: VigilEvent = {
    v: EVENT_VERSION,
    id,
    time: eventTime(str(record.ts)),
    kind: kindOf(path),
    source: 'zeek',
  };
  if (srcIp || dstIp)
    event.net = {
      srcIp,
      srcPort: num(record['id.orig_p']),
      dstIp,
      dstPort: num(record['id.resp_p']),
      proto: str(record.proto),
    };
  event.data = record;
  return event;
}
