/**
 * @module vault/normalise
 * Normalisation of searchable values into exact-match tokens, one function pair per parameter
 * kind: `index` turns a stored value into every token a search may ask for, `query` turns a search
 * value into the one token to look up. Blind indexes (keyed hashes) can only answer "equal or not",
 * so everything a search should treat as equal must become the same token here, and prefix
 * searches become exact searches on prefix tokens (dates).
 *
 * Pure: no I/O, no keys.
 */
import { VigilError } from '../core/index.js';

/** The kinds of search parameter the vault can index. */
export type ParamKind = 'identifier' | 'token' | 'name' | 'date' | 'reference';

/** A coded value or identifier: `system` may be absent. */
export interface Coded {
  system?: string | null | undefined;
  code: string;
}

/** Values that `index` accepts per kind. */
export type IndexValue = string | Coded;

// Bound the work and the stored tokens: a FHIR string is capped here, hostile input or not.
const MAX_VALUE = 1024;

function bad(message: string): VigilError {
  return new VigilError('BAD_REQUEST', message);
}

function clean(value: string, what: string): string {
  if (typeof value !== 'string') throw bad(`${what} must be a string`);
  const v = value.normalize('NFC').trim();
  if (v.length > MAX_VALUE) throw bad(`${what} is longer than ${MAX_VALUE} characters`);
  return v;
}

/**
 * Names: Unicode compatibility decomposition, diacritics removed, case-folded, punctuation other
 * than letters, digits, apostrophes and hyphens turned into spaces, runs of spaces collapsed.
 * "  Ångström-Müller, JOSÉ " → "angstrom-muller jose". `ß` folds to "ss" and `ø` stays (it has no
 * decomposition): the same folding applies to stored and searched values, so both meet.
 */
export function foldName(value: string): string {
  return clean(value, 'name')
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[^\p{L}\p{N}'-]+/gu, ' ')
    .trim()
    .replace(/ +/g, ' ');
}

function coded(value: IndexValue, what: string): { system: string; code: string } {
  if (typeof value === 'string') return splitCoded(value, what);
  const code = clean(value.code, what);
  if (!code) throw bad(`${what} is empty`);
  return { system: value.system ? clean(value.system, `${what} system`) : '', code };
}

function splitCoded(value: string, what: string): { system: string; code: string } {
  const v = clean(value, what);
  const bar = v.indexOf('|');
  if (bar < 0) {
    if (!v) throw bad(`${what} is empty`);
    return { system: '', code: v };
  }
  const code = v.slice(bar + 1);
  if (!code) throw bad(`${what} has no code after '|' (system-only searches are not supported)`);
  return { system: v.slice(0, bar), code };
}

const DATE_RE = /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?(?:T.*)?$/;

function dateParts(value: string): string[] {
  const m = DATE_RE.exec(value);
  if (!m) throw bad('date must be YYYY, YYYY-MM or YYYY-MM-DD (optionally with a time)');
  const [, y, mo, d] = m;
  const parts = [y!];
  if (mo) parts.push(`${y}-${mo}`);
  if (mo && d) parts.push(`${y}-${mo}-${d}`);
  return parts;
}

const REF_RE = /(?:^|\/)([A-Z][A-Za-z]{0,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function reference(value: string, defaultType?: string): string {
  const v = clean(value, 'reference');
  const m = REF_RE.exec(v);
  if (m) return `${m[1]}/${m[2]}`;
  if (defaultType && /^[A-Za-z0-9\-.]{1,64}$/.test(v)) return `${defaultType}/${v}`;
  throw bad('reference must be Type/id');
}

/**
 * Per kind: the tokens stored for a value, and the token a search value looks up. Token texts carry
 * a kind letter so a name never collides with a code.
 */
export const normalise = {
  /**
   * Identifiers (MRN, SSN, insurance numbers): `system|value` and `|value`, value case and spaces
   * kept (identifiers are exact). `identifier=sys|123` finds `s:sys|123`; `identifier=123` (or
   * `|123`) finds `|123` in any system.
   */
  identifier: {
    index(value: IndexValue): string[] {
      const { system, code } = coded(value, 'identifier');
      return system ? [`i:${system}|${code}`, `i:|${code}`] : [`i:|${code}`];
    },
    query(value: string): string {
      const { system, code } = splitCoded(value, 'identifier');
      return `i:${system}|${code}`;
    },
  },
  /** Codes (LOINC, SNOMED, gender, status): `system|code` and `|code`, as identifiers. */
  token: {
    index(value: IndexValue): string[] {
      const { system, code } = coded(value, 'token');
      return system ? [`t:${system}|${code}`, `t:|${code}`] : [`t:|${code}`];
    },
    query(value: string): string {
      const { system, code } = splitCoded(value, 'token');
      return `t:${system}|${code}`;
    },
  },
  /**
   * Names: each part of the folded name and the whole folded name, so `family=van der berg`,
   * `family=berg` and `name=jose` all match "José van der Berg" parts. No prefix or substring match.
   */
  name: {
    index(value: IndexValue): string[] {
      if (typeof value !== 'string') throw bad('name must be a string');
      const folded = foldName(value);
      if (!folded) return [];
      const parts = folded.split(' ');
      return [...new Set([...parts, folded])].map((t) => `n:${t}`);
    },
    query(value: string): string {
      const folded = foldName(value);
      if (!folded) throw bad('name is empty');
      return `n:${folded}`;
    },
  },
  /**
   * Dates: the year, the month and the day tokens (`1970`, `1970-03`, `1970-03-15`) of the date as
   * written (a time and its zone are ignored: the day is the local day of the source), so
   * `birthdate=1970` and `birthdate=1970-03` are exact lookups. `eq` is accepted; range
   * comparators (`lt`, `ge`, …) cannot be answered by an equality index and are refused.
   */
  date: {
    index(value: IndexValue): string[] {
      if (typeof value !== 'string') throw bad('date must be a string');
      return dateParts(clean(value, 'date')).map((t) => `d:${t}`);
    },
    query(value: string): string {
      let v = clean(value, 'date');
      if (v.startsWith('eq')) v = v.slice(2);
      if (/^(ne|lt|gt|le|ge|sa|eb|ap)/.test(v))
        throw bad('date comparators other than eq are not supported by this index');
      const parts = dateParts(v);
      if (v.includes('T')) throw bad('date searches take a day, month or year, not a time');
      return `d:${parts.at(-1)}`;
    },
  },
  /**
   * References: `Type/id` (a full URL or a `_history` suffix is reduced to it). A bare id needs the
   * parameter's target type (`patient=123` → `Patient/123`).
   */
  reference: {
    index(value: IndexValue, defaultType?: string): string[] {
      if (typeof value !== 'string') throw bad('reference must be a string');
      return [`r:${reference(value, defaultType)}`];
    },
    query(value: string, defaultType?: string): string {
      return `r:${reference(value, defaultType)}`;
    },
  },
} as const satisfies Record<
  ParamKind,
  {
    index(value: IndexValue, defaultType?: string): string[];
    query(value: string, defaultType?: string): string;
  }
>;
