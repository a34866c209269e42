/**
 * Campaigns through the pooled SMTP sender, against a real SMTP server on loopback that misbehaves
 * on purpose: connections are reused (a few for many messages) and closed when the campaign ends
 * or waits for its rate limit; a connection dropped in the middle of a message, a server that
 * never answers one message (timeout) and one that refuses a recipient each fail that recipient
 * alone, the campaign carries on, and no address receives its message twice, not even on the next
 * run. Also: nothing goes out before the scheduled time, and a profile with implicit TLS and a
 * password sends over an encrypted, authenticated session. On every database engine.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Awareness,
  awarenessMigrations,
  createAwareness,
  PhishingLibrary,
} from '../../src/awareness/index.js';
import { ManualClock } from '../../src/core/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import type { KeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { createSmtpSender } from '../../src/platform/mail/index.js';
import { testDatabases } from '../support/databases.js';

const CONTENT = path.join(import.meta.dirname, '../../content');

/** A key ring that "seals" reversibly with a marker (the real one is tested in platform/keys). */
const fakeKeys = {
  seal: (p: Buffer, aad: string) =>
    `sealed:${Buffer.from(`${aad}|${p.toString('utf8')}`).toString('base64')}`,
  open: (s: string) => Buffer.from(Buffer.from(s.slice(7), 'base64').toString('utf8').split('|')[1]!, 'utf8'),
  deriveKey: (purpose: string) => createHash('sha256').update(`test-key|${purpose}`).digest(),
} as unknown as KeyRing;

/**
 * A plain SMTP server that counts connections and DATA attempts per address. Addresses starting
 * with `drop` have their connection destroyed during DATA, `slow` never get an answer to DATA,
 * `refuse` are rejected at RCPT; everything else is accepted.
 */
async function unreliableServer() {
  const delivered: string[] = [];
  const attempts = new Map<string, number>();
  let connections = 0;
  const sockets = new Map<number, Socket>();
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disableReverseLookup: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    maxClients: 100,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('refuse')) callback(new Error('550 mailbox unavailable'));
      else callback();
    },
    onData(stream, session, callback) {
      const to = session.envelope.rcptTo.map((r) => r.address);
      for (const a of to) attempts.set(a, (attempts.get(a) ?? 0) + 1);
      stream.on('data', () => {});
      stream.on('end', () => {
        if (to.some((a) => a.startsWith('drop'))) {
          sockets.get(session.remotePort)?.destroy();
          return;
        }
        if (to.some((a) => a.startsWith('slow'))) return; // never answers
        delivered.push(...to);
        callback();
      });
    },
  });
  server.server.on('connection', (s: Socket) => {
    if (s.remotePort) sockets.set(s.remotePort, s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as AddressInfo).port,
    delivered,
    attempts,
    connections: () => connections,
    open: () => [...sockets.values()].filter((s) => !s.destroyed).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets.values()) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && !check(); )
    await new Promise((r) => setTimeout(r, 20));
}

