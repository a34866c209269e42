/**
 * @module awareness/campaigns
 * Phishing campaigns: a template sent to departments and/or people through a sending profile,
 * from a scheduled time, at most `ratePerMinute` messages per minute since the start (so a
 * hospital's mail gateway is not flooded). Recipients are fixed when the campaign is created, each
 * with a 256-bit random tracking id. A recipient is claimed (`queued` → `sending`) before its
 * message goes out and is never claimed again, so nothing is sent twice even if a worker dies; an
 * SMTP error is recorded on that recipient and the campaign carries on.
 *
 * Messages go out through one pooled SMTP sender per sending profile (a few connections, each
 * reused for many messages), opened when a campaign starts sending and closed when the last
 * campaign using it has nothing left to send. Recipients are read, claimed, sent and recorded a
 * chunk at a time, so memory does not grow with the campaign.
 */
import type { Kysely } from 'kysely';
import { type Clock, newId, randomToken, VigilError } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { MailSender } from '../platform/mail/index.js';
import { AWARENESS_EVENTS, publishAll } from './events.js';
import type { LandingPage, PhishingLibrary, PhishingTemplate } from './phishing-library.js';
import type { SendingProfiles } from './phishing-profiles.js';
import { checkTemplate, renderTemplate, splitName } from './phishing-render.js';
import type { CampaignRow, ProfileRow, RecipientRow } from './phishing-tables.js';
import type { AwarenessTables } from './tables.js';

/** What campaigns need. */
export interface CampaignDeps {
  db: AnyDb;
  bus: Bus;
  clock: Clock;
  library: PhishingLibrary;
  profiles: SendingProfiles;
}

/** A campaign to create. */
export interface NewCampaign {
  name: string;
  templateId: string;
  landingId?: string | null;
  profileId: string;
  /** The public base URL of the tracking routes (`https://vigil.hospital.example`). */
  baseUrl: string;
  departments?: string[];
  personIds?: string[];
  /** ISO time; absent: now. */
  scheduledAt?: string;
  ratePerMinute?: number;
}

/** A campaign as the API shows it. */
export type Campaign = {
  id: string;
  name: string;
  templateId: string;
  landingId: string | null;
  profileId: string;
  baseUrl: string;
  scheduledAt: string;
  ratePerMinute: number;
  status: CampaignRow['status'];
  recipients: number;
  createdAt: string;
  completedAt: string | null;
};

/** A new stored template. */
export interface NewTemplate {
  name: string;
  subject: string;
  html: string;
  text: string;
  signs: string[];
}

/** People read per page when a campaign's recipients are written. */
const CREATE_PAGE = 500;
/** Recipients claimed, sent and recorded together (a cancel takes effect within one chunk). */
const SEND_CHUNK = 100;

/** A profile's open sender and who uses it. */
interface ProfilePool {
  sender: MailSender;
  /** Campaigns that sent through it and still have recipients queued. */
  campaigns: Set<string>;
  /** Send runs in progress. */
  active: number;
}

/** One recipient's send outcome. */
interface SendResult {
  recipient: RecipientRow;
  error: string | null;
  at: string;
}

/** A tracking id: 32 random bytes (256 bits), base64url. */
export const TRACKING_ID = /^[A-Za-z0-9_-]{43}$/;

function bad(field: string, message: string): VigilError {
  return new VigilError('BAD_REQUEST', `${field}: ${message}`, { details: { field } });
}

/** The campaign store and sender. */
export class Campaigns {
  readonly #db: Kysely<AwarenessTables>;
  readonly #pools = new Map<string, ProfilePool>();
  constructor(private readonly deps: CampaignDeps) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** Stores a template after checking its placeholders. */
  async createTemplate(input: NewTemplate): Promise<PhishingTemplate> {
    checkTemplate(input);
    const id = newId();
    await this.#db
      .insertInto('awareness_templates')
      .values({
        id,
        name: input.name,
        subject: input.subject,
        html: input.html,
        text: input.text,
        signs: JSON.stringify(input.signs),
        created_at: this.deps.clock.now().toISOString(),
      })
      .execute();
    return { id, ...input };
  }

