/**
 * @module awareness/phishing-tables
 * Phishing simulation rows: templates, sending profiles (the SMTP password only sealed with the
 * key ring), campaigns, one recipient row per person and campaign (with its unguessable tracking
 * id), the tracking events, and each person's last published risk. Nothing here can hold what a
 * person typed into a landing page: events keep only which field names were submitted.
 */
import type { Migration } from '../platform/db/index.js';

export type TemplateRow = {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string;
  /** JSON array of strings: the signs the teaching page explains. */
  signs: string;
  created_at: string;
};

export type ProfileRow = {
  id: string;
  name: string;
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  username: string | null;
  /** The password sealed with the key ring (AAD bound to the row id), or null. */
  password_sealed: string | null;
  from_address: string;
  /** 1 when the certificate must be valid (the default). */
  verify_tls: number;
  /** 1 when training reminders go out through this profile. */
  notifications: number;
  created_at: string;
};

export type CampaignStatus = 'scheduled' | 'sending' | 'sent' | 'cancelled';

export type CampaignRow = {
  id: string;
  name: string;
  template_id: string;
  landing_id: string | null;
  profile_id: string;
  base_url: string;
  scheduled_at: string;
  rate_per_minute: number;
  status: CampaignStatus;
  created_by: string | null;
  created_at: string;
  completed_at: string | null;
};

export type RecipientStatus = 'queued' | 'sending' | 'sent' | 'error';

export type RecipientRow = {
  id: string;
  campaign_id: string;
  person_id: string;
  email: string;
  first_name: string;
  last_name: string;
  position: string;
  department: string | null;
  tracking_id: string;
  status: RecipientStatus;
  sent_at: string | null;
  error: string | null;
  opened_at: string | null;
  clicked_at: string | null;
  submitted_at: string | null;
  reported_at: string | null;
  last_ip: string | null;
  modified_at: string;
};

export type PhishEventKind = 'sent' | 'error' | 'open' | 'click' | 'submit' | 'report';

export type PhishEventRow = {
  id: string;
  campaign_id: string;
  recipient_id: string;
  person_id: string;
  kind: PhishEventKind;
  /** 1 when a link scanner, not the person, caused it. */
  scanner: number;
  time: string;
  ip: string | null;
  user_agent: string | null;
  /** JSON: field names submitted, the report channel, an error message. Never typed values. */
  detail: string | null;
};

export type RiskRow = {
  person_id: string;
  score: number;
  reasons: string;
  computed_at: string;
};

export type PhishingTables = {
  awareness_templates: TemplateRow;
  awareness_profiles: ProfileRow;
  awareness_campaigns: CampaignRow;
  awareness_recipients: RecipientRow;
  awareness_phish_events: PhishEventRow;
  awareness_risk: RiskRow;
};

export const phishingMigration: Migration = {
  id: 'awareness-0003-phishing',
  async up(db) {
    await db.schema
      .createTable('awareness_templates')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('html', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('signs', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('awareness_profiles')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('port', 'integer', (c) => c.notNull())
      .addColumn('security', 'text', (c) => c.notNull())
      .addColumn('username', 'text')
      .addColumn('password_sealed', 'text')
      .addColumn('from_address', 'text', (c) => c.notNull())
      .addColumn('verify_tls', 'integer', (c) => c.notNull())
      .addColumn('notifications', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('awareness_campaigns')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('template_id', 'text', (c) => c.notNull())
      .addColumn('landing_id', 'text')
      .addColumn('profile_id', 'text', (c) => c.notNull().references('awareness_profiles.id'))
      .addColumn('base_url', 'text', (c) => c.notNull())
      .addColumn('scheduled_at', 'text', (c) => c.notNull())
      .addColumn('rate_per_minute', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .execute();
    await db.schema
      .createTable('awareness_recipients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('campaign_id', 'text', (c) =>
        c.notNull().references('awareness_campaigns.id').onDelete('cascade'),
      )
      .addColumn('person_id', 'text', (c) =>
        c.notNull().references('awareness_people.id').onDelete('cascade'),
      )
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('first_name', 'text', (c) => c.notNull())
      .addColumn('last_name', 'text', (c) => c.notNull())
      .addColumn('position', 'text', (c) => c.notNull())
      .addColumn('department', 'text')
      .addColumn('tracking_id', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text')
      .addColumn('error', 'text')
      .addColumn('opened_at', 'text')
      .addColumn('clicked_at', 'text')
      .addColumn('submitted_at', 'text')
      .addColumn('reported_at', 'text')
      .addColumn('last_ip', 'text')
      .addColumn('modified_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('awareness_recipients_campaign')
      .on('awareness_recipients')
      .columns(['campaign_id', 'status'])
      .execute();
    await db.schema
      .createIndex('awareness_recipients_person')
      .on('awareness_recipients')
      .column('person_id')
      .execute();
    await db.schema
      .createTable('awareness_phish_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('campaign_id', 'text', (c) =>
        c.notNull().references('awareness_campaigns.id').onDelete('cascade'),
      )
      .addColumn('recipient_id', 'text', (c) => c.notNull())
      .addColumn('person_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('scanner', 'integer', (c) => c.notNull())
      .addColumn('time', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('detail', 'text')
      .execute();
    await db.schema
      .createIndex('awareness_phish_events_campaign')
      .on('awareness_phish_events')
      .columns(['campaign_id', 'time'])
      .execute();
    await db.schema
      .createIndex('awareness_phish_events_person')
      .on('awareness_phish_events')
      .columns(['person_id', 'time'])
      .execute();
    await db.schema
      .createTable('awareness_risk')
      .addColumn('person_id', 'text', (c) => c.primaryKey())
      .addColumn('score', 'integer', (c) => c.notNull())
      .addColumn('reasons', 'text', (c) => c.notNull())
      .addColumn('computed_at', 'text', (c) => c.notNull())
      .execute();
  },
};
