/**
 * A set of compiled rules indexed by log source: an event is only tested against the rules whose
 * `logsource` can apply to it (the candidate list is computed once per distinct event log
 * source and cached), and meta filters are applied as exclusions to the rules they name.
 */
import type { CompiledRule } from './compile.js';
import { EventView, type Layers } from './event.js';
import { type EventLogSource, isEvtxEvent, mapEvtx } from './evtx.js';
import type { EventTest } from './modifiers.js';
import { Prefilter } from './prefilter.js';
import { reads, specialize } from './specialize.js';
import type { LogSource, RuleMatch, SigmaEvent } from './types.js';

/** A compiled meta filter: which rules it excludes from, under which log source. */
export interface CompiledFilter {
  id: string;
  logsource: LogSource;
  rules: string[];
  test: EventTest;
}

/** Does a rule's log source apply to an event's? Every attribute the rule names must agree. */
export function logsourceApplies(rule: LogSource, ev: EventLogSource): boolean {
  if (rule.product !== undefined && rule.product !== ev.product) return false;
  if (rule.service !== undefined && rule.service !== ev.service) return false;
  if (rule.category !== undefined && !ev.categories.includes(rule.category)) return false;
  return true;
}

const MAX_CACHED_SOURCES = 4096;
/**
 * Fewer candidate rules than this are simply evaluated: the prefilter's scan of an event costs
 * about as much as a handful of compiled rules (whose first test is usually the same field).
 */
const PREFILTER_MIN_RULES = 6;
const EMPTY: SigmaEvent = Object.freeze({});
/** The result when no rule fires (shared: results are read-only). */
const NO_MATCH: RuleMatch[] = Object.freeze([]) as unknown as RuleMatch[];

interface Entry {
  rule: CompiledRule;
  test: EventTest;
  /** The meta filters' exclusions of the rule (in `test` already). */
  excluded: EventTest[] | undefined;
  /** What `match` reports when the rule fires (one frozen object per rule). */
  match: RuleMatch;
}

/** Candidate rules of one log source and their prefilter. */
interface Candidates {
  entries: Entry[];
  prefilter: Prefilter | undefined;
  /**
   * The candidates specialised on an event kind (see {@link KindCandidates}); undefined when no
   * candidate tests `kind` (specialising would change nothing).
   */
  byKind: Map<string, KindCandidates> | undefined;
}

/**
 * The candidates of a log source on events of one kind (specialize.ts): the rules that cannot
 * fire on that kind are left out, and tests of `kind` are decided already.
 */
interface KindCandidates {
  /** Per rule: its remaining test, or undefined when it fires on every event of the kind. */
  tests: (EventTest | undefined)[];
  matches: RuleMatch[];
  prefilter: Prefilter | undefined;
  /** Every rule left fires on every event of the kind: the result, without reading the event. */
  fixed: RuleMatch[] | undefined;
}

/** The field rules are specialised on (Vigil events carry it; see {@link RuleSet.matchLayers}). */
const KIND = 'kind';
/** Distinct kinds specialised per log source (beyond it, events of new kinds take the general path). */
const MAX_KINDS = 1024;
const hasOwn = Object.prototype.hasOwnProperty;

/** Options of a rule set. */
export interface RuleSetOptions {
  /**
   * Check each rule's necessary condition first and skip rules that cannot match (default true).
   * `false` evaluates every candidate rule: the reference the differential tests compare with.
   */
  prefilter?: boolean;
}

/** Compiled rules, indexed by log source. `match` is the hot path of detection. */
export class RuleSet {
  private readonly entries: Entry[];
  private readonly bySource = new Map<string, Candidates>();
  /** Candidates by log source object, for the frozen (shared) log sources events are mapped to. */
  private readonly byObject = new Map<EventLogSource, Candidates>();
  /** One view, reset for each event (`match` is not re-entrant: rules never call back). */
  private readonly view = new EventView({});
  /** The view rules are specialised with (an event holding only its kind). */
  private readonly probe = new EventView({});
  private allCandidates: Candidates | undefined;
  private readonly usePrefilter: boolean;

  constructor(
    readonly rules: readonly CompiledRule[],
    filters: readonly CompiledFilter[] = [],
    options: RuleSetOptions = {},
  ) {
    this.usePrefilter = options.prefilter !== false;
    this.entries = rules.map((rule) => {
      const m: RuleMatch = { ruleId: rule.id, title: rule.title, tags: rule.tags };
      if (rule.level !== undefined) m.level = rule.level;
      const match = Object.freeze(m);
      const fs = filters.filter(
        (f) =>
          (f.rules.includes(rule.id) || (rule.name !== undefined && f.rules.includes(rule.name))) &&
          logsourceCompatible(f.logsource, rule.logsource),
      );
      if (!fs.length) return { rule, test: rule.test, excluded: undefined, match };
      const base = rule.test;
      const ex = fs.map((f) => f.test);
      return { rule, test: (v: EventView) => base(v) && !ex.some((t) => t(v)), excluded: ex, match };
    });
  }

  /** Can any rule apply to events of this log source? (None: such events need no preparing.) */
  appliesTo(ls: EventLogSource): boolean {
    return this.candidatesFor(ls).entries.length > 0;
  }

  /** The rules that can apply to events of this log source (cached per distinct source). */
  rulesFor(ls: EventLogSource): CompiledRule[] {
    return this.candidatesFor(ls).entries.map((e) => e.rule);
  }

  private candidates(entries: Entry[]): Candidates {
    return {
      entries,
      prefilter: this.prefilterFor(entries.map((e) => e.rule)),
      byKind: entries.some((e) => reads(e.rule, KIND)) ? new Map() : undefined,
    };
  }

