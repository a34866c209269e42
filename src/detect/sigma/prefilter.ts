/**
 * The rule set's prefilter: every atom of the needs of a list of rules (see need.ts), grouped by
 * field, compiled into one exact-value map and one multi-pattern matcher per field. One scan of
 * an event's indexed fields marks the clauses that hold; a rule is a candidate when all its
 * clauses hold (a rule without clauses always is). Built once per distinct log source (the
 * candidate rules differ) and reused for every event of that source.
 */
import { type EventView, type FieldData, type FieldRef, fieldRef } from './event.js';
import { MultiMatcher, type MultiPattern } from './multimatch.js';
import { KEYWORDS, type Need } from './need.js';

interface FieldIndex {
  /** Undefined: the keyword pseudo-field (every string of the event). */
  field: FieldRef | undefined;
  /** Lower-cased exact value → clause ids. */
  exact: Map<string, number[]>;
  /** Non-exact atoms: matcher ids index `groups` (clause ids). */
  matcher: MultiMatcher | undefined;
  groups: number[][];
  /** Epoch stamp per group: a pattern found twice in one event marks its clauses once. */
  seen: Uint32Array;
}

/** Marks the rules (by position in the list it was built from) that may match an event. */
export class Prefilter {
  private readonly fields: FieldIndex[] = [];
  /** Rule position → its clause ids, as a range of `clauseIds`. */
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly clauseIds: Int32Array;
  /** Epoch stamp per clause: it holds on the current event. */
  private readonly stamp: Uint32Array;
  private epoch = 0;
  private current: FieldIndex | undefined;

  constructor(needs: readonly Need[]) {
    this.start = new Int32Array(needs.length);
    this.end = new Int32Array(needs.length);
    const ids: number[] = [];
    const byField = new Map<string, { exact: Map<string, number[]>; pats: Map<string, number[]> }>();
    let clause = 0;
    needs.forEach((need, pos) => {
      this.start[pos] = ids.length;
      for (const c of need) {
        ids.push(clause);
        for (const a of c) {
          let f = byField.get(a.field);
          if (!f) {
            f = { exact: new Map(), pats: new Map() };
            byField.set(a.field, f);
          }
          const map = a.anchor === 'exact' ? f.exact : f.pats;
          const key = a.anchor === 'exact' ? a.text : `${a.anchor}\u0000${a.text}`;
          const list = map.get(key);
          if (!list) map.set(key, [clause]);
          else if (list[list.length - 1] !== clause) list.push(clause);
        }
        clause++;
      }
      this.end[pos] = ids.length;
    });
    this.clauseIds = Int32Array.from(ids);
    this.stamp = new Uint32Array(clause);
    for (const [field, f] of byField) {
      const groups: number[][] = [];
      const pats: MultiPattern[] = [];
      for (const [key, clauses] of f.pats) {
        const sep = key.indexOf('\u0000');
        pats.push({
          anchor: key.slice(0, sep) as MultiPattern['anchor'],
          text: key.slice(sep + 1),
          id: groups.length,
        });
        groups.push(clauses);
      }
      this.fields.push({
        field: field === KEYWORDS ? undefined : fieldRef(field),
        exact: f.exact,
        matcher: pats.length ? new MultiMatcher(pats, true) : undefined,
        groups,
        seen: new Uint32Array(groups.length),
      });
    }
  }

  /**
   * Scans an event. Returns a predicate over rule positions, valid until the next call (the
   * marks are epoch stamps, so nothing is cleared between events).
   */
  scan(view: EventView): (pos: number) => boolean {
    let e = ++this.epoch;
    if (e === 0xffffffff) {
      this.stamp.fill(0);
      for (const fi of this.fields) fi.seen.fill(0);
      e = this.epoch = 1;
    }
    const stamp = this.stamp;
    const fields = this.fields;
    for (let f = 0; f < fields.length; f++) {
      const fi = fields[f]!;
      const fd: FieldData = fi.field ? view.field(fi.field) : view.keywords();
      if (fd.isNull || !fd.strs.length) continue;
      if (fi.exact.size) {
        const lowers = fd.lowers();
        for (let i = 0; i < lowers.length; i++) {
          const hit = fi.exact.get(lowers[i]!);
          if (hit) for (let j = 0; j < hit.length; j++) stamp[hit[j]!] = e;
        }
      }
      const m = fi.matcher;
      if (!m) continue;
      this.current = fi;
      const strs = fd.strs;
      for (let i = 0; i < strs.length; i++) m.scanFolded(strs[i]!, this.onHit);
    }
    return this.may;
  }

  /** A pattern of the current field was found: mark its clauses once per event. */
  private readonly onHit = (id: number): undefined => {
    const fi = this.current!;
    const e = this.epoch;
    if (fi.seen[id] === e) return;
    fi.seen[id] = e;
    for (const c of fi.groups[id]!) this.stamp[c] = e;
  };

  private readonly may = (pos: number): boolean => {
    const { stamp, clauseIds, epoch } = this;
    for (let i = this.start[pos]!, end = this.end[pos]!; i < end; i++)
      if (stamp[clauseIds[i]!] !== epoch) return false;
    return true;
  };
}
