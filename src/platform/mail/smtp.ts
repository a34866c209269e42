/**
 * @module platform/mail/smtp
 * An SMTP sender on nodemailer: implicit TLS (port 465), STARTTLS (required, never opportunistic:
 * a downgrade would expose the password) or plain (loopback relays only). Timeouts are bounded so
 * a server that hangs fails one message instead of a whole campaign.
 *
 * With `pool`, the sender keeps up to `maxConnections` connections open and sends up to
 * `maxMessages` messages on each before opening a fresh one (nodemailer's pooled transport), at
 * most `rateLimit` messages per `rateDeltaMs`. A message whose connection drops is failed, never
 * queued again by the pool: the server may have accepted it already, and a resend would deliver
 * it twice (the caller records the error and moves on).
 */
import nodemailer from 'nodemailer';
import { assertHeaderSafe, type MailSender, type OutgoingMail, type SentMail } from './sender.js';

/** How the connection is protected. */
export type SmtpSecurity = 'tls' | 'starttls' | 'none';

/** Where and how to send. */
export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  username?: string | null;
  password?: string | null;
  /** Verify the server certificate (default true; false only for a test relay). */
  verifyTls?: boolean;
  /** Milliseconds for connecting, greeting and each command (default 15 s). */
  timeoutMs?: number;
  /** Keep connections open and reuse them (absent: one connection per message). */
  pool?: SmtpPoolSettings;
}

/** A pooled transport's limits. */
export interface SmtpPoolSettings {
  /** Connections open at once (default 5). */
  maxConnections?: number;
  /** Messages sent on one connection before it is replaced (default 100). */
  maxMessages?: number;
  /** At most this many messages per `rateDeltaMs` across the pool (absent: no limit). */
  rateLimit?: number;
  /** The window of `rateLimit`, in milliseconds (default 60 000). */
  rateDeltaMs?: number;
}

function addresses(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? '')));
}

/**
 * Builds a sender for one SMTP account: pooled when `settings.pool` is given, otherwise a
 * connection is opened per message and closed after. `close` ends the pool's connections.
 */
export function createSmtpSender(settings: SmtpSettings): MailSender {
  const timeout = settings.timeoutMs ?? 15_000;
  const pool = settings.pool;
  const transport = nodemailer.createTransport({
    ...(pool
      ? {
          pool: true as const,
          maxConnections: pool.maxConnections ?? 5,
          maxMessages: pool.maxMessages ?? 100,
          // A dropped connection fails its message: a resend could deliver it twice.
          maxRequeues: 0,
          ...(pool.rateLimit ? { rateLimit: pool.rateLimit, rateDelta: pool.rateDeltaMs ?? 60_000 } : {}),
        }
      : {}),
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    ...(settings.username ? { auth: { user: settings.username, pass: settings.password ?? '' } } : {}),
    tls: { rejectUnauthorized: settings.verifyTls !== false },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    async send(mail: OutgoingMail): Promise<SentMail> {
      assertHeaderSafe(mail);
      const info = await transport.sendMail({
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
        ...(mail.headers ? { headers: mail.headers } : {}),
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      return {
        messageId: String(info.messageId ?? ''),
        accepted: addresses(info.accepted),
        rejected: addresses(info.rejected),
      };
    },
    async close() {
      transport.close();
    },
  };
}
