/**
 * A set of compiled rules indexed by log source: an event is only tested against the rules whose
 * `logsource` can apply to it (the candidate list is computed once per distinct event log
 * source and cached), and meta filters are applied as exclusions to the rules they name.
 */
import type { CompiledRule } from './compile.js';
import { EventView } from './event.js';
import { type EventLogSource, isEvtxEvent, mapEvtx } from './evtx.js';
import type { EventTest } from './modifiers.js';
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

interface Entry {
  rule: CompiledRule;
  test: EventTest;
}

/** Compiled rules, indexed by log source. `match` is the hot path of detection. */
export class RuleSet {
  private readonly entries: Entry[];
  private readonly bySource = new Map<string, Entry[]>();

  constructor(
    readonly rules: readonly CompiledRule[],
    filters: readonly CompiledFilter[] = [],
  ) {
    this.entries = rules.map((rule) => {
      const fs = filters.filter(
        (f) =>
          (f.rules.includes(rule.id) || (rule.name !== undefined && f.rules.includes(rule.name))) &&
          logsourceCompatible(f.logsource, rule.logsource),
      );
      if (!fs.length) return { rule, test: rule.test };
      const base = rule.test;
      const ex = fs.map((f) => f.test);
      return { rule, test: (v: EventView) => base(v) && !ex.some((t) => t(v)) };
    });
  }

  /** The rules that can apply to events of this log source (cached per distinct source). */
  rulesFor(ls: EventLogSource): CompiledRule[] {
    return this.entriesFor(ls).map((e) => e.rule);
  }

  private entriesFor(ls: EventLogSource): Entry[] {
    const key = `${ls.product ?? ''}|${ls.service ?? ''}|${ls.categories.join(',')}`;
    let list = this.bySource.get(key);
    if (!list) {
      list = this.entries.filter((e) => logsourceApplies(e.rule.logsource, ls));
      if (this.bySource.size >= MAX_CACHED_SOURCES) this.bySource.clear();
      this.bySource.set(key, list);
    }
    return list;
  }

  /**
   * The rules that fire on an event. Without a log source, an evtx-to-JSON event is mapped as
   * SigmaHQ does (see evtx.ts); any other event is tested against every rule (its fields are
   * taken as they are, so community rules apply to JSON forwarded by log shippers).
   */
  match(event: SigmaEvent, logsource?: EventLogSource): RuleMatch[] {
    let ev = event;
    let entries: Entry[];
    if (logsource) entries = this.entriesFor(logsource);
    else if (isEvtxEvent(event)) {
      const mapped = mapEvtx(event);
      ev = mapped.event;
      entries = this.entriesFor(mapped.logsource);
    } else entries = this.entries;
    const view = new EventView(ev);
    const out: RuleMatch[] = [];
    for (const e of entries) {
      if (e.test(view)) {
        const m: RuleMatch = { ruleId: e.rule.id, title: e.rule.title, tags: e.rule.tags };
        if (e.rule.level !== undefined) m.level = e.rule.level;
        out.push(m);
      }
    }
    return out;
  }
}

function logsourceCompatible(filter: LogSource, rule: LogSource): boolean {
  return (
    (filter.product === undefined || filter.product === rule.product) &&
    (filter.service === undefined || filter.service === rule.service) &&
    (filter.category === undefined || filter.category === rule.category)
  );
}
