/**
 * @module core/event-check
 * A fast check of what `eventSchema` (zod) accepts, for the common case: an event as `JSON.parse`
 * gives it back, with no key the schema would strip. A NATS worker validates every event it
 * pulls, and zod costs about 1.7 times the `JSON.parse` of the event (it copies every object it
 * checks, `data` key by key); this checks the same rules in place.
 *
 * It is sound, not complete: when it returns the event, zod accepts it too and gives back an
 * equal object (key order aside). When it returns undefined, zod decides, and gives its error
 * messages: a nested object with a key zod strips, a `__proto__` key in `data`, a prototype other
 * than Object's, a missing or wrong field. A test holds it to zod on random and hostile events.
 */
import { eventSchema, KIND_PATTERN, type VigilEvent } from './events.js';

/** zod's own datetime pattern (with offsets), read off the schema so the two cannot drift. */
const DATETIME: RegExp | undefined = (() => {
  const checks = (
    eventSchema.shape.time as unknown as {
      _zod?: { def?: { checks?: { _zod?: { def?: { format?: string; pattern?: unknown } } }[] } };
    }
  )._zod?.def?.checks;
  for (const c of checks ?? []) {
    const def = c._zod?.def;
    if (
      def?.format === 'datetime' &&
      def.pattern instanceof RegExp &&
      !def.pattern.global &&
      !def.pattern.sticky
    )
      return def.pattern;
  }
  return undefined; // a zod that keeps it elsewhere: every event goes to zod
})();

const SEVERITIES = new Set(['info', 'low', 'medium', 'high', 'critical']);
const USER_KEYS = new Set(['id', 'name', 'role']);
const DEVICE_KEYS = new Set(['id', 'mac', 'ip']);
const hasOwn = Object.prototype.hasOwnProperty;

function plainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

function text(x: unknown, min: number, max: number): boolean {
  return typeof x === 'string' && x.length >= min && x.length <= max;
}

/** `user` or `device`: strings under the schema's keys only (zod strips others: it decides). */
function stringFields(x: unknown, keys: ReadonlySet<string>): boolean {
  if (!plainObject(x)) return false;
  for (const k of Object.keys(x)) if (!keys.has(k) || typeof x[k] !== 'string') return false;
  return true;
}

function netFields(x: unknown): boolean {
  if (!plainObject(x)) return false;
  for (const k of Object.keys(x)) {
    const v = x[k];
    switch (k) {
      case 'srcIp':
      case 'dstIp':
      case 'proto':
        if (typeof v !== 'string') return false;
        break;
      case 'srcPort':
      case 'dstPort':
        if (!Number.isSafeInteger(v)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The event when it passes `eventSchema`: the fast check below, else zod (undefined: invalid). */
export function validEvent(x: unknown): VigilEvent | undefined {
  const checked = checkedEvent(x);
  if (checked) return checked;
  const parsed = eventSchema.safeParse(x);
  return parsed.success ? parsed.data : undefined;
}

/** The event itself when it certainly passes `eventSchema`; undefined when zod must decide. */
export function checkedEvent(x: unknown): VigilEvent | undefined {
  if (DATETIME === undefined || !plainObject(x)) return undefined;
  let required = 0;
  for (const k of Object.keys(x)) {
    const v = x[k];
    switch (k) {
      case 'v':
        if (v !== 1) return undefined;
        required++;
        break;
      case 'id':
        if (!text(v, 1, 64)) return undefined;
        required++;
        break;
      case 'time':
        if (typeof v !== 'string' || !DATETIME.test(v)) return undefined;
        required++;
        break;
      case 'kind':
        if (!text(v, 0, 128) || !KIND_PATTERN.test(v as string)) return undefined;
        required++;
        break;
      case 'source':
        if (!text(v, 1, 128)) return undefined;
        required++;
        break;
      case 'severity':
        if (!SEVERITIES.has(v as string)) return undefined;
        break;
      case 'user':
        if (!stringFields(v, USER_KEYS)) return undefined;
        break;
      case 'device':
        if (!stringFields(v, DEVICE_KEYS)) return undefined;
        break;
      case 'net':
        if (!netFields(v)) return undefined;
        break;
      case 'patientRef':
        if (typeof v !== 'string') return undefined;
        break;
      case 'data':
        if (!plainObject(v) || hasOwn.call(v, '__proto__')) return undefined;
        break;
      default:
        return undefined;
    }
  }
  return required === 5 ? (x as VigilEvent) : undefined;
}
