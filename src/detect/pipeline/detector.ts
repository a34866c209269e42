/**
 * The detection pipeline: subscribes to every event on the bus (group `detect`), maps each to its
 * log source, runs the compiled rule set and the correlator, records alerts (idempotently, so a
 * redelivered batch raises nothing twice) and publishes each new one as a `detect.alert` event.
 * Rules referenced by a correlation without `generate: true` feed it but do not alert alone.
 * Correlation state is in memory, or, when several detectors share the bus group (`vigil worker`
 * over NATS), in the database shared by all of them (shared-correlation.ts).
 *
 * Vigil's own events are not copied for the rules: the rules read the event, its `data` and the
 * enrichment as layers (sigma/event.ts), exactly as they would read mapEvent's merged copy, which
 * is built only for an event that matched (the correlator and the shared store take it).
 */
import { type Clock, makeEvent, type VigilEvent } from '../../core/index.js';
import type { Bus, Subscription } from '../../platform/bus/index.js';
import type { AnyDb } from '../../platform/db/index.js';
import type { Logger } from '../../platform/log/index.js';
import type { AlertStore, NewAlert } from '../alerts/store.js';
import { type CorrelationAlert, Correlator } from '../sigma/correlation.js';
import { type Layers, merged } from '../sigma/event.js';
import { type LoadResult, loadRules, type RuleText, readRuleTexts } from '../sigma/load.js';
import { isoUtcMs } from '../sigma/modifiers.js';
import type { RuleMatch, SigmaEvent } from '../sigma/types.js';
import { isVigilEvent, logSourceOfKind, mapEvent } from './logsource.js';
import { type CorrelationMatch, SharedCorrelations } from './shared-correlation.js';

/**
 * Adds context to events before the rules see them (the device inventory's type and criticality
 * of an address: see baselines/directory.ts). `prepare` runs once per batch and may do I/O;
 * `enrich` runs on each mapped event and must be synchronous.
 */
export interface EventEnricher {
  prepare(events: readonly VigilEvent[]): Promise<void>;
  /**
   * Reads `event` (as mapped); writes the fields it adds into `into` (default: the event), as
   * plain properties (an `into` left without own enumerable keys counts as nothing added).
   */
  enrich(event: SigmaEvent, into?: SigmaEvent): void;
}

/** What a detector needs. */
export interface DetectorDeps {
  alerts: AlertStore;
  bus: Bus;
  clock: Clock;
  logger?: Logger;
  enricher?: EventEnricher;
  /**
   * Keep correlation state in this database, shared by every worker, instead of in memory: for
   * detectors that share a bus group with others (NATS). See shared-correlation.ts.
   */
  correlationDb?: AnyDb;
}

/** Where its rules come from: directories, files or texts (all merged into one rule set). */
export type RuleSource = string | readonly RuleText[];

/** Kinds the detector itself publishes (never fed back into detection). */
const OWN_KINDS = new Set(['detect.alert']);
/** Alert and case workflow events (`detect.alert.updated`, `detect.case.*`) are not detected on either. */
const WORKFLOW_KINDS = /^detect\.(alert|case)\./;
/** Kinds never detected on: the detector's own alerts and the alert and case workflow. */
function isOwnKind(kind: unknown): boolean {
  const k = String(kind);
  return k.startsWith('detect.') && (OWN_KINDS.has(k) || WORKFLOW_KINDS.test(k));
}
/** What the reused layers hold between events. */
const NO_EVENT: SigmaEvent = Object.freeze({});

/**
 * The event of a match as the rules read it: a Vigil event's layers (valid only during the call
 * that receives them), or the mapped copy of any other event.
 */
interface Matched {
  layers: Layers | undefined;
  event: SigmaEvent | undefined;
}

/** The matched event as one object: the copy, or the layers merged (built once per event). */
function eventOf(cur: Matched): SigmaEvent {
  cur.event ??= merged(cur.layers!);
  return cur.event;
}

/**
 * Are the events already in the order of their times (`localeCompare`, as they are sorted)?
 * Times in `toISOString` form compare as their characters do, without the collator.
 */