  /** Stored and shipped templates. */
  async listTemplates(): Promise<PhishingTemplate[]> {
    const rows = await this.#db.selectFrom('awareness_templates').selectAll().orderBy('name').execute();
    return [
      ...rows.map((r) => ({
        id: r.id,
        name: r.name,
        subject: r.subject,
        html: r.html,
        text: r.text,
        signs: JSON.parse(r.signs) as string[],
      })),
      ...this.deps.library.templates.values(),
    ];
  }

  /** A template by id: stored first, then shipped. */
  async template(id: string): Promise<PhishingTemplate | undefined> {
    const r = await this.#db
      .selectFrom('awareness_templates')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (r)
      return {
        id: r.id,
        name: r.name,
        subject: r.subject,
        html: r.html,
        text: r.text,
        signs: JSON.parse(r.signs) as string[],
      };
    return this.deps.library.templates.get(id);
  }

  /** A shipped landing page. */
  landing(id: string | null): LandingPage | undefined {
    return id ? this.deps.library.landings.get(id) : undefined;
  }

  /** The shipped landing pages, by title. */
  landings(): LandingPage[] {
    return [...this.deps.library.landings.values()].sort((a, b) => a.title.localeCompare(b.title));
  }

  /** Creates a campaign and its recipients (the active members of the groups, once each). */
  async create(input: NewCampaign, createdBy: string | null = null): Promise<Campaign> {
    const template = await this.template(input.templateId);
    if (!template)
      throw new VigilError('NOT_FOUND', 'No such template', { details: { field: 'templateId' } });
    const landingId = input.landingId === undefined ? (template.landing ?? null) : input.landingId;
    if (landingId && !this.landing(landingId))
      throw new VigilError('NOT_FOUND', 'No such landing page', { details: { field: 'landingId' } });
    await this.deps.profiles.mustGetRow(input.profileId);
    let base: URL;
    try {
      base = new URL(input.baseUrl);
    } catch {
      throw bad('baseUrl', 'an absolute http(s) URL');
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:')
      throw bad('baseUrl', 'an absolute http(s) URL');
    const rate = input.ratePerMinute ?? 60;
    if (!Number.isInteger(rate) || rate < 1 || rate > 100_000) throw bad('ratePerMinute', '1 to 100000');
    const now = this.deps.clock.now();
    const scheduledAt = input.scheduledAt ? new Date(input.scheduledAt) : now;
    if (Number.isNaN(scheduledAt.getTime())) throw bad('scheduledAt', 'an ISO time');
    const departments = input.departments ?? [];
    const personIds = input.personIds ?? [];
    // The active members of the groups, once each, read and written a page at a time: a
    // campaign to the whole hospital never holds everyone in memory.
    const page = (trx: Kysely<AwarenessTables>, after: string | null) => {
      let q = trx
        .selectFrom('awareness_people')
        .select(['id', 'name', 'email', 'job_role', 'department'])
        .where('status', '=', 'active')
        .where((eb) =>
          eb.or([
            ...(departments.length ? [eb('department', 'in', departments)] : []),
            ...(personIds.length ? [eb('id', 'in', personIds)] : []),
          ]),
        );
      if (after !== null) q = q.where('id', '>', after);
      return q.orderBy('id').limit(CREATE_PAGE).execute();
    };
    if (!departments.length && !personIds.length)
      throw bad('departments', 'the groups hold no active person');
    const id = newId();
    const at = now.toISOString();
    const campaign: CampaignRow = {
      id,
      name: input.name,
      template_id: input.templateId,
      landing_id: landingId,
      profile_id: input.profileId,
      base_url: base.toString().replace(/\/+$/, ''),
      scheduled_at: scheduledAt.toISOString(),
      rate_per_minute: rate,
      status: 'scheduled',
      created_by: createdBy,
      created_at: at,
      completed_at: null,
    };
    const empty = new Error('empty campaign');
    try {
      await this.#db.transaction().execute(async (trx) => {
        await trx.insertInto('awareness_campaigns').values(campaign).execute();
        let after: string | null = null;
        let total = 0;
        for (;;) {
          const people = await page(trx, after);
          if (!people.length) break;
          after = people[people.length - 1]!.id;
          total += people.length;
          const recipients: RecipientRow[] = people.map((p) => {
            const { firstName, lastName } = splitName(p.name);
            return {
              id: newId(),
              campaign_id: id,
              person_id: p.id,
              email: p.email,
              first_name: firstName,
              last_name: lastName,
              position: p.job_role ?? '',
              department: p.department,
              tracking_id: randomToken(32),
              status: 'queued',
              sent_at: null,
              error: null,
              opened_at: null,
              clicked_at: null,
              submitted_at: null,
              reported_at: null,
              last_ip: null,
              modified_at: at,
            };
          });
          for (let i = 0; i < recipients.length; i += 200)
            await trx
              .insertInto('awareness_recipients')
              .values(recipients.slice(i, i + 200))
              .execute();
        }
        // Nothing written when the groups are empty: the transaction is rolled back.
        if (total === 0) throw empty;
      });
    } catch (err) {
      if (err === empty) throw bad('departments', 'the groups hold no active person');
      throw err;
    }
    return this.get(id);
  }

  /** A campaign, or NOT_FOUND. */
  async get(id: string): Promise<Campaign> {
    const r = await this.#db
      .selectFrom('awareness_campaigns')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!r) throw new VigilError('NOT_FOUND', 'No such campaign', { details: { field: 'id' } });
    const n = await this.#db
      .selectFrom('awareness_recipients')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('campaign_id', '=', id)
      .executeTakeFirstOrThrow();
    return toCampaign(r, Number(n.n));
  }

  /** All campaigns, newest first. */
  async list(): Promise<Campaign[]> {
    const rows = await this.#db
      .selectFrom('awareness_campaigns')
      .selectAll()
      .orderBy('created_at', 'desc')
      .execute();
    const out: Campaign[] = [];
    for (const r of rows) out.push(await this.get(r.id));
    return out;
  }

  /** Cancels a campaign: queued recipients are never sent. */
  async cancel(id: string): Promise<Campaign> {
    await this.get(id);
    await this.#db
      .updateTable('awareness_campaigns')
      .set({ status: 'cancelled' })
      .where('id', '=', id)
      .where('status', 'in', ['scheduled', 'sending'])
      .execute();
    // Its profile's sender closes now unless another campaign or a send run still uses it.
    for (const [profileId, pool] of this.#pools)
      if (pool.campaigns.delete(id) && pool.active === 0 && pool.campaigns.size === 0) {
        this.#pools.delete(profileId);
        await pool.sender.close();
      }
    return this.get(id);
  }

  /**
   * Sends what is due at `now` for every started campaign, within each rate limit: by minute `m`
   * after the start, at most `rate × (m + 1)` messages. Returns how many were attempted.
   */
  async sendDue(now: Date = this.deps.clock.now()): Promise<number> {
    const due = await this.#db
      .selectFrom('awareness_campaigns')
      .selectAll()
      .where('status', 'in', ['scheduled', 'sending'])
      .where('scheduled_at', '<=', now.toISOString())
      .execute();
    let attempted = 0;
    for (const c of due) attempted += await this.#sendCampaign(c, now);
    return attempted;
  }

  /** Closes every open sender (the server stops). */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    for (const p of pools) await p.sender.close();
  }

  /** How many profiles have a sender open now (tests: senders close when their campaigns end). */
  openSenders(): number {
    return this.#pools.size;
  }

  /** The profile's pooled sender, opened on first use and shared by its campaigns. */
  #acquire(profile: ProfileRow, campaignId: string): ProfilePool {
    let pool = this.#pools.get(profile.id);
    if (!pool) {
      pool = {
        sender: this.deps.profiles.senderFor(profile, { pooled: true }),
        campaigns: new Set(),
        active: 0,
      };
      this.#pools.set(profile.id, pool);
    }
    pool.campaigns.add(campaignId);
    pool.active++;
    return pool;
  }

  /** Ends a send run; the sender closes once no campaign of the profile has anything left to send. */
  async #release(profileId: string, pool: ProfilePool, campaignId: string, finished: boolean): Promise<void> {
    pool.active--;
    if (finished) pool.campaigns.delete(campaignId);
    if (pool.active === 0 && pool.campaigns.size === 0 && this.#pools.get(profileId) === pool) {
      this.#pools.delete(profileId);
      await pool.sender.close();
    }
  }

  async #sendCampaign(c: CampaignRow, now: Date): Promise<number> {
    const template = await this.template(c.template_id);
    const profile = await this.deps.profiles.mustGetRow(c.profile_id);
    if (!template) return 0;
    await this.#db
      .updateTable('awareness_campaigns')
      .set({ status: 'sending' })
      .where('id', '=', c.id)
      .where('status', '=', 'scheduled')
      .execute();
    const minutes = Math.floor((now.getTime() - Date.parse(c.scheduled_at)) / 60_000);
    const done = await this.#db
      .selectFrom('awareness_recipients')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('campaign_id', '=', c.id)
      .where('status', '!=', 'queued')
      .executeTakeFirstOrThrow();
    let allowance = c.rate_per_minute * (minutes + 1) - Number(done.n);
    if (allowance <= 0) return 0;
    const pool = this.#acquire(profile, c.id);
    // Twice the connections: each connection has its next message waiting when it frees up.
    const workers = 2 * Math.max(1, this.deps.profiles.poolSize());
    let attempted = 0;
    let finished = false;
    try {
      // Reads and claims the next chunk: at most SEND_CHUNK recipients in memory at once.
      const claimNext = async (): Promise<RecipientRow[] | null> => {
        while (allowance > 0) {
          const queued = await this.#db
            .selectFrom('awareness_recipients')
            .selectAll()
            .where('campaign_id', '=', c.id)
            .where('status', '=', 'queued')
            .limit(Math.min(allowance, SEND_CHUNK))
            .execute();
          if (!queued.length) return null;
          const status = await this.#db
            .selectFrom('awareness_campaigns')
            .select('status')
            .where('id', '=', c.id)
            .executeTakeFirst();
          if (status?.status === 'cancelled') return null;
          // Claim before sending: a claimed recipient is never claimed again, by this process or
          // another, so nothing is sent twice even if a worker dies mid-send.
          const claimed = await this.#db
            .updateTable('awareness_recipients')
            .set({ status: 'sending' })
            .where(
              'id',
              'in',
              queued.map((r) => r.id),
            )
            .where('status', '=', 'queued')
            .returning('id')
            .execute();
          const mine = new Set(claimed.map((r) => r.id));
          const batch = queued.filter((r) => mine.has(r.id));
          allowance -= batch.length;
          attempted += batch.length;
          if (batch.length) return batch;
        }
        return null;
      };
      // A pipeline: while one chunk is on the wire, the next is claimed and the previous recorded,
      // so the connections are not left idle by the database work.
      let next = claimNext();
      let recorded: Promise<void> = Promise.resolve();
      for (;;) {
        const batch = await next;
        if (!batch) break;
        next = claimNext();
        next.catch(() => {});
        const [results] = await Promise.all([
          this.#sendBatch(c, template, profile, batch, pool.sender, workers),
          recorded,
        ]);
        recorded = this.#recordBatch(c, results);
        recorded.catch(() => {});
      }
      await recorded;
      const left = await this.#db
        .selectFrom('awareness_recipients')
        .select('id')
        .where('campaign_id', '=', c.id)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      if (!left)
        await this.#db
          .updateTable('awareness_campaigns')
          .set({ status: 'sent', completed_at: this.deps.clock.now().toISOString() })
          .where('id', '=', c.id)
          .where('status', '=', 'sending')
          .execute();
      const after = await this.#db
        .selectFrom('awareness_campaigns')
        .select('status')
        .where('id', '=', c.id)
        .executeTakeFirst();
      finished = after?.status !== 'sending' && after?.status !== 'scheduled';
    } finally {
      await this.#release(profile.id, pool, c.id, finished);
    }
    return attempted;
  }

  /** Renders and sends a chunk through the pool, `workers` messages in flight at most. */
  async #sendBatch(
    c: CampaignRow,
    template: PhishingTemplate,
    profile: ProfileRow,
    batch: RecipientRow[],
    sender: MailSender,
    workers: number,
  ): Promise<SendResult[]> {
    const results: SendResult[] = new Array(batch.length);
    let next = 0;
    const work = async () => {
      while (next < batch.length) {
        const i = next++;
        const r = batch[i]!;
        const link = (kind: string, suffix = '') => `${c.base_url}/t/${kind}/${r.tracking_id}${suffix}`;
        let error: string | null = null;
        try {
          const message = renderTemplate(template, {
            firstName: r.first_name,
            lastName: r.last_name,
            name: `${r.first_name} ${r.last_name}`.trim(),
            email: r.email,
            position: r.position,
            department: r.department ?? '',
            trackingLink: link('c'),
            reportLink: link('r'),
            pixelUrl: link('o', '.gif'),
            from: profile.from_address,
          });
          await sender.send({ from: profile.from_address, to: r.email, ...message });
        } catch (err) {
          error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
        }
        results[i] = { recipient: r, error, at: this.deps.clock.now().toISOString() };
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, batch.length) }, work));
    return results;
  }

  /** Records a chunk's outcomes (one transaction) and publishes their events. */
  async #recordBatch(c: CampaignRow, results: SendResult[]): Promise<void> {
    if (!results.length) return;
    await this.#db.transaction().execute(async (trx) => {
      for (const { recipient: r, error, at } of results)
        await trx
          .updateTable('awareness_recipients')
          .set(
            error
              ? { status: 'error', error, modified_at: at }
              : { status: 'sent', sent_at: at, modified_at: at },
          )
          .where('id', '=', r.id)
          .execute();
      const events = results.map(({ recipient: r, error, at }) => ({
        id: newId(),
        campaign_id: c.id,
        recipient_id: r.id,
        person_id: r.person_id,
        kind: error ? ('error' as const) : ('sent' as const),
        scanner: 0,
        time: at,
        ip: null,
        user_agent: null,
        detail: error ? JSON.stringify({ error }) : null,
      }));
      for (let i = 0; i < events.length; i += 100)
        await trx
          .insertInto('awareness_phish_events')
          .values(events.slice(i, i + 100))
          .execute();
    });
    await publishAll(
      this.deps.bus,
      results.map(({ recipient: r, error }) => ({
        kind: error ? AWARENESS_EVENTS.sendFailed : AWARENESS_EVENTS.sent,
        severity: error ? ('low' as const) : ('info' as const),
        data: {
          campaignId: c.id,
          recipientId: r.id,
          personId: r.person_id,
          ...(error ? { error } : {}),
        },
      })),
      new Date(results[results.length - 1]!.at),
    );
  }
}

function toCampaign(r: CampaignRow, recipients: number): Campaign {
  return {
    id: r.id,
    name: r.name,
    templateId: r.template_id,
    landingId: r.landing_id,
    profileId: r.profile_id,
    baseUrl: r.base_url,
    scheduledAt: r.scheduled_at,
    ratePerMinute: r.rate_per_minute,
    status: r.status,
    recipients,
    createdAt: r.created_at,
    completedAt: r.completed_at,
  };
}
