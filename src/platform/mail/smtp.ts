/**
 * @module platform/mail/smtp
 * An SMTP sender on nodemailer: implicit TLS (port 465), STARTTLS (required, never opportunistic:
 * a downgrade would expose the password) or plain (loopback relays only). Timeouts are bounded so
 * a server that hangs fails one message instead of a whole campaign.
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
}

function addresses(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? '')));
}

/** Builds a sender for one SMTP account; connections are opened per message and closed after. */
export function createSmtpSender(settings: SmtpSettings): MailSender {
  const timeout = settings.timeoutMs ?? 15_000;
  const transport = nodemailer.createTransport({
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