function inTimeOrder(events: readonly VigilEvent[]): boolean {
  if (events.length < 2) return true;
  let a = events[0]!.time;
  if (typeof a !== 'string') return false;
  let aIso = isoForm(a);
  for (let i = 1; i < events.length; i++) {
    const b = events[i]!.time;
    if (typeof b !== 'string') return false;
    const bIso = isoForm(b);
    if (a !== b && !(aIso && bIso && a < b) && a.localeCompare(b) > 0) return false;
    a = b;
    aIso = bIso;
  }
  return true;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` with ASCII digits (the form whose collation is its code order). A
 * regular expression: V8 compiles it to machine code that checks the 24 characters in about a
 * third of the time of a loop over them, and every event of a batch is checked.
 */
function isoForm(s: string): boolean {
  return ISO_FORM.test(s);
}
const ISO_FORM = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

/** Event ids remembered to skip redeliveries before they reach the correlator. */
const MAX_SEEN = 200_000;

/** Runs rules over events; see the module comment. */
export class Detector {
  readonly loaded: LoadResult;
  private readonly correlator: Correlator;
  /** Detection rules that only feed correlations. */
  private readonly silent = new Set<string>();
  private readonly levels = new Map<string, string>();
  private readonly tags = new Map<string, string[]>();
  /** Ids of events already handled (bounded, oldest forgotten first). */
  private readonly seen = new Set<string>();
  /** Ids of the detection rules some correlation references (only their matches are stored). */
  private readonly correlated = new Set<string>();
  /** Correlation over the shared store, when the detector is one of several workers. */
  private readonly shared: SharedCorrelations | undefined;
  /** The layers of the event being matched (one object, reused for every event). */
  private readonly layers: Layers = { extra: undefined, event: NO_EVENT, data: undefined };
  /** The event of the current matches, as handed to `onMatch` (reused). */
  private readonly matched: Matched = { layers: undefined, event: undefined };
  /** The object the enricher writes into next (empty: reused until the enricher adds to it). */
  private extra: SigmaEvent = {};

  constructor(
    sources: readonly RuleSource[],
    private readonly deps: DetectorDeps,
  ) {
    const texts: RuleText[] = [];
    for (const s of sources) {
      if (typeof s === 'string') texts.push(...readRuleTexts(s));
      else texts.push(...s);
    }
    this.loaded = loadRules(texts);
    const names = new Map(this.loaded.rules.map((r) => [r.id, r.name] as const));
    this.correlator = new Correlator(this.loaded.correlations, names);
    if (deps.correlationDb) this.shared = new SharedCorrelations(deps.correlationDb, this.correlator);
    for (const c of this.loaded.correlations) {
      for (const ref of c.rules)
        for (const r of this.loaded.rules) if (r.id === ref || r.name === ref) this.correlated.add(r.id);
      if (c.level) this.levels.set(c.id, c.level);
      this.tags.set(c.id, c.tags);
      if (c.generate) continue;
      for (const ref of c.rules)
        for (const r of this.loaded.rules) if (r.id === ref || r.name === ref) this.silent.add(r.id);
    }
  }

  /** Runs the rules on events (in time order) and returns the alerts they raise (in-memory correlation). */
  detect(events: readonly VigilEvent[]): NewAlert[] {
    const out: NewAlert[] = [];
    const correlator = this.correlator;
    this.scan(events, out, (m, cur, e, t) => {
      const fired = cur.layers
        ? correlator.processLayers(m.ruleId, cur.layers, t)
        : correlator.process(m.ruleId, cur.event!, t);
      for (const a of fired) out.push(this.correlationAlert(a, e.id, e));
    });
    return out;
  }

  /** As {@link detect}, with correlation over the shared store (distributed mode). */
  private async detectShared(shared: SharedCorrelations, events: readonly VigilEvent[]): Promise<NewAlert[]> {
    const out: NewAlert[] = [];
    const matches: CorrelationMatch[] = [];
    const byId = new Map<string, VigilEvent>();
    this.scan(events, out, (m, cur, e, t) => {
      if (!this.correlated.has(m.ruleId)) return;
      matches.push({ ruleId: m.ruleId, event: eventOf(cur), time: t, eventId: e.id });
      byId.set(e.id, e);
    });
    for (const f of await shared.process(matches))
      out.push(this.correlationAlert(f.alert, f.eventId, byId.get(f.eventId)));
    return out;
  }

  /** Matches each new event in time order: single-rule alerts into `out`, every match to `onMatch`. */
  private scan(
    events: readonly VigilEvent[],
    out: NewAlert[],
    onMatch: (m: RuleMatch, cur: Matched, e: VigilEvent, t: number) => void,
  ): void {
    const ordered = inTimeOrder(events) ? events : [...events].sort((a, b) => a.time.localeCompare(b.time));
    const ruleSet = this.loaded.ruleSet;
    const enricher = this.deps.enricher;
    const layers = this.layers;
    const cur = this.matched;
    try {
      for (let i = 0; i < ordered.length; i++) {
        const e = ordered[i]!;
        if (isOwnKind(e.kind) || this.seen.has(e.id)) continue;
        let matches: RuleMatch[];
        const raw = e as unknown as SigmaEvent;
        const data = raw.data;
        if (isVigilEvent(raw) && (data == null || (typeof data === 'object' && !Array.isArray(data)))) {
          // Vigil's own events: rules see `data` lifted and the enrichment, without a copy (mapEvent).
          const logsource = logSourceOfKind(raw.kind);
          if (!ruleSet.appliesTo(logsource)) continue; // no rule to prepare the event for
          layers.event = raw;
          layers.data = (data ?? undefined) as SigmaEvent | undefined;
          layers.extra = undefined;
          if (enricher) {
            // Most events get nothing from the enrichment: the same empty object serves them
            // until one does, and an empty layer is left out (one lookup less per field read).
            const extra = this.extra;
            enricher.enrich(enrichmentSource(raw, layers.data), extra);
            if (!isEmpty(extra)) {
              layers.extra = extra;
              this.extra = {};
            }
          }
          matches = ruleSet.matchLayers(layers, logsource);
          cur.layers = layers;
          cur.event = undefined;
        } else {
          const mapped = mapEvent(raw);
          const event = mapped.event;
          if (mapped.logsource) enricher?.enrich(event); // Vigil's own events (a copy) only
          matches = ruleSet.match(event, mapped.logsource);
          cur.layers = undefined;
          cur.event = event;
        }
        if (!matches.length) continue;
        const t = timeOf(e.time);
        for (const m of matches) {
          if (!this.silent.has(m.ruleId))
            out.push({
              time: e.time,
              ruleId: m.ruleId,
              ruleTitle: m.title,
              level: m.level ?? 'medium',
              eventIds: [e.id],
              dedupKey: `${m.ruleId}|${e.user?.name ?? e.net?.srcIp ?? e.device?.ip ?? e.id}`,
              tags: m.tags,
              evidence: [e],
            });
          onMatch(m, cur, e, t);
        }
      }
    } finally {
      // Hold no reference to the batch's events.
      layers.event = NO_EVENT;
      layers.data = undefined;
      layers.extra = undefined;
      cur.layers = undefined;
      cur.event = undefined;
    }
  }

  /** The alert of a correlation that fired on a match (its event, when this batch holds it, as evidence). */
  private correlationAlert(a: CorrelationAlert, eventId: string, e: VigilEvent | undefined): NewAlert {
    return {
      time: e?.time ?? new Date(a.lastTime).toISOString(),
      ruleId: a.correlationId,
      ruleTitle: a.title,
      level: a.level ?? this.levels.get(a.correlationId) ?? 'medium',
      eventIds: [eventId],
      dedupKey: `${a.correlationId}|${JSON.stringify(a.group)}`,
      tags: this.tags.get(a.correlationId) ?? [],
      evidence: e ? [e] : [{ correlation: a.correlationId, group: a.group, value: a.value, eventId }],
    };
  }

  /** Detects on a batch, records the alerts and publishes the new ones. */
  async handle(events: readonly VigilEvent[]): Promise<void> {
    await this.deps.enricher?.prepare(events);
    const found = this.shared ? await this.detectShared(this.shared, events) : this.detect(events);
    const created = found.length ? await this.deps.alerts.record(found) : [];
    // Only once recorded: a batch that failed is redelivered and must be detected again.
    for (const e of events) this.seen.add(e.id);
    for (const id of this.seen) {
      if (this.seen.size <= MAX_SEEN) break;
      this.seen.delete(id);
    }
    if (!created.length) return;
    const now = this.deps.clock.now();
    await this.deps.bus.publish(
      created.map((a) =>
        makeEvent(
          {
            kind: 'detect.alert',
            source: 'detect',
            severity: severityOf(a.level),
            data: {
              alertId: a.id,
              ruleId: a.ruleId,
              title: a.ruleTitle,
              level: a.level,
              eventIds: a.eventIds,
            },
          },
          now,
        ),
      ),
    );
    this.deps.logger?.info({ alerts: created.length }, 'alerts raised');
  }

  /** Subscribes to every event on the bus, as the `detect` group. */
  attach(bus: Bus = this.deps.bus): Promise<Subscription> {
    return bus.subscribe({
      group: 'detect',
      subjects: ['vigil.>'],
      handler: (events) => this.handle(events),
    });
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Has the object no own enumerable key (what the enricher writes)? */
function isEmpty(o: SigmaEvent): boolean {
  for (const k in o) if (hasOwn.call(o, k)) return false;
  return true;
}

/**
 * What the enricher reads (`kind`, `net`) as the mapped event holds it: the event's own, or its
 * `data`'s `net` when the event has none (lifted, as mapEvent lifts it).
 */
function enrichmentSource(e: SigmaEvent, data: SigmaEvent | undefined): SigmaEvent {
  if (hasOwn.call(e, 'net') || data === undefined || !hasOwn.call(data, 'net')) return e;
  return { kind: e.kind, net: data.net };
}

/** An event's time in ms (Date.parse, without its cost for the usual ISO form). */
function timeOf(time: string): number {
  const ms = isoUtcMs(time);
  return Number.isNaN(ms) ? Date.parse(time) : ms;
}

function severityOf(level: string): VigilEvent['severity'] {
  return level === 'critical' ? 'critical' : level === 'high' ? 'high' : level === 'low' ? 'low' : 'medium';
}