for (const engine of testDatabases()) {
  describe(`campaigns through a pooled SMTP sender on ${engine.name}`, () => {
    let database: Database;
    let bus: MemoryBus;
    let clock: ManualClock;
    let a: Awareness;
    let smtp: Awaited<ReturnType<typeof unreliableServer>>;
    let library: PhishingLibrary;

    beforeEach(async () => {
      database = await engine.open();
      await runMigrations(database, awarenessMigrations);
      bus = new MemoryBus({ logger: silentLogger() });
      clock = new ManualClock('2026-03-02T08:00:00.000Z');
      library ??= await PhishingLibrary.load(path.join(CONTENT, 'phishing'));
      smtp = await unreliableServer();
      a = createAwareness({
        db: database.db,
        bus,
        clock,
        keys: fakeKeys,
        library,
        sending: { maxConnections: 2, maxMessagesPerConnection: 5 },
        // The real nodemailer sender, with a short timeout so a silent server fails fast.
        senderFactory: (settings) => createSmtpSender({ ...settings, timeoutMs: 1500 }),
      });
    });
    afterEach(async () => {
      await a.close();
      await smtp.close();
      await bus.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    async function campaign(emails: string[], ratePerMinute = 1000) {
      for (const email of emails)
        await a.directory.create({ name: `Person ${email}`, email, department: 'Lab' });
      const profile = await a.profiles.create({
        name: 'loopback',
        host: '127.0.0.1',
        port: smtp.port,
        security: 'none',
        fromAddress: 'IT Desk <it@hospital-support.example>',
      });
      return a.campaigns.create({
        name: 'pooled',
        templateId: 'password-expiry',
        profileId: profile.id,
        baseUrl: 'https://vigil.hospital.example',
        departments: ['Lab'],
        ratePerMinute,
      });
    }

    it('reuses a few connections for many messages and closes them when the campaign ends', async () => {
      const emails = Array.from({ length: 12 }, (_, i) => `p${i}@hospital.example`);
      const c = await campaign(emails);
      expect(await a.sendDueCampaigns()).toBe(12);
      expect([...smtp.delivered].sort()).toEqual([...emails].sort());
      // 12 messages, at most 5 per connection: at least 3 connections, far fewer than 12.
      expect(smtp.connections()).toBeGreaterThanOrEqual(3);
      expect(smtp.connections()).toBeLessThanOrEqual(6);
      expect((await a.campaigns.get(c.id)).status).toBe('sent');
      expect(a.campaigns.openSenders()).toBe(0);
      await until(() => smtp.open() === 0);
      expect(smtp.open()).toBe(0);
      expect(await a.sendDueCampaigns()).toBe(0);
      expect(smtp.delivered).toHaveLength(12);
    });

    it('honours the rate limit, keeping the sender open between minutes', async () => {
      const emails = Array.from({ length: 7 }, (_, i) => `r${i}@hospital.example`);
      const c = await campaign(emails, 3);
      expect(await a.sendDueCampaigns()).toBe(3);
      expect(await a.sendDueCampaigns()).toBe(0);
      expect(smtp.delivered).toHaveLength(3);
      expect(a.campaigns.openSenders()).toBe(1);
      clock.advance(60_000);
      expect(await a.sendDueCampaigns()).toBe(3);
      clock.advance(60_000);
      expect(await a.sendDueCampaigns()).toBe(1);
      expect((await a.campaigns.get(c.id)).status).toBe('sent');
      expect(a.campaigns.openSenders()).toBe(0);
      expect([...smtp.delivered].sort()).toEqual([...emails].sort());
    });

    it('sends nothing before the scheduled time, then goes out', async () => {
      for (const email of ['s0@hospital.example', 's1@hospital.example'])
        await a.directory.create({ name: `Person ${email}`, email, department: 'Ward 9' });
      const profile = await a.profiles.create({
        name: 'loopback',
        host: '127.0.0.1',
        port: smtp.port,
        security: 'none',
        fromAddress: 'it@hospital-support.example',
      });
      const c = await a.campaigns.create({
        name: 'later',
        templateId: 'shared-document',
        profileId: profile.id,
        baseUrl: 'https://vigil.hospital.example',
        departments: ['Ward 9'],
        scheduledAt: '2026-03-02T09:30:00.000Z',
      });
      expect(await a.sendDueCampaigns()).toBe(0);
      clock.advance(89 * 60_000);
      expect(await a.sendDueCampaigns()).toBe(0);
      expect(smtp.delivered).toHaveLength(0);
      expect((await a.campaigns.get(c.id)).status).toBe('scheduled');
      expect(a.campaigns.openSenders()).toBe(0);
      clock.advance(60_000);
      expect(await a.sendDueCampaigns()).toBe(2);
      expect([...smtp.delivered].sort()).toEqual(['s0@hospital.example', 's1@hospital.example']);
      await expect(
        a.campaigns.create({
          name: 'bad',
          templateId: 'shared-document',
          profileId: profile.id,
          baseUrl: 'https://vigil.hospital.example',
          departments: ['Ward 9'],
          scheduledAt: 'next tuesday',
        }),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(
        a.campaigns.create({
          name: 'empty',
          templateId: 'shared-document',
          profileId: profile.id,
          baseUrl: 'https://vigil.hospital.example',
          departments: ['Nowhere'],
        }),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      // A refused campaign leaves nothing behind.
      expect((await a.campaigns.list()).map((x) => x.name)).toEqual(['later']);
    });

    it('sends over implicit TLS (port 465 style) with password authentication', async () => {
      const received: Array<{ to: string[]; secure: boolean; user: unknown }> = [];
      const tlsServer = new SMTPServer({
        logger: false,
        secure: true, // smtp-server's own self-signed certificate: the profile does not verify it
        disableReverseLookup: true,
        onAuth(auth, _session, callback) {
          if (auth.username === 'campaigns' && auth.password === 'tls-pw')
            callback(null, { user: 'campaigns' });
          else callback(new Error('Invalid username or password'));
        },
        onData(stream, session, callback) {
          stream.on('data', () => {});
          stream.on('end', () => {
            received.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              secure: session.secure,
              user: session.user,
            });
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', () => resolve()));
      try {
        for (const email of ['t0@hospital.example', 't1@hospital.example', 't2@hospital.example'])
          await a.directory.create({ name: `Person ${email}`, email, department: 'Theatre' });
        const profile = await a.profiles.create({
          name: 'implicit tls',
          host: '127.0.0.1',
          port: (tlsServer.server.address() as AddressInfo).port,
          security: 'tls',
          username: 'campaigns',
          password: 'tls-pw',
          fromAddress: 'it@hospital-support.example',
          verifyTls: false,
        });
        const c = await a.campaigns.create({
          name: 'tls',
          templateId: 'shared-document',
          profileId: profile.id,
          baseUrl: 'https://vigil.hospital.example',
          departments: ['Theatre'],
        });
        expect(await a.sendDueCampaigns()).toBe(3);
        expect(received.map((r) => r.to[0]).sort()).toEqual([
          't0@hospital.example',
          't1@hospital.example',
          't2@hospital.example',
        ]);
        expect(received.every((r) => r.secure && r.user === 'campaigns')).toBe(true);
        expect((await a.campaigns.get(c.id)).status).toBe('sent');
      } finally {
        await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      }
    });

    it('a connection dropped mid-campaign fails that recipient only, and it is never resent', async () => {
      const emails = [
        ...Array.from({ length: 6 }, (_, i) => `a${i}@hospital.example`),
        'drop@hospital.example',
        ...Array.from({ length: 6 }, (_, i) => `b${i}@hospital.example`),
      ];
      const c = await campaign(emails);
      expect(await a.sendDueCampaigns()).toBe(13);
      expect(await a.sendDueCampaigns()).toBe(0);
      const others = emails.filter((e) => !e.startsWith('drop'));
      expect([...smtp.delivered].sort()).toEqual([...others].sort());
      expect(new Set(smtp.delivered).size).toBe(smtp.delivered.length);
      // The pool did not queue the dropped message again: the server saw it once.
      expect(smtp.attempts.get('drop@hospital.example')).toBe(1);
      const report = await a.reports.campaign(c.id);
      expect(report.overall).toMatchObject({ recipients: 13, sent: 12, errors: 1 });
      const timeline = await a.reports.timeline({ campaignId: c.id });
      expect(timeline.filter((e) => e.kind === 'error')).toHaveLength(1);
      expect((await a.campaigns.get(c.id)).status).toBe('sent');
      expect(a.campaigns.openSenders()).toBe(0);
    });

    it('a server that never answers one message and refuses another: both recorded, the rest sent once', async () => {
      const emails = [
        'c0@hospital.example',
        'slow@hospital.example',
        'c1@hospital.example',
        'refuse@hospital.example',
        'c2@hospital.example',
        'c3@hospital.example',
      ];
      const c = await campaign(emails);
      expect(await a.sendDueCampaigns()).toBe(6);
      expect(await a.sendDueCampaigns()).toBe(0);
      expect([...smtp.delivered].sort()).toEqual(
        ['c0', 'c1', 'c2', 'c3'].map((p) => `${p}@hospital.example`),
      );
      expect(smtp.attempts.get('slow@hospital.example')).toBe(1);
      const report = await a.reports.campaign(c.id);
      expect(report.overall).toMatchObject({ recipients: 6, sent: 4, errors: 2 });
      expect((await a.campaigns.get(c.id)).status).toBe('sent');
    }, 20_000);
  });
}
