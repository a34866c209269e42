/**
 * Necessary conditions of compiled detections ("needs"): for each rule, a few clauses of cheap
 * atoms (a field's lower-cased value equals / starts with / ends with / contains a text) such that
 * the rule can only match an event on which every clause has at least one atom that holds. The rule set scans each event
 * once for all atoms of all candidate rules (see prefilter.ts) and runs only the rules whose need
 * is met, so the thousand Sysmon rules that cannot match an event cost almost nothing. A need is
 * only ever derived from positive string tests, so skipping a rule never changes a result;
 * anything else (regular expressions, negations, null, numbers compared) is "unknown" and the
 * rule is always evaluated.
 */
import type { Anchor } from './multimatch.js';
import { type Pattern, QMARK, STAR } from './wildcard.js';

/** The pseudo-field of keyword atoms: every string value of the event (EventView.strings). */
export const KEYWORDS = '';

/** One cheap test over the lower-cased text values of a field. */
export interface Atom {
  field: string;
  anchor: Anchor;
  /** Lower-cased. */
  text: string;
}

/** Atoms of which at least one holds. */
export type Clause = readonly Atom[];

/** Every clause holds on each event the test matches; no clause: nothing is known. */
export type Need = readonly Clause[];

/** The need of a test about which nothing is known. */
export const UNKNOWN: Need = [];

/** Clauses kept per need: two or three selective ones filter almost everything out. */
const MAX_CLAUSES = 3;

/**
 * Fields with few distinct values (an EventID or a channel tells little about a rule): an atom on
 * them is a poor filter, so the compiler prefers any other field of an AND.
 */
const LOW_CARDINALITY = new Set([
  'eventid',
  'channel',
  'provider_name',
  'logontype',
  'eventtype',
  'status',
  'integritylevel',
  'initiated',
  'protocol',
  'level',
  'task',
]);

// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range check
const ASCII = /^[\u0000-\u007f]*$/;

/**
 * The atom a pattern implies, if any. Case-sensitive patterns qualify only when ASCII (lower-casing
 * a value then keeps every ASCII match in place, so the atom stays necessary).
 */
export function atomOf(field: string, p: Pattern, cased: boolean): Atom | undefined {
  const lits = p.filter((x): x is string => typeof x === 'string');
  if (cased && !lits.every((l) => ASCII.test(l))) return undefined;
  if (!p.some((x) => x === STAR || x === QMARK))
    return { field, anchor: 'exact', text: lits.join('').toLowerCase() };
  const first = p[0];
  const last = p[p.length - 1];
  if (p.length === 2 && first === STAR && typeof last === 'string')
    return { field, anchor: 'suffix', text: last.toLowerCase() };
  if (typeof first === 'string' && first.length >= 3)
    return { field, anchor: 'prefix', text: first.toLowerCase() };
  if (typeof last === 'string' && last.length >= 3)
    return { field, anchor: 'suffix', text: last.toLowerCase() };
  let best = '';
  for (const l of lits) if (l.length > best.length) best = l;
  return best ? { field, anchor: 'contains', text: best.toLowerCase() } : undefined;
}

/** Rough chance that an atom holds on an event (lower is a better filter). */
function chance(a: Atom): number {
  if (LOW_CARDINALITY.has(a.field.toLowerCase())) return 0.5;
  const base = 2 ** -Math.min(a.text.length, 12);
  return Math.min(0.5, a.anchor === 'contains' ? base * 8 : base);
}

/** Rough chance that a clause holds. */
function clauseChance(c: Clause): number {
  let p = 0;
  for (const a of c) p += chance(a);
  return Math.min(1, p);
}

const byChance = (a: Clause, b: Clause) => clauseChance(a) - clauseChance(b);

/** All of the tests must hold: their clauses together (the most selective few). */
export function needAll(needs: readonly Need[]): Need {
  const all = needs.flat();
  if (all.length <= MAX_CLAUSES) return all;
  return [...all].sort(byChance).slice(0, MAX_CLAUSES);
}

/** One of the tests must hold: each must be known, and the union of their best clauses holds. */
export function needAny(needs: readonly Need[]): Need {
  if (needs.length === 1) return needs[0]!;
  const out: Atom[] = [];
  for (const n of needs) {
    if (!n.length) return UNKNOWN;
    let best = n[0]!;
    for (const c of n) if (clauseChance(c) < clauseChance(best)) best = c;
    out.push(...best);
  }
  return [out];
}
