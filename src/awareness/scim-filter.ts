/**
 * @module awareness/scim-filter
 * The SCIM `filter` query parameter (RFC 7644 §3.4.2.2), reduced to what identity providers send
 * and this directory can answer exactly: `eq` comparisons on the stored attributes, joined with
 * `and`. Everything else (other operators, `or`, `not`, grouping, value paths, attributes that are
 * not stored) is refused with a 400 `invalidFilter` naming the problem, so a provisioning client
 * never mistakes a partial answer for the truth (a wrong "no such user" makes it create a duplicate).
 */
import { VigilError } from '../core/index.js';

/** The attributes a filter may compare, as the directory stores them. */
export type FilterField =
  | 'id'
  | 'externalId'
  | 'email'
  | 'name'
  | 'jobRole'
  | 'department'
  | 'managerId'
  | 'active';

/** One `attribute eq value` of a filter; all of a filter's comparisons must hold. */
export interface FilterTerm {
  field: FilterField;
  value: string | boolean;
}

export const SCIM_CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** The longest filter accepted (identity providers send one short comparison). */
export const MAX_FILTER_LENGTH = 1000;
const MAX_TERMS = 10;

/** A SCIM error: a Vigil error whose details carry the SCIM `scimType`. */
export function scimError(
  status: 400 | 404 | 409 | 413,
  scimType: string | null,
  message: string,
): VigilError {
  const code =
    status === 404
      ? 'NOT_FOUND'
      : status === 409
        ? 'CONFLICT'
        : status === 413
          ? 'PAYLOAD_TOO_LARGE'
          : 'BAD_REQUEST';
  return new VigilError(code, message, { details: scimType ? { scimType } : {} });
}

const invalid = (message: string) => scimError(400, 'invalidFilter', `filter: ${message}`);

/** Attribute names (lower case, core schema prefix removed) to stored fields. */
const FIELDS: Record<string, FilterField> = {
  id: 'id',
  externalid: 'externalId',
  username: 'email',
  emails: 'email',
  'emails.value': 'email',
  displayname: 'name',
  'name.formatted': 'name',
  title: 'jobRole',
  'ent:department': 'department',
  'ent:manager': 'managerId',
  'ent:manager.value': 'managerId',
  active: 'active',
};

const OPERATORS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr']);

/** Lower-cases an attribute path and shortens the schema URNs (`ent:` for the enterprise extension). */
export function normalizeAttribute(path: string): string {
  const p = path.toLowerCase();
  const core = `${SCIM_CORE_USER.toLowerCase()}:`;
  const ent = `${SCIM_ENTERPRISE_USER.toLowerCase()}:`;
  if (p.startsWith(core)) return p.slice(core.length);
  if (p.startsWith(ent)) return `ent:${p.slice(ent.length)}`;
  return p;
}

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'punct'; text: string };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < filter.length && filter[j] !== '"') j += filter[j] === '\\' ? 2 : 1;
      if (j >= filter.length) throw invalid('a string value is not closed with "');
      let text: string;
      try {
        text = JSON.parse(filter.slice(i, j + 1)) as string;
      } catch {
        throw invalid('a string value has a bad escape');
      }
      tokens.push({ kind: 'string', text });
      i = j + 1;
      continue;
    }
    if ('()[]'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
      continue;
    }
    const m = /^[A-Za-z0-9_:.$+-]+/.exec(filter.slice(i, i + 300));
    if (!m) throw invalid(`unexpected character ${JSON.stringify(c)} at position ${i + 1}`);
    tokens.push({ kind: 'word', text: m[0] });
    i += m[0].length;
  }
  return tokens;
}

/**
 * Parses a filter into comparisons that must all hold. Throws a 400 `invalidFilter` for anything
 * this server cannot answer exactly.
 */
export function parseFilter(filter: string): FilterTerm[] {
  if (filter.length > MAX_FILTER_LENGTH) throw invalid(`longer than ${MAX_FILTER_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused.
  if (/[\u0000-\u001f\u007f]/.test(filter.replace(/\t/g, ' '))) throw invalid('contains control characters');
  const tokens = tokenize(filter);
  if (tokens.length === 0) throw invalid('empty');
  const punct = tokens.find((t) => t.kind === 'punct');
  if (punct)
    throw invalid(
      punct.text === '(' || punct.text === ')'
        ? 'grouping with parentheses is not supported; use comparisons joined with "and"'
        : 'value paths such as emails[type eq "work"] are not supported in filters; use emails.value',
    );
  const terms: FilterTerm[] = [];
  let i = 0;
  for (;;) {
    const attr = tokens[i];
    const op = tokens[i + 1];
    const value = tokens[i + 2];
    if (attr?.kind !== 'word') throw invalid('expected an attribute name');
    const lowered = attr.text.toLowerCase();
    if (lowered === 'not' || lowered === 'and' || lowered === 'or')
      throw invalid(
        `"${attr.text}" is not supported here; this server answers comparisons joined with "and"`,
      );
    if (op?.kind !== 'word') throw invalid(`expected an operator after ${attr.text}`);
    const operator = op.text.toLowerCase();
    if (!OPERATORS.has(operator)) throw invalid(`unknown operator "${op.text}"`);
    if (operator !== 'eq')
      throw invalid(`operator "${operator}" is not supported; this server supports "eq" (and "and")`);
    const field = FIELDS[normalizeAttribute(attr.text)];
    if (!field)
      throw invalid(
        `attribute "${attr.text}" cannot be filtered on; use userName, emails.value, id, externalId, displayName, title, active, or the enterprise department or manager`,
      );
    if (!value) throw invalid(`expected a value after ${attr.text} eq`);
    if (field === 'active') {
      const v = value.kind === 'word' ? value.text.toLowerCase() : '';
      if (v !== 'true' && v !== 'false') throw invalid('active compares with true or false');
      terms.push({ field, value: v === 'true' });
    } else {
      if (value.kind !== 'string')
        throw invalid(`${attr.text} compares with a "quoted string", not ${value.text}`);
      terms.push({ field, value: value.text });
    }
    if (terms.length > MAX_TERMS) throw invalid(`more than ${MAX_TERMS} comparisons`);
    i += 3;
    const next = tokens[i];
    if (!next) return terms;
    const joiner = next.kind === 'word' ? next.text.toLowerCase() : '';
    if (joiner === 'or' || joiner === 'not')
      throw invalid(`"${next.text}" is not supported; this server answers comparisons joined with "and"`);
    if (joiner !== 'and') throw invalid(`expected "and" or the end, found ${JSON.stringify(next.text)}`);
    i++;
  }
}
