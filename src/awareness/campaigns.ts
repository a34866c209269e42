/**
 * @module awareness/campaigns
 * Phishing campaigns: a template sent to departments and/or people through a sending profile,
 * from a scheduled time, at most `ratePerMinute` messages per minute since the start (so a
 * hospital's mail gateway is not flooded). Recipients are fixed when the campaign is created, each
 * with a 256-bit random tracking id. A recipient is claimed (`queued` → `sending`) before its
 * message goes out and is never claimed again, so nothing is sent twice even if a worker dies; an
 * SMTP error is recorded on that recipient and the campaign carries on.
 */
import type { Kysely } from 'kysely';
import { type Clock, newId, randomToken, VigilError } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { AnyDb } from '../platform/db/index.js';
import { AWARENESS_EVENTS, publishAll } from './events.js';
import type { LandingPage, PhishingLibrary, PhishingTemplate } from './phishing-library.js';
import type { SendingProfiles } from './phishing-profiles.js';
import { checkTemplate, renderTemplate, splitName } from './phishing-render.js';
import type { CampaignRow, RecipientRow } from './phishing-tables.js';
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

/** A tracking id: 32 random bytes (256 bits), base64url. */
export const TRACKING_ID = /^[A-Za-z0-9_-]{43}$/;

function bad(field: string, message: string): VigilError {
  return new VigilError('BAD_REQUEST', `${field}: ${message}`, { details: { field } });
}

/** The campaign store and sender. */
export class Campaigns {
  readonly #db: Kysely<AwarenessTables>;
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
    const people = new Map<
      string,
      { id: string; name: string; email: string; job_role: string | null; department: string | null }
    >();
    const select = () =>
      this.#db
        .selectFrom('awareness_people')
        .select(['id', 'name', 'email', 'job_role', 'department'])
        .where('status', '=', 'active');
    if (input.departments?.length)
      for (const p of await select().where('department', 'in', input.departments).execute())
        people.set(p.id, p);
    if (input.personIds?.length)
      for (const p of await select().where('id', 'in', input.personIds).execute()) people.set(p.id, p);
    if (!people.size) throw bad('departments', 'the groups hold no active person');
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
    const recipients: RecipientRow[] = [...people.values()].map((p) => ({
      id: newId(),
      campaign_id: id,
      person_id: p.id,
      email: p.email,
      first_name: splitName(p.name).firstName,
      last_name: splitName(p.name).lastName,
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
    }));
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto('awareness_campaigns').values(campaign).execute();
      for (let i = 0; i < recipients.length; i += 200)
        await trx
          .insertInto('awareness_recipients')
          .values(recipients.slice(i, i + 200))
          .execute();
    });
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
    const allowance = c.rate_per_minute * (minutes + 1) - Number(done.n);
    if (allowance <= 0) return 0;
    const queued = await this.#db
      .selectFrom('awareness_recipients')
      .selectAll()
      .where('campaign_id', '=', c.id)
      .where('status', '=', 'queued')
      .orderBy('id')
      .limit(allowance)
      .execute();
    const sender = this.deps.profiles.senderFor(profile);
    let attempted = 0;
    try {
      for (const r of queued) {
        const claimed = await this.#db
          .updateTable('awareness_recipients')
          .set({ status: 'sending' })
          .where('id', '=', r.id)
          .where('status', '=', 'queued')
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) continue;
        const cancelled = await this.#db
          .selectFrom('awareness_campaigns')
          .select('status')
          .where('id', '=', c.id)
          .executeTakeFirst();
        if (cancelled?.status === 'cancelled') {
          await this.#db
            .updateTable('awareness_recipients')
            .set({ status: 'queued' })
            .where('id', '=', r.id)
            .execute();
          break;
        }
        attempted++;
        const link = (kind: string, suffix = '') => `${c.base_url}/t/${kind}/${r.tracking_id}${suffix}`;
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
        const at = this.deps.clock.now().toISOString();
        let error: string | null = null;
        try {
          await sender.send({ from: profile.from_address, to: r.email, ...message });
        } catch (err) {
          error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
        }
        await this.#db
          .updateTable('awareness_recipients')
          .set(
            error
              ? { status: 'error', error, modified_at: at }
              : { status: 'sent', sent_at: at, modified_at: at },
          )
          .where('id', '=', r.id)
          .execute();
        await this.#db
          .insertInto('awareness_phish_events')
          .values({
            id: newId(),
            campaign_id: c.id,
            recipient_id: r.id,
            person_id: r.person_id,
            kind: error ? 'error' : 'sent',
            scanner: 0,
            time: at,
            ip: null,
            user_agent: null,
            detail: error ? JSON.stringify({ error }) : null,
          })
          .execute();
        await publishAll(
          this.deps.bus,
          [
            {
              kind: error ? AWARENESS_EVENTS.sendFailed : AWARENESS_EVENTS.sent,
              severity: error ? 'low' : 'info',
              data: {
                campaignId: c.id,
                recipientId: r.id,
                personId: r.person_id,
                ...(error ? { error } : {}),
              },
            },
          ],
          new Date(at),
        );
      }
    } finally {
      await sender.close();
    }
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
    return attempted;
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
