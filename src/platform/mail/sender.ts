/**
 * @module platform/mail/sender
 * The sender interface domains depend on, and an in-memory sender for tests and dry runs.
 */

/** One message to send: plain values, never raw headers. */
export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers (names `X-…` only), e.g. a campaign id for mail filters. */
  headers?: Record<string, string>;
}

/** What the server answered. */
export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** Sends mail; one instance per SMTP account. */
export interface MailSender {
  send(mail: OutgoingMail): Promise<SentMail>;
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

/**
 * Throws when a header value holds a control character (CR, LF, NUL…): a line break in a header
 * would let data start a new header (`Bcc:`) or the body. Callers clean person data first; this is
 * the last line of defence.
 */
export function assertHeaderSafe(mail: OutgoingMail): void {
  const values: Array<[string, string]> = [
    ['from', mail.from],
    ['to', mail.to],
    ['subject', mail.subject],
    ...Object.entries(mail.headers ?? {}),
  ];
  for (const [name, value] of values) {
    if (CONTROL.test(value)) throw new Error(`mail header ${name} contains a control character`);
  }
  for (const name of Object.keys(mail.headers ?? {})) {
    if (!/^X-[A-Za-z0-9-]{1,60}$/.test(name)) throw new Error(`mail header name ${name} is not allowed`);
  }
}

/** Keeps messages in memory (tests, and a dry run that sends nothing). */
export class MemoryMailSender implements MailSender {
  readonly sent: OutgoingMail[] = [];
  /** When set, `send` rejects with this error (an SMTP server that refuses). */
  failWith: Error | null = null;

  async send(mail: OutgoingMail): Promise<SentMail> {
    assertHeaderSafe(mail);
    if (this.failWith) throw this.failWith;
    this.sent.push(mail);
    return { messageId: `<${this.sent.length}@memory>`, accepted: [mail.to], rejected: [] };
  }

  async close(): Promise<void> {}
}
