/**
 * @module awareness/phishing-reports
 * Campaign results: rates per campaign and per department (clicks and submissions by people, not
 * scanners), time to report, timelines per campaign and per person, and a CSV in GoPhish's results
 * layout so a team that migrates keeps its spreadsheets. The CSV's `id` is the recipient id, not
 * the tracking id: an exported file must not let its reader forge clicks.
 */
import { type Kysely, sql } from 'kysely';
import type { AnyDb } from '../platform/db/index.js';
import { toCsv } from './completions.js';
import type { PhishEventRow, RecipientRow } from './phishing-tables.js';
import type { AwarenessTables } from './tables.js';

/** Rates of one group of recipients. */
export type PhishingStats = {
  recipients: number;
  sent: number;
  errors: number;
  opened: number;
  clicked: number;
  submitted: number;
  reported: number;
  clickRate: number;
  submitRate: number;
  reportRate: number;
  /** Median seconds from delivery to report, or null when nobody reported. */
  medianSecondsToReport: number | null;
};

/** One event of a timeline. */
export type TimelineEntry = {
  time: string;
  kind: PhishEventRow['kind'];
  campaignId: string;
  recipientId: string;
  personId: string;
  email: string;
  scanner: boolean;
  ip: string | null;
  userAgent: string | null;
};

/** Counts and rates of one campaign for the campaign list (computed in the database). */
export type CampaignCounts = Omit<PhishingStats, 'medianSecondsToReport'> & {
  /** Opens and clicks by link scanners and mail gateways, not counted as people's. */
  scannerOpens: number;
  scannerClicks: number;
};

/** Link-scanner events of a campaign, apart from people's. */
export type ScannerCounts = { opens: number; clicks: number };

/** One recipient's outcome as the console shows it (never the tracking id). */
export type RecipientResult = {
  id: string;
  personId: string;
  email: string;
  firstName: string;
  lastName: string;
  position: string;
  department: string | null;
  status: RecipientRow['status'];
  /** GoPhish's word for the furthest step reached. */
  result: string;
  error: string | null;
  sentAt: string | null;
  openedAt: string | null;
  clickedAt: string | null;
  submittedAt: string | null;
  reportedAt: string | null;
  lastIp: string | null;
};

/** GoPhish's results CSV columns, in order. */
export const GOPHISH_COLUMNS = [
  'id',
  'status',
  'ip',
  'latitude',
  'longitude',
  'send_date',
  'reported',
  'modified_date',
  'email',
  'first_name',
  'last_name',
  'position',
] as const;

/** Computes the rates of recipients. */
export function statsOf(rows: RecipientRow[]): PhishingStats {
  const sent = rows.filter((r) => r.status === 'sent');
  const n = sent.length;
  const rate = (k: number) => (n ? Math.round((k * 10000) / n) / 100 : 0);
  const clicked = sent.filter((r) => r.clicked_at).length;
  const submitted = sent.filter((r) => r.submitted_at).length;
  const reported = sent.filter((r) => r.reported_at).length;
  const delays = sent
    .filter((r) => r.reported_at && r.sent_at)
    .map((r) => (Date.parse(r.reported_at!) - Date.parse(r.sent_at!)) / 1000)
    .sort((a, b) => a - b);
  const mid = Math.floor(delays.length / 2);
  return {
    recipients: rows.length,
    sent: n,
    errors: rows.filter((r) => r.status === 'error').length,
    opened: sent.filter((r) => r.opened_at).length,
    clicked,
    submitted,
    reported,
    clickRate: rate(clicked),
    submitRate: rate(submitted),
    reportRate: rate(reported),
    medianSecondsToReport: delays.length
      ? delays.length % 2
        ? delays[mid]!
        : (delays[mid - 1]! + delays[mid]!) / 2
      : null,
  };
}

/** GoPhish's status words for a recipient. */
export function gophishStatus(r: RecipientRow): string {
  if (r.status === 'error') return 'Error';
  if (r.status === 'queued') return 'Scheduled';
  if (r.status === 'sending') return 'Sending';
  if (r.submitted_at) return 'Submitted Data';
  if (r.clicked_at) return 'Clicked Link';
  if (r.opened_at) return 'Email Opened';
  return 'Email Sent';
}

/** Reports over the phishing tables. */
export class PhishingReports {
  readonly #db: Kysely<AwarenessTables>;
  constructor(db: AnyDb) {
    this.#db = db.withTables<AwarenessTables>();
  }

