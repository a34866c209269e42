/**
 * Log sources of the events on Vigil's bus, so Sigma rules can target them:
 *
 * | event kind | product | service | category | fields (besides the event's own) |
 * |---|---|---|---|---|
 * | `net.flow` | vigil | flow | network_connection | `net.srcIp`, `net.dstIp`, `net.dstPort`, `net.proto`, `app`, `bytesToServer`, … |
 * | `net.dicom.*` | vigil | dicom | device_identity | `callingAe`, `calledAe`, `result`, `accepted`, `patientRef`, … |
 * | `net.hl7.*` | vigil | hl7 | device_identity | `messageType`, `sendingApplication`, `patientRefs`, … |
 * | `vault.*` | vigil | vault | patient_data_access | `user.id`, `user.role`, `patientRef`, `breakGlass`, … |
 * | `auth.*` | vigil | identity | authentication | `user.name`, `net.srcIp`, `factor`, … |
 * | `access.decision` | vigil | access | access_decision | `decision`, `risk`, `app`, `host`, `net.srcIp`, `user.name`, `reasons.signal` |
 * | `awareness.*` | vigil | awareness | awareness | `user.name`, `course`, `score`, … |
 * | `detect.baseline.*` | vigil | baseline | device_behaviour | `anomaly`, `device.ip`, `direction`, `peer`, `peerExternal`, `port`, `protocol`, `volume.*` |
 * | `zeek.<log>` | zeek | `<log>` | conn → network_connection, dns → dns, http → proxy | the Zeek log's fields |
 *
 * Every event also carries `kind`, `source`, `severity`, `time` and its nested parts by dotted
 * path (`user.name`, `net.dstIp`, `data.result`); the keys of `data` are lifted to the top level
 * when they do not clash; a dotted path through a list of objects (`reasons.signal`) gives the
 * values of every element. Sensor, Zeek and baseline events also carry the inventory's view of
 * their two ends when a device enricher is configured: `srcDevice.*` / `dstDevice.*` (`type`,
 * `criticality`, `medical`, `id`; see baselines/directory.ts). Other events (generic JSON from a
 * log shipper, evtx-to-JSON Windows events) keep their own field names: evtx is mapped as
 * SigmaHQ does, anything else is tested against every rule.
 */
import type { VigilEvent } from '../../core/index.js';
import type { EventLogSource } from '../sigma/evtx.js';
import type { SigmaEvent } from '../sigma/types.js';

/** Vigil's own categories, by event kind prefix (first match wins). */
export const VIGIL_CATEGORIES: readonly { prefix: string; service: string; category: string }[] = [
  { prefix: 'net.flow', service: 'flow', category: 'network_connection' },
  { prefix: 'net.dicom.', service: 'dicom', category: 'device_identity' },
  { prefix: 'net.hl7.', service: 'hl7', category: 'device_identity' },
  { prefix: 'vault.', service: 'vault', category: 'patient_data_access' },
  { prefix: 'auth.', service: 'identity', category: 'authentication' },
  { prefix: 'access.decision', service: 'access', category: 'access_decision' },
  { prefix: 'awareness.', service: 'awareness', category: 'awareness' },
  { prefix: 'detect.baseline.', service: 'baseline', category: 'device_behaviour' },
];

const ZEEK_CATEGORIES: Readonly<Record<string, string>> = {
  conn: 'network_connection',
  dns: 'dns',
  http: 'proxy',
};

/** A bus event as the Sigma engine sees it, with its log source (undefined: generic JSON). */
export interface MappedEvent {
  event: SigmaEvent;
  logsource: EventLogSource | undefined;
}

/** Is this one of Vigil's own (versioned) events? */
export function isVigilEvent(e: unknown): e is VigilEvent {
  const o = e as Partial<VigilEvent> | null;
  return typeof o === 'object' && o !== null && o.v === 1 && typeof o.kind === 'string';
}

/** Log sources are shared, frozen objects (rule sets cache their candidate rules by them). */
const ZEEK_SOURCES = new Map<string, EventLogSource>();
const VIGIL_SOURCES = new Map<string, EventLogSource>();
/** Distinct event kinds remembered (event kinds come from the events: bounded). */
const MAX_KINDS = 1024;

function frozen(ls: EventLogSource): EventLogSource {
  Object.freeze(ls.categories);
  return Object.freeze(ls);
}

/** The log source of one of Vigil's own event kinds (see the module comment). */
export function logSourceOfKind(kind: string): EventLogSource {
  const zeek = kind.startsWith('zeek.');
  const cache = zeek ? ZEEK_SOURCES : VIGIL_SOURCES;
  let ls = cache.get(kind);
  if (ls) return ls;
  if (zeek) {
    const service = kind.slice(5);
    const cat = ZEEK_CATEGORIES[service];
    ls = frozen({ product: 'zeek', service, categories: cat ? [cat] : [] });
  } else {
    const c = VIGIL_CATEGORIES.find((x) => kind === x.prefix || kind.startsWith(x.prefix));
    ls = frozen(
      c
        ? { product: 'vigil', service: c.service, categories: [c.category] }
        : { product: 'vigil', categories: [] },
    );
  }
  if (cache.size >= MAX_KINDS) cache.clear();
  cache.set(kind, ls);
  return ls;
}

/** Map an event to the Sigma view and its log source (see the module comment). */
export function mapEvent(e: SigmaEvent): MappedEvent {
  if (!isVigilEvent(e)) return { event: e, logsource: undefined };
  const data = (e.data ?? {}) as Record<string, unknown>;
  const event: SigmaEvent = { ...data, ...e };
  return { event, logsource: logSourceOfKind(e.kind) };
}
