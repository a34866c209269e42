/**
 * @module sensor/ws-discovery
 * WS-Discovery (UDP 3702) as IEEE 11073 SDC devices use it: Hello, Bye, Probe, ProbeMatches,
 * Resolve and ResolveMatches, with each endpoint's address (EndpointReference), Types, Scopes,
 * XAddrs and MetadataVersion. Not an XML parser: a bounded scan for those elements by local name.
 * Nothing is expanded: a message with a DTD is refused (SOAP forbids them), and only the five
 * predefined entities and character references are decoded. SDC's patient context scope
 * (`sdc.ctxt.pat:`) never leaves here except as a keyed hash; its operator, workflow, ensemble and
 * means context scopes are dropped; device, component type and location scopes are kept.
 */
import type { PatientIdHasher } from './keyed-hash.js';

/** Bytes of a datagram scanned; a WS-Discovery message is a few kilobytes. */
export const MAX_WSD_BYTES = 64 * 1024;
const MAX_ENTRIES = 8;
const MAX_ITEMS = 32;
const MAX_TEXT = 1024;

/** One endpoint announced, probed for, or matched. */
export interface WsdEndpoint {
  /** EndpointReference/Address, usually `urn:uuid:…`. */
  address?: string;
  /** QNames as written (`dpws:Device mdpws:MedicalDevice`). */
  types: string[];
  scopes: string[];
  xaddrs: string[];
  metadataVersion?: number;
}

/** A WS-Discovery message. */
export interface WsdMessage {
  /** `hello`, `bye`, `probe`, `probe-matches`, `resolve`, `resolve-matches`. */
  action: string;
  messageId?: string;
  endpoints: WsdEndpoint[];
  /** An endpoint declared the MDPWS MedicalDevice type: an SDC medical device. */
  medical: boolean;
  /** Keyed hashes of patient context scopes, which are removed from `scopes`. */
  patientRefs: string[];
}

const ACTIONS: Record<string, string> = {
  Hello: 'hello',
  Bye: 'bye',
  Probe: 'probe',
  ProbeMatches: 'probe-matches',
  Resolve: 'resolve',
  ResolveMatches: 'resolve-matches',
};

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references; anything else stays as written. */
export function decodeXmlText(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (all, e: string) => {
    if (e[0] !== '#') return ENTITIES[e] ?? all;
    const n = e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : all;
  });
}

/** Text content of every `<p:name …>text</p:name>` (any prefix) in `s`, at most `max`. */
function texts(s: string, name: string, max: number): string[] {
  const re = new RegExp(`<(?:[\\w.-]{1,32}:)?${name}(?:\\s[^<>]{0,1024})?>([^<]{0,${MAX_TEXT}})</`, 'g');
  const out: string[] = [];
  for (let m = re.exec(s); m && out.length < max; m = re.exec(s)) out.push(decodeXmlText(m[1]!).trim());
  return out;
}

/** The blocks of `<p:name>…</p:name>` elements (not nested in themselves). */
function blocks(s: string, name: string): string[] {
  const open = new RegExp(`<(?:[\\w.-]{1,32}:)?${name}(?:\\s[^<>]{0,1024})?>`, 'g');
  const close = new RegExp(`</(?:[\\w.-]{1,32}:)?${name}\\s*>`, 'g');
  const out: string[] = [];
  for (let m = open.exec(s); m && out.length < MAX_ENTRIES; m = open.exec(s)) {
    close.lastIndex = open.lastIndex;
    const c = close.exec(s);
    if (!c) break;
    out.push(s.slice(open.lastIndex, c.index));
    open.lastIndex = close.lastIndex;
  }
  return out;
}

const words = (v: string | undefined, max: number) => (v ? v.split(/\s+/).filter(Boolean).slice(0, max) : []);

/** SDC scopes that describe the device (its MDS, component types) and its location. */
const SDC_KEPT = ['sdc.mds.pkp:', 'sdc.cdc.type:', 'sdc.ctxt.loc:'];

/**
 * Is a scope kept? SDC's other context scopes name patients, operators, workflows and ensembles:
 * they are dropped, and so is anything that looks like one when a byte of it is damaged.
 */
function keptScope(scope: string): boolean {
  if (SDC_KEPT.some((p) => scope.startsWith(p))) return true;
  const s = scope.toLowerCase();
  return !s.startsWith('sdc') && !s.includes('ctxt') && !s.includes('pat:');
}

/** Does a datagram look like a SOAP envelope? */
export function looksLikeSoap(b: Buffer): boolean {
  const head = b.toString('latin1', 0, Math.min(b.length, 512));
  return head.includes('Envelope');
}

/** Parses a WS-Discovery message, or returns why it is not one. */
export function parseWsDiscovery(b: Buffer, hash: PatientIdHasher): WsdMessage | string {
  const s = b.toString('utf8', 0, Math.min(b.length, MAX_WSD_BYTES));
  if (!/<(?:[\w.-]{1,32}:)?Envelope[\s>]/.test(s)) return 'wsd-not-soap';
  if (s.includes('<!DOCTYPE') || s.includes('<!ENTITY')) return 'wsd-dtd-refused';
  const actionUri = texts(s, 'Action', 1)[0];
  const actionName = actionUri?.slice(actionUri.lastIndexOf('/') + 1);
  const action = actionName ? ACTIONS[actionName] : undefined;
  if (!action) return 'wsd-unknown-action';
  const msg: WsdMessage = { action, endpoints: [], medical: false, patientRefs: [] };
  const id = texts(s, 'MessageID', 1)[0];
  if (id) msg.messageId = id.slice(0, 128);
  const body = blocks(s, 'Body')[0] ?? s;
  const parts =
    action === 'probe-matches'
      ? blocks(body, 'ProbeMatch')
      : action === 'resolve-matches'
        ? blocks(body, 'ResolveMatch')
        : blocks(body, actionName!);
  for (const part of parts) {
    const ep: WsdEndpoint = {
      types: words(texts(part, 'Types', 1)[0], MAX_ITEMS),
      scopes: [],
      xaddrs: words(texts(part, 'XAddrs', 1)[0], MAX_ITEMS),
    };
    const address = texts(blocks(part, 'EndpointReference')[0] ?? '', 'Address', 1)[0];
    if (address) ep.address = address;
    for (const scope of words(texts(part, 'Scopes', 1)[0], MAX_ITEMS)) {
      if (scope.startsWith('sdc.ctxt.pat:')) {
        const ref = hash(scope.slice('sdc.ctxt.pat:'.length));
        if (!msg.patientRefs.includes(ref)) msg.patientRefs.push(ref);
      } else if (keptScope(scope)) ep.scopes.push(scope);
    }
    const mv = texts(part, 'MetadataVersion', 1)[0];
    if (mv && /^\d{1,10}$/.test(mv)) ep.metadataVersion = Number(mv);
    if (ep.types.some((t) => t.slice(t.indexOf(':') + 1) === 'MedicalDevice')) msg.medical = true;
    msg.endpoints.push(ep);
  }
  return msg;
}