  async #recipients(campaignId?: string): Promise<RecipientRow[]> {
    let q = this.#db.selectFrom('awareness_recipients').selectAll();
    if (campaignId) q = q.where('campaign_id', '=', campaignId);
    return q.orderBy('email').orderBy('id').execute();
  }

  /** A campaign's rates overall and per department. */
  async campaign(
    campaignId: string,
  ): Promise<{ overall: PhishingStats; departments: Array<{ department: string | null } & PhishingStats> }> {
    const rows = await this.#recipients(campaignId);
    return { overall: statsOf(rows), departments: byDepartment(rows) };
  }

  /** Every campaign's counts and rates, keyed by campaign id (aggregated in the database). */
  async counts(): Promise<Map<string, CampaignCounts>> {
    const sentAnd = (column: 'opened_at' | 'clicked_at' | 'submitted_at' | 'reported_at') =>
      sql<number>`sum(case when status = 'sent' and ${sql.ref(column)} is not null then 1 else 0 end)`;
    const rows = await this.#db
      .selectFrom('awareness_recipients')
      .select((eb) => [
        'campaign_id',
        eb.fn.countAll<number>().as('recipients'),
        sql<number>`sum(case when status = 'sent' then 1 else 0 end)`.as('sent'),
        sql<number>`sum(case when status = 'error' then 1 else 0 end)`.as('errors'),
        sentAnd('opened_at').as('opened'),
        sentAnd('clicked_at').as('clicked'),
        sentAnd('submitted_at').as('submitted'),
        sentAnd('reported_at').as('reported'),
      ])
      .groupBy('campaign_id')
      .execute();
    const scanners = await this.scannerCounts();
    const out = new Map<string, CampaignCounts>();
    for (const r of rows) {
      const sent = Number(r.sent);
      const rate = (k: number) => (sent ? Math.round((k * 10000) / sent) / 100 : 0);
      const scanner = scanners.get(r.campaign_id) ?? { opens: 0, clicks: 0 };
      out.set(r.campaign_id, {
        recipients: Number(r.recipients),
        sent,
        errors: Number(r.errors),
        opened: Number(r.opened),
        clicked: Number(r.clicked),
        submitted: Number(r.submitted),
        reported: Number(r.reported),
        clickRate: rate(Number(r.clicked)),
        submitRate: rate(Number(r.submitted)),
        reportRate: rate(Number(r.reported)),
        scannerOpens: scanner.opens,
        scannerClicks: scanner.clicks,
      });
    }
    return out;
  }

  /** Opens and clicks by link scanners, per campaign (or of one campaign). */
  async scannerCounts(campaignId?: string): Promise<Map<string, ScannerCounts>> {
    let q = this.#db
      .selectFrom('awareness_phish_events')
      .select((eb) => ['campaign_id', 'kind', eb.fn.countAll<number>().as('n')])
      .where('scanner', '=', 1)
      .where('kind', 'in', ['open', 'click']);
    if (campaignId) q = q.where('campaign_id', '=', campaignId);
    const out = new Map<string, ScannerCounts>();
    for (const r of await q.groupBy(['campaign_id', 'kind']).execute()) {
      const c = out.get(r.campaign_id) ?? { opens: 0, clicks: 0 };
      if (r.kind === 'open') c.opens = Number(r.n);
      else c.clicks = Number(r.n);
      out.set(r.campaign_id, c);
    }
    return out;
  }

  /** Each recipient's outcome in a campaign, by email. */
  async results(campaignId: string): Promise<RecipientResult[]> {
    return (await this.#recipients(campaignId)).map((r) => ({
      id: r.id,
      personId: r.person_id,
      email: r.email,
      firstName: r.first_name,
      lastName: r.last_name,
      position: r.position,
      department: r.department,
      status: r.status,
      result: gophishStatus(r),
      error: r.error,
      sentAt: r.sent_at,
      openedAt: r.opened_at,
      clickedAt: r.clicked_at,
      submittedAt: r.submitted_at,
      reportedAt: r.reported_at,
      lastIp: r.last_ip,
    }));
  }

  /** Rates per department over all campaigns. */
  async departments(): Promise<Array<{ department: string | null } & PhishingStats>> {
    return byDepartment(await this.#recipients());
  }

  /** Events of a campaign or a person, oldest first. */
  async timeline(filter: { campaignId?: string; personId?: string }): Promise<TimelineEntry[]> {
    let q = this.#db
      .selectFrom('awareness_phish_events as e')
      .innerJoin('awareness_recipients as r', 'r.id', 'e.recipient_id')
      .select([
        'e.time',
        'e.kind',
        'e.campaign_id',
        'e.recipient_id',
        'e.person_id',
        'r.email',
        'e.scanner',
        'e.ip',
        'e.user_agent',
      ]);
    if (filter.campaignId) q = q.where('e.campaign_id', '=', filter.campaignId);
    if (filter.personId) q = q.where('e.person_id', '=', filter.personId);
    const rows = await q.orderBy('e.time').orderBy('e.id').limit(10_000).execute();
    return rows.map((r) => ({
      time: r.time,
      kind: r.kind,
      campaignId: r.campaign_id,
      recipientId: r.recipient_id,
      personId: r.person_id,
      email: r.email,
      scanner: Number(r.scanner) === 1,
      ip: r.ip,
      userAgent: r.user_agent,
    }));
  }

  /** The campaign's results as GoPhish exports them. */
  async gophishCsv(campaignId: string): Promise<string> {
    const rows = await this.#recipients(campaignId);
    return toCsv(
      [...GOPHISH_COLUMNS],
      rows.map((r) => [
        r.id,
        gophishStatus(r),
        r.last_ip ?? '',
        0,
        0,
        r.sent_at ?? '',
        r.reported_at !== null,
        r.modified_at,
        r.email,
        r.first_name,
        r.last_name,
        r.position,
      ]),
    );
  }
}

function byDepartment(rows: RecipientRow[]): Array<{ department: string | null } & PhishingStats> {
  const groups = new Map<string | null, RecipientRow[]>();
  for (const r of rows) groups.set(r.department, [...(groups.get(r.department) ?? []), r]);
  return [...groups.entries()]
    .sort(([a], [b]) => (a ?? '').localeCompare(b ?? ''))
    .map(([department, list]) => ({ department, ...statsOf(list) }));
}
