/**
 * @module awareness/people
 * Validation of a person's fields, shared by the directory's API and its CSV import so both refuse
 * the same things with the same words. Values that reach training reports, e-mails and the console
 * must be plain single-line text: control characters (line breaks that would split a mail header,
 * NULs, escape sequences) are refused, not cleaned.
 */
import { EMPLOYMENT_STATUSES, type EmploymentStatus } from './tables.js';

/** A field problem: which field, and what is wrong, in words a directory administrator acts on. */
export interface FieldProblem {
  field: string;
  message: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters refused.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]{2,}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The email's key for uniqueness: trimmed and lower-cased. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

/** Checks an email address: one `@`, a dotted domain, no spaces or control characters, ≤ 254. */
export function checkEmail(value: string, field = 'email'): FieldProblem | null {
  if (value.length === 0) return { field, message: 'required' };
  if (value.length > 254) return { field, message: 'longer than 254 characters' };
  if (CONTROL.test(value)) return { field, message: 'contains control characters' };
  if (!EMAIL.test(value)) return { field, message: 'not a valid email address' };
  return null;
}

/** Checks a plain text field: no control characters, at most `max` characters, maybe required. */
export function checkText(value: string, field: string, max: number, required: boolean): FieldProblem | null {
  if (value.length === 0) return required ? { field, message: 'required' } : null;
  if (value.length > max) return { field, message: `longer than ${max} characters` };
  if (CONTROL.test(value)) return { field, message: 'contains control characters' };
  return null;
}

/** Checks a `YYYY-MM-DD` calendar date (Feb 30 is refused). */
export function checkDate(value: string, field: string): FieldProblem | null {
  const m = DATE.exec(value);
  if (m) {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (d.toISOString().slice(0, 10) === value && Number(m[1]) >= 1900) return null;
  }
  return { field, message: 'expected a date as YYYY-MM-DD' };
}

/** Parses an employment status case-insensitively. */
export function parseStatus(value: string): EmploymentStatus | null {
  const v = value.trim().toLowerCase();
  return (EMPLOYMENT_STATUSES as readonly string[]).includes(v) ? (v as EmploymentStatus) : null;
}

export const LIMITS = { name: 200, department: 120, jobRole: 120 } as const;
