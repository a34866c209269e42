/**
 * A real SMTP server on loopback (nodemailer's smtp-server) for tests: STARTTLS with its built-in
 * self-signed certificate, password authentication, and a list of every message it received with
 * its envelope. Addresses starting with `refuse` are rejected at RCPT, like a real server would.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: string;
  secure: boolean;
}

export interface SmtpSink {
  port: number;
  messages: ReceivedMessage[];
  close(): Promise<void>;
}

export async function startSmtpSink(user = 'vigil', pass = 'smtp-secret-pw'): Promise<SmtpSink> {
  const messages: ReceivedMessage[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: [],
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === pass) callback(null, { user });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('refuse')) callback(new Error('550 mailbox unavailable'));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Splits a raw message into its header lines (unfolded) and decodes its quoted-printable text. */
export function parseMessage(raw: string): {
  headers: string[];
  header(name: string): string[];
  decoded: string;
} {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, end).replace(/\r\n[ \t]+/g, ' ');
  const headers = head.split('\r\n');
  const decoded = raw
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return {
    headers,
    header: (name) =>
      headers
        .filter((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`))
        .map((h) => h.slice(name.length + 1).trim()),
    decoded: Buffer.from(decoded, 'latin1').toString('utf8'),
  };
}
