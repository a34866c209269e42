/**
 * @module awareness/tracking
 * What recipients do with a simulated phishing message: open (the pixel), click, submit the
 * landing form, report (the report link or a forwarded copy). Each event keeps its time, address
 * and user agent. Mail security gateways fetch every link to scan it; a click is counted as the
 * scanner's, not the person's, when it comes within a second of delivery, or when nothing was
 * opened first and the user agent is a known scanner. A form submission keeps only the names of
 * the fields that were not passwords: no value typed into the page is ever stored.
 */
import type { Kysely } from 'kysely';
import { type Clock, newId } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { AnyDb } from '../platform/db/index.js';
import { TRACKING_ID } from './campaigns.js';
import { AWARENESS_EVENTS, publishAll } from './events.js';
import type { PhishEventKind, RecipientRow } from './phishing-tables.js';
import type { AwarenessTables } from './tables.js';

/** Where a tracking request came from. */
export interface TrackingContext {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** What a tracked action found. */
export type TrackingResult =
  | { known: false }
  | { known: true; recipient: RecipientRow; scanner: boolean; firstTime: boolean };

/** User-agent fragments of mail security scanners and link pre-fetchers (lower case). */
export const SCANNER_AGENTS = [
  'barracuda',
  'proofpoint',
  'mimecast',
  'safelinks',
  'urldefense',
  'bingpreview',
  'microsoft office',
  'ms-office',
  'skypeuripreview',
  'symantec',
  'messagelabs',
  'forcepoint',
  'fireeye',
  'trend micro',
  'ironport',
  'cisco',
  'sophos',
  'python-requests',
  'go-http-client',
  'curl/',
  'wget/',
  'headlesschrome',
];

/** Whether a user agent is a known scanner's. */
export function isScannerAgent(userAgent: string | undefined): boolean {
  const ua = (userAgent ?? '').toLowerCase();
  return ua.length === 0 || SCANNER_AGENTS.some((s) => ua.includes(s));
}

/**
 * The scanner heuristic for a click: within one second of delivery, or no prior open by a person
 * and a scanner's user agent.
 */
export function isScannerClick(
  r: Pick<RecipientRow, 'sent_at' | 'opened_at'>,
  at: Date,
  userAgent: string | undefined,
): boolean {
  if (r.sent_at && at.getTime() - Date.parse(r.sent_at) < 1000) return true;
  return r.opened_at === null && isScannerAgent(userAgent);
}

const EVENT_OF: Record<Exclude<PhishEventKind, 'sent' | 'error'>, string> = {
  open: AWARENESS_EVENTS.opened,
  click: AWARENESS_EVENTS.clicked,
  submit: AWARENESS_EVENTS.submitted,
  report: AWARENESS_EVENTS.reported,
};

/** Records tracking events. */
export class Tracking {
  readonly #db: Kysely<AwarenessTables>;
  /** Called for each person-level event (risk recomputes; a click assigns training). */
  onPersonEvent: (kind: PhishEventKind, recipient: RecipientRow) => Promise<void> = async () => {};

  constructor(private readonly deps: { db: AnyDb; bus: Bus; clock: Clock }) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** The recipient of a tracking id, or undefined (malformed ids never reach the database). */
  async recipient(trackingId: string): Promise<RecipientRow | undefined> {
    if (!TRACKING_ID.test(trackingId)) return undefined;
    return this.#db
      .selectFrom('awareness_recipients')
      .selectAll()
      .where('tracking_id', '=', trackingId)
      .executeTakeFirst();
  }

  /**
   * Records one event. `fields` (submit only) are the names of non-password fields. Events on a
   * message that was never delivered are ignored as unknown.
   */
  async record(
    kind: 'open' | 'click' | 'submit' | 'report',
    trackingId: string,
    ctx: TrackingContext,
    detail: Record<string, unknown> = {},
  ): Promise<TrackingResult> {
    const r = await this.recipient(trackingId);
    if (r?.status !== 'sent') return { known: false };
    const now = this.deps.clock.now();
    const at = now.toISOString();
    const ua = ctx.userAgent?.slice(0, 512);
    const ip = ctx.ip?.slice(0, 64) ?? null;
    let scanner = false;
    if (kind === 'click' || (kind === 'report' && detail.via !== 'mailbox'))
      scanner = isScannerClick(r, now, ua);
    else if (kind === 'open')
      scanner = isScannerAgent(ua) && !/googleimageproxy|yahoomailproxy/i.test(ua ?? '');
    await this.#db
      .insertInto('awareness_phish_events')
      .values({
        id: newId(),
        campaign_id: r.campaign_id,
        recipient_id: r.id,
        person_id: r.person_id,
        kind,
        scanner: scanner ? 1 : 0,
        time: at,
        ip,
        user_agent: ua ?? null,
        detail: Object.keys(detail).length ? JSON.stringify(detail) : null,
      })
      .execute();
    if (scanner) return { known: true, recipient: r, scanner, firstTime: false };
    const set: Partial<RecipientRow> = { modified_at: at, last_ip: ip };
    // A click implies the message was opened (images are often blocked); a submit implies a click.
    if (kind !== 'report' && !r.opened_at) set.opened_at = at;
    if ((kind === 'click' || kind === 'submit') && !r.clicked_at) set.clicked_at = at;
    if (kind === 'submit' && !r.submitted_at) set.submitted_at = at;
    if (kind === 'report' && !r.reported_at) set.reported_at = at;
    const firstColumn = {
      open: r.opened_at,
      click: r.clicked_at,
      submit: r.submitted_at,
      report: r.reported_at,
    }[kind];
    await this.#db.updateTable('awareness_recipients').set(set).where('id', '=', r.id).execute();
    const updated = { ...r, ...set };
    await publishAll(
      this.deps.bus,
      [
        {
          kind: EVENT_OF[kind],
          severity: kind === 'submit' ? 'medium' : kind === 'click' ? 'low' : 'info',
          data: {
            campaignId: r.campaign_id,
            recipientId: r.id,
            personId: r.person_id,
            ip,
            userAgent: ua ?? null,
            ...detail,
          },
        },
      ],
      now,
    );
    await this.onPersonEvent(kind, updated);
    return { known: true, recipient: updated, scanner: false, firstTime: firstColumn === null };
  }

  /**
   * Finds the tracking id in a reported message (forwarded to the report mailbox, perhaps as an
   * attachment, quoted-printable or base64) and records a report. Returns whether one was found.
   */
  async ingestReportedMessage(raw: string | Buffer): Promise<{ reported: boolean; recipientId?: string }> {
    const text = typeof raw === 'string' ? raw : raw.toString('latin1');
    for (const id of findTrackingIds(text)) {
      const result = await this.record('report', id, { userAgent: 'report-mailbox' }, { via: 'mailbox' });
      if (result.known) return { reported: true, recipientId: result.recipient.id };
    }
    return { reported: false };
  }
}

/** Tracking ids in a message: in links of the raw text, its quoted-printable and base64 parts. */
export function findTrackingIds(raw: string): string[] {
  const texts = [raw.slice(0, 5_000_000)];
  texts.push(
    texts[0]!
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
  );
  for (const block of texts[0]!.match(/(?:^[A-Za-z0-9+/=]{40,}\r?\n)+/gm) ?? [])
    texts.push(Buffer.from(block.replace(/\s+/g, ''), 'base64').toString('latin1'));
  const ids = new Set<string>();
  for (const t of texts)
    for (const m of t.matchAll(/\/t\/[ocrl]\/([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/g)) ids.add(m[1]!);
  return [...ids];
}
