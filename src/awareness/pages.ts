/**
 * @module awareness/pages
 * The pages a recipient sees: the simulated landing page (a form; Vigil writes all of its markup,
 * every text escaped), the teaching page that explains the signs they missed, the thanks for a
 * report, and one neutral page for anything unknown. The pages are plain HTML with no script and
 * no inline style, so the server's strict CSP holds for them too.
 */
import { escapeHtml } from './markdown.js';
import type { LandingPage } from './phishing-library.js';

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>\n`;
}

/** The simulated sign-in page. The form posts back to the same tracking URL. */
export function landingHtml(landing: LandingPage, action: string): string {
  const fields = landing.fields
    .map(
      (f) =>
        `<p><label>${escapeHtml(f.label)}<br><input name="${escapeHtml(f.name)}" type="${f.type}" autocomplete="off"></label></p>`,
    )
    .join('');
  return page(
    landing.title,
    `<main><h1>${escapeHtml(landing.heading)}</h1>${landing.intro ? `<p>${escapeHtml(landing.intro)}</p>` : ''}<form method="post" action="${escapeHtml(action)}">${fields}<p><button type="submit">${escapeHtml(landing.button)}</button></p></form></main>`,
  );
}

/** The just-in-time teaching page after a click or a submission. */
export function teachingHtml(opts: {
  signs: string[];
  submitted: boolean;
  courseTitle: string | null;
  trainingUrl: string | null;
}): string {
  const signs = opts.signs.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  const course = opts.courseTitle
    ? `<p>A short course has been added to your training: <strong>${escapeHtml(opts.courseTitle)}</strong>.${opts.trainingUrl ? ` <a href="${escapeHtml(opts.trainingUrl)}">Open your training</a>.` : ''}</p>`
    : '';
  return page(
    'This was a phishing simulation',
    `<main><h1>This was a phishing simulation</h1><p>The message you ${opts.submitted ? 'answered' : 'opened'} was a test sent by your hospital's security team. Nothing bad happened${opts.submitted ? ', and nothing you typed was kept' : ''}.</p><h2>The signs you can spot next time</h2><ul>${signs}</ul><p>When in doubt, do not click: use the Report phishing button or forward the message to the security team.</p>${course}</main>`,
  );
}

/** The thank-you page of a report link. */
export function reportedHtml(): string {
  return page(
    'Thank you for reporting',
    '<main><h1>Thank you for reporting</h1><p>The security team has your report. Reporting suspicious messages protects patients and colleagues.</p></main>',
  );
}

/** One neutral answer for unknown or expired links: it says nothing about whether the id exists. */
export function notAvailableHtml(): string {
  return page('Not available', '<main><h1>This page is not available</h1></main>');
}

/** A 1×1 transparent GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
