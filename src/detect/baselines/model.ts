/**
 * What a device's baseline is and how one observation changes it. Pure: no I/O, no clock (time
 * is the observed traffic's own), so the learner, the tests and a replay of old captures agree.
 *
 * Per device (one internal unicast address): the peers it talks to, the ports it uses
 * (`out:tcp/443`) and serves (`in:tcp/104`), its protocols (the application the sensor or Zeek
 * named, else the transport), and its traffic volume per hour. The first `learningDays` of
 * traffic (from the first flow seen, or from a reset) only teach; after that, a peer, port or
 * protocol not in the baseline is an anomaly (raised once: it joins the baseline), and an hour
 * whose volume lies outside robust bounds is one.
 *
 * Volume bounds: median ± tolerance × max(1.4826·MAD, 10% of the median, 64 KiB) over the
 * same hour of the week in the last `volumeWeeks` weeks when that slot has at least
 * `minSamples` values, else over the same hour of the day (7 samples after the default 7 days of
 * learning), else no judgement. Hours without traffic count as zero. An hour is judged when the
 * device's next traffic falls in a later hour; late flows (an hour already judged) add nothing to
 * the volume. A low volume is only raised for an hour between two hours with traffic, so a device
 * switched on or off mid-hour, or silent (powered off), raises nothing.
 *
 * Bounded memory: at most `maxPeers` peers, `maxPorts` ports and `maxProtocols` protocols per
 * device, and `volumeWeeks` values per hour of the week (168 × weeks numbers). A device that
 * shows more distinct peers (or ports, protocols) than the cap while learning is marked
 * saturated for that dimension (a server, a scanner's target): it raises no new-peer (port,
 * protocol) anomalies, as its normal behaviour is wider than a baseline can hold. After learning,
 * a new value joins the baseline and the oldest one is forgotten when the cap is reached.
 */
import { HOURS_PER_WEEK, hourOfWeek, hourStart, robustBounds } from './stats.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Tunables of the baselines (defaults in {@link DEFAULT_BASELINE_OPTIONS}). */
export interface BaselineOptions {
  /** Days of traffic a device learns from before anomalies are raised. */
  learningDays: number;
  maxPeers: number;
  maxPorts: number;
  maxProtocols: number;
  /** Weeks of hourly volumes kept per hour of the week. */
  volumeWeeks: number;
  /** Values needed in a slot before it is judged. */
  minSamples: number;
  /** Band width in scaled MADs on each side of the median. */
  tolerance: number;
  /** Smallest band half-width, bytes (before `tolerance`). */
  minVolumeBytes: number;
}

export const DEFAULT_BASELINE_OPTIONS: Readonly<BaselineOptions> = {
  learningDays: 7,
  maxPeers: 256,
  maxPorts: 64,
  maxProtocols: 32,
  volumeWeeks: 4,
  minSamples: 3,
  tolerance: 5,
  minVolumeBytes: 64 * 1024,
};

/** The learned part of a baseline, stored as one JSON document. */
export interface BaselineState {
  peers: string[];
  ports: string[];
  protocols: string[];
  saturated: { peers: boolean; ports: boolean; protocols: boolean };
  /** Per hour of the week (168 slots), the latest hourly volumes in bytes, oldest first. */
  volume: number[][];
  /** Start (ms) of the hour being counted, null before the first flow. */
  hour: number | null;
  hourBytes: number;
  /** Bytes of the last judged hour that had traffic, and its start (for low-volume checks). */
  prevHour: number | null;
  prevBytes: number;
}

/** A device's baseline as stored. */
export interface Baseline {
  /** The device's address (the baseline's key). */
  device: string;
  learningSince: string;
  learningUntil: string;
  firstSeen: string;
  lastSeen: string;
  state: BaselineState;
  /** Anomalies raised since the last reset. */
  anomalies: number;
  resets: number;
  /** Optimistic-concurrency version (0: never stored). */
  version: number;
}

/** One flow as a device saw it. */
export interface Observation {
  eventId: string;
  /** ms since the epoch. */
  time: number;
  /** The device's own address and the other end's. */
  device: string;
  peer: string;
  peerExternal: boolean;
  /** out: the device opened the flow; in: the peer did. */
  direction: 'out' | 'in';
  transport: string;
  /** Server port of the flow (the one the device used or served). */
  port: number;
  /** Application protocol, or the transport when none was recognised. */
  protocol: string;
  bytes: number;
  /** The flow's 4-tuple as in the event (for the anomaly's evidence). */
  net: { srcIp: string; dstIp: string; srcPort?: number; dstPort?: number; proto?: string };
}

export const ANOMALY_TYPES = ['new-peer', 'new-port', 'new-protocol', 'volume-high', 'volume-low'] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/** Something a device did that its baseline did not expect. */
export interface Anomaly {
  type: AnomalyType;
  device: string;
  /** The event that showed it (for volume: the first flow of the next hour, which closed it). */
  eventId: string;
  /** ISO time of that event (volume: of the hour judged). */
  time: string;
  /** What was new (peer address, `out:tcp/443`, protocol), or the hour judged (ISO). */
  value: string;
  observation: Observation;
  volume?: { bytes: number; median: number; lower: number; upper: number; samples: number; hour: string };
}

/** An empty state (a new device, or a reset). */
export function emptyState(): BaselineState {
  return {
    peers: [],
    ports: [],
    protocols: [],
    saturated: { peers: false, ports: false, protocols: false },
    volume: Array.from({ length: HOURS_PER_WEEK }, () => []),
    hour: null,
    hourBytes: 0,
    prevHour: null,
    prevBytes: 0,
  };
}

