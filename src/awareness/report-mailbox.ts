/**
 * @module awareness/report-mailbox
 * The mailbox for forwarded reports: staff forward a suspicious message to the hospital's report
 * address, and the hospital's mail server relays that address to this small inbound SMTP endpoint
 * (`smtp-server`). Each message is parsed with `mailparser`, including forwarded originals attached
 * as `message/rfc822` (nested up to three levels) and inline forwards; the tracking id of a
 * simulation is found in its links and a "reported" event is recorded for that recipient.
 *
 * With a certificate and key (`tls`), the endpoint offers STARTTLS so the relay can encrypt the
 * forwarded mail (which holds whatever staff forwarded); without them it speaks plain SMTP only and
 * does not advertise STARTTLS (never a built-in test certificate).
 *
 * Every accepted message gets the same answer, whether it held a known id, a forged one or none,
 * so the endpoint tells a prober nothing. Messages are bounded in size (refused with 552 beyond),
 * connections in number and time; nothing of a message is stored, only the event.
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Tracking } from './tracking.js';
import { findTrackingIds } from './tracking.js';

export interface ReportMailboxOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Largest message accepted, in bytes (advertised with SIZE; larger ones get 552). */
  maxBytes: number;
  /** Recipient addresses accepted (lower case); empty accepts any (the relay decides). */
  recipients?: readonly string[];
  maxClients?: number;
  /** PEM certificate (chain) and private key: STARTTLS is offered when given. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Called for each message handled (logging, tests); never sees message content. */
  onReport?: (outcome: { reported: number }) => void;
  onError?: (err: Error) => void;
}

export interface ReportMailbox {
  port: number;
  /** Whether STARTTLS is offered. */
  starttls: boolean;
  close(): Promise<void>;
}

/** Forwarded originals nested deeper than this are not opened. */
const MAX_DEPTH = 3;
/** Tracking ids tried per message (a forward of a whole thread holds a few, never hundreds). */
const MAX_IDS = 20;

/** The tracking ids in a message and in the messages forwarded inside it. */
export async function trackingIdsOfMessage(raw: Buffer | string): Promise<string[]> {
  const ids = new Set<string>();
  await collect(raw, 0, ids);
  return [...ids].slice(0, MAX_IDS);
}

async function collect(raw: Buffer | string, depth: number, ids: Set<string>): Promise<void> {
  const mail: ParsedMail = await simpleParser(raw, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
  });
  const texts = [mail.text ?? '', typeof mail.html === 'string' ? mail.html : ''];
  for (const a of mail.attachments) {
    if (a.contentType === 'message/rfc822') {
      if (depth < MAX_DEPTH) await collect(a.content, depth + 1, ids);
    } else if (/^text\//.test(a.contentType)) texts.push(a.content.toString('utf8'));
  }
  for (const t of texts) for (const id of findTrackingIds(t)) ids.add(id);
}

/**
 * Records a report for each known tracking id in a message; unknown ids and unreadable messages
 * change nothing. Returns how many reports were recorded (database errors are thrown).
 */
export async function ingestForwardedReport(tracking: Tracking, raw: Buffer | string): Promise<number> {
  const ids = await trackingIdsOfMessage(raw).catch(() => [] as string[]);
  let reported = 0;
  for (const id of ids) {
    const r = await tracking.record('report', id, { userAgent: 'report-mailbox' }, { via: 'mailbox' });
    if (r.known) reported++;
  }
  return reported;
}

/** Starts the inbound SMTP endpoint of the report mailbox. */
export async function startReportMailbox(
  tracking: Tracking,
  options: ReportMailboxOptions,
): Promise<ReportMailbox> {
  const recipients = new Set((options.recipients ?? []).map((r) => r.toLowerCase()));
  const server = new SMTPServer({
    logger: false,
    banner: 'Vigil report mailbox',
    size: options.maxBytes,
    authOptional: true,
    // No reverse DNS of each client: slow, and nothing here uses the name.
    disableReverseLookup: true,
    // A relay inside the hospital delivers here (no AUTH); STARTTLS only with a real certificate.
    disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(options.tls ? { secure: false, cert: options.tls.cert, key: options.tls.key } : {}),
    maxClients: options.maxClients ?? 20,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onRcptTo(address, _session, callback) {
      if (recipients.size && !recipients.has(address.address.toLowerCase()))
        return callback(Object.assign(new Error('No such mailbox here'), { responseCode: 550 }));
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes <= options.maxBytes) chunks.push(c);
      });
      stream.on('end', () => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded || bytes > options.maxBytes)
          return callback(Object.assign(new Error('Message too large'), { responseCode: 552 }));
        ingestForwardedReport(tracking, Buffer.concat(chunks))
          .then((reported) => {
            options.onReport?.({ reported });
            callback(null, 'Report received, thank you');
          })
          .catch((err: Error) => {
            options.onError?.(err);
            // A temporary failure: the relay keeps the message and tries again.
            callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
          });
      });
    },
  });
  server.on('error', (err) => options.onError?.(err));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    starttls: Boolean(options.tls),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
