/**
 * @module awareness/certificates
 * Certificates for passed courses. A certificate is a passed quiz attempt shown as a printable page
 * with a verification code: the attempt id and an HMAC of the attempt's facts under a key derived
 * from the key ring (`awareness-certificate`). Anyone holding the code can ask the public
 * verification route whether it is genuine; the answer names only the course and the date, which
 * are on the certificate already. Nothing is stored: the code is recomputed from the attempt, so a
 * forged or altered code simply does not match. The page has no script and no inline style (its
 * stylesheet is a separate, same-origin answer), so the server's strict CSP holds for it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import type { Curriculum } from './courses.js';
import { escapeHtml } from './markdown.js';
import type { AwarenessTables } from './tables.js';

/** What certificates need. */
export interface CertificateDeps {
  db: AnyDb;
  keys: KeyRing;
  curriculum: Curriculum;
}

/** A certificate of one passed attempt. */
export type Certificate = {
  completionId: string;
  personId: string;
  name: string;
  courseId: string;
  courseTitle: string;
  courseVersion: number;
  score: number;
  passedAt: string;
  code: string;
};

/** What the public verification answers: nothing more than the certificate shows. */
export type CertificateCheck =
  | { valid: false }
  | { valid: true; courseId: string; courseTitle: string; date: string };

/** The key ring purpose of the certificate key. */
export const CERTIFICATE_KEY_PURPOSE = 'awareness-certificate';

/** The code: `<attempt id>.<22 base64url characters: 128 bits of HMAC-SHA256>`. */
const CODE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{22})$/;

type AttemptFacts = {
  id: string;
  person_id: string;
  course_id: string;
  course_version: number;
  score: number;
  submitted_at: string;
};

/** The certificates of passed attempts. */
export class Certificates {
  readonly #db: Kysely<AwarenessTables>;
  readonly #key: Buffer;

  constructor(private readonly deps: CertificateDeps) {
    this.#db = deps.db.withTables<AwarenessTables>();
    this.#key = deps.keys.deriveKey(CERTIFICATE_KEY_PURPOSE);
  }

  #mac(a: AttemptFacts): string {
    const facts = [
      'vigil-certificate-v1',
      a.id,
      a.person_id,
      a.course_id,
      Number(a.course_version),
      Number(a.score),
      a.submitted_at,
    ].join('\n');
    return createHmac('sha256', this.#key).update(facts).digest().subarray(0, 16).toString('base64url');
  }

  /** The verification code of a passed attempt. */
  codeOf(a: AttemptFacts): string {
    return `${a.id}.${this.#mac(a)}`;
  }

  #toCertificate(a: AttemptFacts & { name: string }): Certificate {
    return {
      completionId: a.id,
      personId: a.person_id,
      name: a.name,
      courseId: a.course_id,
      courseTitle: this.deps.curriculum.get(a.course_id)?.title ?? a.course_id,
      courseVersion: Number(a.course_version),
      score: Number(a.score),
      passedAt: a.submitted_at,
      code: this.codeOf(a),
    };
  }

  #passed() {
    return this.#db
      .selectFrom('awareness_attempts as a')
      .innerJoin('awareness_people as p', 'p.id', 'a.person_id')
      .select([
        'a.id',
        'a.person_id',
        'a.course_id',
        'a.course_version',
        'a.score',
        'a.submitted_at',
        'p.name as name',
      ])
      .where('a.passed', '=', 1);
  }

  /** A person's certificates, newest first. */
  async listOf(personId: string): Promise<Certificate[]> {
    const rows = await this.#passed()
      .where('a.person_id', '=', personId)
      .orderBy('a.submitted_at', 'desc')
      .limit(1000)
      .execute();
    return rows.map((r) => this.#toCertificate(r));
  }

  /**
   * One certificate of a person. Someone else's attempt, a failed attempt and an unknown id are the
   * same NOT_FOUND, so the answer never says whether an id exists.
   */
  async of(personId: string, completionId: string): Promise<Certificate> {
    const row = await this.#passed()
      .where('a.id', '=', completionId)
      .where('a.person_id', '=', personId)
      .executeTakeFirst();
    if (!row)
      throw new VigilError('NOT_FOUND', 'No such certificate', { details: { field: 'completionId' } });
    return this.#toCertificate(row);
  }

  /** Checks a code: valid only for a passed attempt whose facts give the same HMAC. */
  async verify(code: string): Promise<CertificateCheck> {
    const m = CODE.exec(code.trim());
    if (!m) return { valid: false };
    const row = await this.#db
      .selectFrom('awareness_attempts')
      .select(['id', 'person_id', 'course_id', 'course_version', 'score', 'submitted_at', 'passed'])
      .where('id', '=', m[1]!)
      .executeTakeFirst();
    // Compute a MAC even for an unknown id, so both paths take about the same time.
    const expected = Buffer.from(
      this.#mac(
        row ?? { id: m[1]!, person_id: '', course_id: '', course_version: 0, score: 0, submitted_at: '' },
      ),
    );
    const given = Buffer.from(m[2]!);
    const same = expected.length === given.length && timingSafeEqual(expected, given);
    if (!row || Number(row.passed) !== 1 || !same) return { valid: false };
    return {
      valid: true,
      courseId: row.course_id,
      courseTitle: this.deps.curriculum.get(row.course_id)?.title ?? row.course_id,
      date: row.submitted_at.slice(0, 10),
    };
  }
}

