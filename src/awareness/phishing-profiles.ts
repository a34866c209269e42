/**
 * @module awareness/phishing-profiles
 * Sending profiles: the SMTP accounts campaigns and reminders go out through. The password is
 * sealed with the key ring (bound to the profile id) and only opened in memory to send; it is
 * never returned by the API nor stored in a plaintext column.
 */
import type { Kysely } from 'kysely';
import { type Clock, newId, VigilError } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import { createSmtpSender, type MailSender, type SmtpSettings } from '../platform/mail/index.js';
import { checkEmail } from './people.js';
import type { ProfileRow } from './phishing-tables.js';
import type { AwarenessTables } from './tables.js';

/** A profile as the API shows it: whether a password is set, never the password. */
export type SendingProfile = {
  id: string;
  name: string;
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  username: string | null;
  hasPassword: boolean;
  fromAddress: string;
  verifyTls: boolean;
  notifications: boolean;
  createdAt: string;
};

/** Fields of a new profile. */
export interface NewProfile {
  name: string;
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  username?: string | null;
  password?: string | null;
  fromAddress: string;
  verifyTls?: boolean;
  notifications?: boolean;
}

/** Builds a sender from settings (nodemailer by default; tests may count connections). */
export type SenderFactory = (settings: SmtpSettings) => MailSender;

/** Limits of the pooled connections campaigns send through. */
export interface SendingLimits {
  /** SMTP connections open at once per sending profile. */
  maxConnections: number;
  /** Messages sent on one connection before it is replaced. */
  maxMessagesPerConnection: number;
}

export const DEFAULT_SENDING_LIMITS: SendingLimits = { maxConnections: 5, maxMessagesPerConnection: 100 };

function toProfile(r: ProfileRow): SendingProfile {
  return {
    id: r.id,
    name: r.name,
    host: r.host,
    port: r.port,
    security: r.security,
    username: r.username,
    hasPassword: r.password_sealed !== null,
    fromAddress: r.from_address,
    verifyTls: r.verify_tls === 1,
    notifications: r.notifications === 1,
    createdAt: r.created_at,
  };
}

const aad = (id: string) => `awareness_profiles:${id}:password`;

/** The profile store. */
export class SendingProfiles {
  readonly #db: Kysely<AwarenessTables>;
  constructor(
    private readonly deps: {
      db: AnyDb;
      keys: KeyRing;
      clock: Clock;
      senderFactory?: SenderFactory;
      sending?: SendingLimits;
    },
  ) {
    this.#db = deps.db.withTables<AwarenessTables>();
  }

  /** Creates a profile; the password is sealed before it reaches the database. */
  async create(input: NewProfile): Promise<SendingProfile> {
    const from = /<([^>]+)>\s*$/.exec(input.fromAddress)?.[1] ?? input.fromAddress;
    const problem = checkEmail(from, 'fromAddress');
    if (problem || /[\r\n]/.test(input.fromAddress))
      throw new VigilError('BAD_REQUEST', `fromAddress: ${problem?.message ?? 'invalid'}`, {
        details: { field: 'fromAddress' },
      });
    if (!/^[A-Za-z0-9.-]{1,253}$|^\[[0-9a-fA-F:.]+\]$/.test(input.host))
      throw new VigilError('BAD_REQUEST', 'host: a host name or address', { details: { field: 'host' } });
    const id = newId();
    const row: ProfileRow = {
      id,
      name: input.name,
      host: input.host,
      port: input.port,
      security: input.security,
      username: input.username ?? null,
      password_sealed: input.password
        ? this.deps.keys.seal(Buffer.from(input.password, 'utf8'), aad(id))
        : null,
      from_address: input.fromAddress,
      verify_tls: input.verifyTls === false ? 0 : 1,
      notifications: input.notifications ? 1 : 0,
      created_at: this.deps.clock.now().toISOString(),
    };
    await this.#db.insertInto('awareness_profiles').values(row).execute();
    return toProfile(row);
  }

  /** All profiles. */
  async list(): Promise<SendingProfile[]> {
    return (await this.#db.selectFrom('awareness_profiles').selectAll().orderBy('name').execute()).map(
      toProfile,
    );
  }

  /** A profile's row, or NOT_FOUND. */
  async mustGetRow(id: string): Promise<ProfileRow> {
    const row = await this.#db
      .selectFrom('awareness_profiles')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row)
      throw new VigilError('NOT_FOUND', 'No such sending profile', { details: { field: 'profileId' } });
    return row;
  }

  /** Messages a campaign keeps in flight at once: one per pooled connection. */
  poolSize(): number {
    return (this.deps.sending ?? DEFAULT_SENDING_LIMITS).maxConnections;
  }

  /**
   * Opens a sender for a profile (the password is unsealed only here): pooled for campaigns
   * (`maxConnections` connections reused for up to `maxMessagesPerConnection` messages each),
   * one connection per message otherwise. Close it when done.
   */
  senderFor(row: ProfileRow, options: { pooled?: boolean } = {}): MailSender {
    const limits = this.deps.sending ?? DEFAULT_SENDING_LIMITS;
    const settings: SmtpSettings = {
      host: row.host,
      port: row.port,
      security: row.security,
      username: row.username,
      password: row.password_sealed
        ? this.deps.keys.open(row.password_sealed, aad(row.id)).toString('utf8')
        : null,
      verifyTls: row.verify_tls === 1,
      ...(options.pooled
        ? {
            pool: {
              maxConnections: limits.maxConnections,
              maxMessages: limits.maxMessagesPerConnection,
            },
          }
        : {}),
    };
    return (this.deps.senderFactory ?? createSmtpSender)(settings);
  }

  /** The sender for training notifications: the first profile marked for them, or null. */
  async notificationMailer(): Promise<{ sender: MailSender; from: string } | null> {
    const row = await this.#db
      .selectFrom('awareness_profiles')
      .selectAll()
      .where('notifications', '=', 1)
      .orderBy('created_at')
      .executeTakeFirst();
    return row ? { sender: this.senderFor(row), from: row.from_address } : null;
  }
}
