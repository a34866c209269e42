/**
 * @module platform/mail
 * A small mail sender: the one place Vigil speaks SMTP (through nodemailer), so domains describe
 * messages and never build MIME or headers themselves. Nodemailer encodes every header value, and
 * {@link assertHeaderSafe} refuses control characters before they reach it, so no caller can
 * split a header with a line break.
 */
export {
  assertHeaderSafe,
  type MailSender,
  MemoryMailSender,
  type OutgoingMail,
  type SentMail,
} from './sender.js';
export { createSmtpSender, type SmtpSecurity, type SmtpSettings } from './smtp.js';