/** The certificate page's stylesheet, served same-origin (the CSP forbids inline styles). */
export const CERTIFICATE_CSS = `@page { size: A4 landscape; margin: 12mm; }
* { box-sizing: border-box; }
html { background: #eef1f4; }
body { margin: 0; font-family: Georgia, 'Times New Roman', serif; color: #1b2530; }
.certificate { max-width: 960px; margin: 32px auto; background: #fff; padding: 56px 64px; border: 10px double #1f5f8b; text-align: center; }
.certificate .issuer { font-family: system-ui, sans-serif; letter-spacing: 0.2em; text-transform: uppercase; font-size: 13px; color: #1f5f8b; margin: 0 0 24px; }
.certificate h1 { font-size: 40px; font-weight: normal; margin: 0 0 24px; }
.certificate .lede { font-size: 18px; margin: 0 0 8px; }
.certificate .name { font-size: 34px; margin: 8px 0 16px; border-bottom: 1px solid #9fb3c3; display: inline-block; padding: 0 24px 6px; }
.certificate .course { font-size: 26px; font-style: italic; margin: 8px 0 24px; }
.certificate dl { display: flex; justify-content: center; gap: 48px; margin: 24px 0; font-family: system-ui, sans-serif; }
.certificate dt { font-size: 12px; text-transform: uppercase; letter-spacing: 0.1em; color: #5a6b7a; }
.certificate dd { margin: 4px 0 0; font-size: 18px; }
.certificate .verify { font-family: system-ui, sans-serif; font-size: 12px; color: #5a6b7a; margin-top: 32px; word-break: break-all; }
.certificate .verify code { font-size: 12px; color: #1b2530; }
.print-hint { font-family: system-ui, sans-serif; text-align: center; color: #5a6b7a; font-size: 14px; }
@media print {
  html { background: #fff; }
  .certificate { margin: 0 auto; max-width: none; }
  .print-hint { display: none; }
}
`;

/** The printable certificate page; every value is escaped. */
export function certificateHtml(
  c: Certificate,
  opts: { stylesheet: string; verifyUrl: string; organisation?: string },
): string {
  const date = c.passedAt.slice(0, 10);
  const org = opts.organisation ?? 'Vigil security awareness';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Certificate: ${escapeHtml(c.courseTitle)}</title><link rel="stylesheet" href="${escapeHtml(opts.stylesheet)}"></head>
<body><main class="certificate" data-testid="certificate">
<p class="issuer">${escapeHtml(org)}</p>
<h1>Certificate of completion</h1>
<p class="lede">This certifies that</p>
<p class="name" data-testid="certificate-name">${escapeHtml(c.name)}</p>
<p class="lede">has completed the course</p>
<p class="course" data-testid="certificate-course">${escapeHtml(c.courseTitle)}</p>
<dl><div><dt>Date</dt><dd data-testid="certificate-date">${escapeHtml(date)}</dd></div><div><dt>Score</dt><dd data-testid="certificate-score">${c.score}%</dd></div><div><dt>Course version</dt><dd>${c.courseVersion}</dd></div></dl>
<p class="verify">Verification code: <code data-testid="certificate-code">${escapeHtml(c.code)}</code><br>Check it at ${escapeHtml(opts.verifyUrl)}</p>
</main><p class="print-hint">Use your browser's Print command to print this certificate or save it as a PDF.</p></body></html>
`;
}
