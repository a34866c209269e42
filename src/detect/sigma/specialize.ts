/**
 * Specialisation of compiled tests on a field whose value is known before the event is read: the
 * rule set knows a Vigil event's `kind` (it chose the candidate rules by it), and most rules of
 * the hospital pack test `kind` first. Partially evaluated on that value, a rule is either
 * decided (it fires on every event of the kind, or on none) or reduced to the tests of its other
 * fields, so matching such an event reads fewer fields and runs fewer closures.
 *
 * A test of the known field is decided by running it on a view of an event that holds that field
 * alone: the tests of one field read nothing else (see `Form`), so the result is the one the full
 * event gives. Tests are pure, so AND / OR keep their meaning whatever parts are left out.
 */
import { combineTests } from './compile.js';
import type { EventView } from './event.js';
import type { Compiled, EventTest } from './modifiers.js';

/**
 * `c` on events whose field `field` reads as it does in `probe` (a view of an event holding only
 * that field): true or false when decided, otherwise the test that remains (`c.test` itself when
 * nothing could be decided).
 */
export function specialize(c: Compiled, field: string, probe: EventView): boolean | EventTest {
  const f = c.form;
  if (!f) return c.test;
  switch (f.op) {
    case 'field':
      return f.field === field ? c.test(probe) : c.test;
    case 'not': {
      const r = specialize(f.part, field, probe);
      if (typeof r === 'boolean') return !r;
      return r === f.part.test ? c.test : (v) => !r(v);
    }
    default: {
      const and = f.op === 'and';
      const rest: EventTest[] = [];
      let same = true;
      for (const p of f.parts) {
        const r = specialize(p, field, probe);
        if (typeof r === 'boolean') {
          if (r !== and) return r; // false in an AND, true in an OR
          same = false;
        } else {
          if (r !== p.test) same = false;
          rest.push(r);
        }
      }
      if (same) return c.test;
      return rest.length ? combineTests(rest, and) : and;
    }
  }
}

/** Does the test read `field` through a test of that field alone (so specialising on it helps)? */
export function reads(c: Compiled, field: string): boolean {
  const f = c.form;
  if (!f) return false;
  switch (f.op) {
    case 'field':
      return f.field === field;
    case 'not':
      return reads(f.part, field);
    default:
      return f.parts.some((p) => reads(p, field));
  }
}