  private prefilterFor(rules: readonly CompiledRule[]): Prefilter | undefined {
    return this.usePrefilter && rules.length >= PREFILTER_MIN_RULES
      ? new Prefilter(rules.map((r) => r.need))
      : undefined;
  }

  /** The candidates specialised on a kind (built on the kind's first event, then cached). */
  private ofKind(
    c: Candidates,
    byKind: Map<string, KindCandidates>,
    kind: string,
  ): KindCandidates | undefined {
    const hit = byKind.get(kind);
    if (hit || byKind.size >= MAX_KINDS) return hit;
    const probe = this.probe;
    probe.reset({ [KIND]: kind });
    const rules: CompiledRule[] = [];
    const tests: (EventTest | undefined)[] = [];
    const matches: RuleMatch[] = [];
    for (const e of c.entries) {
      const r = specialize(e.rule, KIND, probe);
      if (r === false) continue;
      const ex = e.excluded;
      let test: EventTest | undefined;
      if (r === true) test = ex ? (v) => !ex.some((t) => t(v)) : undefined;
      else test = ex ? (v) => r(v) && !ex.some((t) => t(v)) : r;
      rules.push(e.rule);
      tests.push(test);
      matches.push(e.match);
    }
    probe.reset(EMPTY);
    const k: KindCandidates = {
      tests,
      matches,
      prefilter: this.prefilterFor(rules),
      fixed: tests.every((t) => t === undefined) ? (matches.length ? frozen(matches) : NO_MATCH) : undefined,
    };
    byKind.set(kind, k);
    return k;
  }

  private candidatesFor(ls: EventLogSource): Candidates {
    const hit = this.byObject.get(ls);
    if (hit) return hit;
    const key = `${ls.product ?? ''}|${ls.service ?? ''}|${ls.categories.join(',')}`;
    let c = this.bySource.get(key);
    if (!c) {
      c = this.candidates(this.entries.filter((e) => logsourceApplies(e.rule.logsource, ls)));
      if (this.bySource.size >= MAX_CACHED_SOURCES) this.bySource.clear();
      this.bySource.set(key, c);
    }
    if (Object.isFrozen(ls)) {
      if (this.byObject.size >= MAX_CACHED_SOURCES) this.byObject.clear();
      this.byObject.set(ls, c);
    }
    return c;
  }

  /**
   * The rules that fire on an event (a read-only list of frozen matches). Without a log source, an evtx-to-JSON event is mapped as
   * SigmaHQ does (see evtx.ts); any other event is tested against every rule (its fields are
   * taken as they are, so community rules apply to JSON forwarded by log shippers).
   */
  match(event: SigmaEvent, logsource?: EventLogSource): RuleMatch[] {
    let ev = event;
    let c: Candidates;
    if (logsource) c = this.candidatesFor(logsource);
    else if (isEvtxEvent(event)) {
      const mapped = mapEvtx(event);
      ev = mapped.event;
      c = this.candidatesFor(mapped.logsource);
    } else c = this.allCandidates ??= this.candidates(this.entries);
    this.view.reset(ev);
    return this.run(c);
  }

  /**
   * {@link match} on a layered event (a Vigil event with its `data` lifted and its enrichment,
   * not copied: see event.ts), with its log source.
   */
  matchLayers(layers: Layers, logsource: EventLogSource): RuleMatch[] {
    const c = this.candidatesFor(logsource);
    // The kind the rules read: the event's own, unless the enrichment shadows it.
    const { event, extra } = layers;
    const kind = event.kind;
    if (
      c.byKind !== undefined &&
      typeof kind === 'string' &&
      hasOwn.call(event, KIND) &&
      (extra === undefined || !hasOwn.call(extra, KIND))
    ) {
      const k = this.ofKind(c, c.byKind, kind);
      if (k) {
        if (k.fixed) return k.fixed;
        this.view.resetLayers(layers);
        return this.runKind(k);
      }
    }
    this.view.resetLayers(layers);
    return this.run(c);
  }

  /** The rules of a specialised candidate list that fire on the view's event. */
  private runKind(k: KindCandidates): RuleMatch[] {
    const view = this.view;
    let out: RuleMatch[] | undefined;
    const { tests, matches, prefilter } = k;
    const may = prefilter?.scan(view);
    for (let i = 0; i < tests.length; i++) {
      const test = tests[i];
      if (test !== undefined && ((may && !may(i)) || !test(view))) continue;
      if (out) out.push(matches[i]!);
      else out = [matches[i]!];
    }
    view.reset(EMPTY); // hold no reference to the event
    return out ?? NO_MATCH;
  }

  /** The candidates that fire on the view's event. */
  private run(c: Candidates): RuleMatch[] {
    const view = this.view;
    let out: RuleMatch[] | undefined;
    const { entries, prefilter } = c;
    const may = prefilter?.scan(view);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (may && !may(i)) continue;
      if (!e.test(view)) continue;
      if (out) out.push(e.match);
      else out = [e.match];
    }
    view.reset(EMPTY); // hold no reference to the event
    return out ?? NO_MATCH;
  }
}

function logsourceCompatible(filter: LogSource, rule: LogSource): boolean {
  return (
    (filter.product === undefined || filter.product === rule.product) &&
    (filter.service === undefined || filter.service === rule.service) &&
    (filter.category === undefined || filter.category === rule.category)
  );
}

/** A result shared by every event that gets it (results are read-only). */
function frozen(matches: RuleMatch[]): RuleMatch[] {
  return Object.freeze(matches) as unknown as RuleMatch[];
}
