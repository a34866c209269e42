/**
 * @module awareness/phishing-render
 * Renders a phishing template for one recipient. Placeholders are filled per context: HTML-escaped
 * in the HTML body (element text and quoted attributes alike), plain in the text body, and on one
 * line in the subject. Person data is never trusted to be clean (a directory synced from elsewhere
 * may hold anything): control characters become spaces everywhere, so a name can never add a mail
 * header, and `<`, `>`, quotes are escaped in HTML, so a name can never add markup.
 */
import { VigilError } from '../core/index.js';
import { escapeHtml } from './markdown.js';

/** The placeholders a template may use. */
export const PLACEHOLDERS = [
  'firstName',
  'lastName',
  'name',
  'email',
  'position',
  'department',
  'trackingLink',
  'reportLink',
  'pixel',
  'from',
] as const;

export type Placeholder = (typeof PLACEHOLDERS)[number];

/** The values for one recipient. URLs are built by the campaign, never from person data alone. */
export type RenderValues = Record<Exclude<Placeholder, 'pixel'>, string> & { pixelUrl: string };

/** A rendered message. */
export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
}

const TOKEN = /\{\{\s*([A-Za-z]+)\s*\}\}/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** Replaces control characters (CR, LF, NUL, tabs…) with one space and trims. */
export function oneLine(text: string): string {
  return text.replace(CONTROL, ' ').trim();
}

/** Checks a template's parts: only known placeholders, a one-line subject. Throws BAD_REQUEST. */
export function checkTemplate(t: { subject: string; html: string; text: string }): void {
  for (const [field, value] of [
    ['subject', t.subject],
    ['html', t.html],
    ['text', t.text],
  ] as const) {
    for (const m of value.matchAll(TOKEN)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!))
        throw new VigilError('BAD_REQUEST', `${field}: unknown placeholder {{${m[1]}}}`, {
          details: { field },
        });
    }
  }
  if (oneLine(t.subject) !== t.subject || t.subject.length === 0 || t.subject.length > 300)
    throw new VigilError('BAD_REQUEST', 'subject: one line of 1 to 300 characters', {
      details: { field: 'subject' },
    });
  if (!t.text.includes('{{trackingLink}}') && !t.html.includes('{{trackingLink}}'))
    throw new VigilError('BAD_REQUEST', 'html: the template needs a {{trackingLink}}', {
      details: { field: 'html' },
    });
}

function fill(template: string, value: (p: Placeholder) => string): string {
  return template.replace(TOKEN, (whole, name: string) =>
    (PLACEHOLDERS as readonly string[]).includes(name) ? value(name as Placeholder) : whole,
  );
}

/** Renders subject, HTML and text for one recipient. */
export function renderTemplate(
  t: { subject: string; html: string; text: string },
  v: RenderValues,
): RenderedMessage {
  const plain = (p: Placeholder): string => (p === 'pixel' ? '' : oneLine(v[p]));
  return {
    subject: oneLine(fill(t.subject, plain)),
    text: fill(t.text, plain),
    html: fill(t.html, (p) =>
      p === 'pixel'
        ? `<img src="${escapeHtml(v.pixelUrl)}" width="1" height="1" alt="" style="display:none">`
        : escapeHtml(oneLine(v[p])),
    ),
  };
}

/** Splits a display name into first and last name (first word, the rest). */
export function splitName(name: string): { firstName: string; lastName: string } {
  const parts = oneLine(name).split(/\s+/);
  return { firstName: parts[0] ?? '', lastName: parts.slice(1).join(' ') };
}