/** A new baseline for a device first seen (or reset) at `since` (ms). */
export function newBaseline(device: string, since: number, o: BaselineOptions): Baseline {
  const iso = new Date(since).toISOString();
  return {
    device,
    learningSince: iso,
    learningUntil: new Date(since + o.learningDays * DAY_MS).toISOString(),
    firstSeen: iso,
    lastSeen: iso,
    state: emptyState(),
    anomalies: 0,
    resets: 0,
    version: 0,
  };
}

/** The same baseline returned to learning from `since` (ms): everything learned is forgotten. */
export function resetBaseline(b: Baseline, since: number, o: BaselineOptions): Baseline {
  const fresh = newBaseline(b.device, since, o);
  return { ...fresh, firstSeen: b.firstSeen, lastSeen: b.lastSeen, resets: b.resets + 1, version: b.version };
}

/** Is the device still learning at `ms`? */
export function isLearning(b: Baseline, ms: number): boolean {
  return ms < Date.parse(b.learningUntil);
}

/** The history a slot is judged against: its hour of the week, else its hour of the day. */
function history(state: BaselineState, slot: number, minSamples: number): number[] {
  const own = state.volume[slot] ?? [];
  if (own.length >= minSamples) return own;
  const hour = slot % 24;
  const out: number[] = [];
  for (let d = 0; d < 7; d++) out.push(...(state.volume[d * 24 + hour] ?? []));
  return out;
}

function pushSample(state: BaselineState, slot: number, bytes: number, weeks: number): void {
  const list = state.volume[slot] ?? [];
  list.push(bytes);
  if (list.length > weeks) list.splice(0, list.length - weeks);
  state.volume[slot] = list;
}

/** Judges and records the open hour, then zero hours up to (not including) `next`. */
function closeHours(
  b: Baseline,
  next: number,
  closing: Observation,
  o: BaselineOptions,
  out: Anomaly[],
): void {
  const s = b.state;
  if (s.hour === null) return;
  const h = s.hour;
  const bytes = s.hourBytes;
  const slot = hourOfWeek(h);
  if (!isLearning(b, h)) {
    const bounds = robustBounds(history(s, slot, o.minSamples), {
      minSamples: o.minSamples,
      tolerance: o.tolerance,
      minRelative: 0.1,
      minAbsolute: o.minVolumeBytes,
    });
    const contiguous = next === h + HOUR_MS && s.prevHour === h - HOUR_MS && s.prevBytes > 0;
    const high = bounds !== undefined && bytes > bounds.upper;
    const low = bounds !== undefined && bytes < bounds.lower && contiguous;
    if (bounds && (high || low)) {
      const hour = new Date(h).toISOString();
      out.push({
        type: high ? 'volume-high' : 'volume-low',
        device: b.device,
        eventId: closing.eventId,
        time: hour,
        value: hour,
        observation: closing,
        volume: {
          bytes,
          median: bounds.median,
          lower: Math.max(0, bounds.lower),
          upper: bounds.upper,
          samples: bounds.samples,
          hour,
        },
      });
    }
  }
  pushSample(s, slot, bytes, o.volumeWeeks);
  s.prevHour = bytes > 0 ? h : s.prevHour;
  s.prevBytes = bytes > 0 ? bytes : s.prevBytes;
  // Silent hours in between count as zero (at most a week of them: older slots are refilled).
  const gap = Math.min((next - h) / HOUR_MS - 1, HOURS_PER_WEEK);
  for (let i = 1; i <= gap; i++) pushSample(s, hourOfWeek(h + i * HOUR_MS), 0, o.volumeWeeks);
  s.hour = next;
  s.hourBytes = 0;
}

/** Adds `value` to a bounded list; the oldest is forgotten past `cap`. */
function remember(list: string[], value: string, cap: number): void {
  list.push(value);
  if (list.length > cap) list.splice(0, list.length - cap);
}

/**
 * Applies one observation to a baseline (mutating it) and appends the anomalies it shows.
 * Observations must come in time order per device for the volume to be exact (late ones still
 * teach peers, ports and protocols).
 */
export function observe(b: Baseline, ob: Observation, o: BaselineOptions, out: Anomaly[]): void {
  const s = b.state;
  const iso = new Date(ob.time).toISOString();
  if (iso > b.lastSeen) b.lastSeen = iso;
  if (iso < b.firstSeen) b.firstSeen = iso;
  const learning = isLearning(b, ob.time);
  const before = out.length;

  const dims: [keyof BaselineState['saturated'], string[], string, number, AnomalyType][] = [
    ['peers', s.peers, ob.peer, o.maxPeers, 'new-peer'],
    ['ports', s.ports, `${ob.direction}:${ob.transport}/${ob.port}`, o.maxPorts, 'new-port'],
    ['protocols', s.protocols, ob.protocol, o.maxProtocols, 'new-protocol'],
  ];
  for (const [name, list, value, cap, type] of dims) {
    if (list.includes(value)) continue;
    if (learning) {
      if (list.length < cap) list.push(value);
      else s.saturated[name] = true;
    } else if (!s.saturated[name]) {
      out.push({ type, device: b.device, eventId: ob.eventId, time: iso, value, observation: ob });
      remember(list, value, cap);
    }
  }

  const h = hourStart(ob.time);
  if (s.hour === null) s.hour = h;
  else if (h > s.hour) closeHours(b, h, ob, o, out);
  if (h === s.hour) s.hourBytes += Math.max(0, ob.bytes);
  b.anomalies += out.length - before;
}
