/**
 * The report mailbox with STARTTLS: a self-signed certificate is made with `openssl req -x509` for
 * the test (node:crypto cannot make certificates), the server is started with
 * awareness.reportMailbox.tlsCertFile and tlsKeyFile, and a forwarded simulation is delivered by
 * nodemailer with `requireTLS` (and the certificate as its only trusted CA), so it fails unless the
 * session was upgraded. Without a certificate STARTTLS is not offered, such a client is refused,
 * and the log says STARTTLS is off. A certificate file that cannot be read stops the start with
 * the setting's name. Skipped, with the reason, when openssl is not installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/platform/config/index.js';
import { createLogger } from '../../src/platform/log/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { freePort } from '../support/processes.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

const OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const HAVE_OPENSSL = OPENSSL.status === 0;
if (!HAVE_OPENSSL)
  console.warn(
    'report-mailbox-tls.test: skipped, openssl is not installed (needed to make a test certificate)',
  );

const REPORT_ADDRESS = 'report-phish@hospital.example';

describe.skipIf(!HAVE_OPENSSL)('report mailbox with STARTTLS (openssl-made certificate)', () => {
  const dirs: string[] = [];
  let certDir: string;
  let cert: string;
  let key: string;
  let sink: SmtpSink;

  const dataDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'vigil-mailbox-tls-'));
    dirs.push(d);
    return d;
  };

  /** A started server with its log lines. */
  async function start(
    reportMailbox: Record<string, unknown>,
  ): Promise<{ server: RunningServer; logs: () => string }> {
    let logs = '';
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _enc, done) {
          logs += String(chunk);
          done();
        },
      }),
    });
    const server = await startServer(
      validateConfig({
        dataDir: dataDir(),
        server: { host: '127.0.0.1', port: 0 },
        awareness: { reportMailbox: { enabled: true, recipients: [REPORT_ADDRESS], ...reportMailbox } },
      }),
      logger,
    );
    return { server, logs: () => logs };
  }

  /** Sends a 3-person campaign through the sink and returns the campaign id and Alice's raw copy. */
  async function campaign(server: RunningServer): Promise<{ id: string; original: string }> {
    const a = server.services.awareness;
    for (const who of ['alice', 'bob', 'carol'])
      await a.directory.create({
        name: `${who} Example`,
        email: `${who}@hospital.example`,
        department: 'Lab',
      });
    const profile = await a.profiles.create({
      name: 'loopback',
      host: '127.0.0.1',
      port: sink.port,
      security: 'starttls',
      username: 'vigil',
      password: 'smtp-secret-pw',
      fromAddress: 'IT Desk <it@hospital-support.example>',
      verifyTls: false,
    });
    const before = sink.messages.length;
    const c = await a.campaigns.create({
      name: 'tls report test',
      templateId: 'password-expiry',
      profileId: profile.id,
      baseUrl: 'https://vigil.hospital.example/',
      departments: ['Lab'],
    });
    expect(await a.sendDueCampaigns()).toBe(3);
    const original = sink.messages.slice(before).find((m) => m.to[0] === 'alice@hospital.example')!.raw;
    return { id: c.id, original };
  }

  const forward = (port: number, original: string, options: Record<string, unknown>) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ...options }).sendMail({
      from: 'alice@hospital.example',
      to: REPORT_ADDRESS,
      subject: 'FW: Your password expires today',
      text: 'This looks like phishing.',
      attachments: [{ filename: 'original.eml', content: original, contentType: 'message/rfc822' }],
    });

  beforeAll(async () => {
    certDir = mkdtempSync(path.join(tmpdir(), 'vigil-mailbox-cert-'));
    dirs.push(certDir);
    cert = path.join(certDir, 'cert.pem');
    key = path.join(certDir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=reports.hospital.example',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('accepts a forwarded report over STARTTLS from a client that requires it', async () => {
    const port = await freePort();
    const { server, logs } = await start({ port, tlsCertFile: cert, tlsKeyFile: key });
    try {
      expect(logs()).toMatch(/report mailbox listening \(STARTTLS on\)/);
      const { id, original } = await campaign(server);
      const info = await forward(port, original, {
        requireTLS: true,
        // The test certificate is the only trusted CA: the session is verified, not just encrypted.
        tls: { ca: readFileSync(cert), servername: 'localhost' },
      });
      expect(info.response).toMatch(/^250 .*Report received/);
      const report = await server.services.awareness.reports.campaign(id);
      expect(report.overall.reported).toBe(1);
      const timeline = await server.services.awareness.reports.timeline({ campaignId: id });
      expect(timeline.filter((e) => e.kind === 'report')).toHaveLength(1);
      // A client that does not trust this certificate gets no session (no silent downgrade).
      await expect(forward(port, original, { requireTLS: true })).rejects.toThrow(/certificate/i);
      expect((await server.services.awareness.reports.campaign(id)).overall.reported).toBe(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('without a certificate, does not offer STARTTLS and says so in the log', async () => {
    const port = await freePort();
    const { server, logs } = await start({ port });
    try {
      expect(logs()).toMatch(/STARTTLS off/);
      expect(logs()).toContain('awareness.reportMailbox.tlsCertFile');
      const { id, original } = await campaign(server);
      await expect(forward(port, original, { requireTLS: true })).rejects.toThrow(/STARTTLS/i);
      expect((await server.services.awareness.reports.campaign(id)).overall.reported).toBe(0);
      // Plain SMTP still works for a relay on the same host.
      const info = await forward(port, original, { ignoreTLS: true });
      expect(info.response).toMatch(/^250 /);
      expect((await server.services.awareness.reports.campaign(id)).overall.reported).toBe(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('refuses a certificate without its key, and a file that cannot be read, naming the setting', async () => {
    expect(() =>
      validateConfig({ awareness: { reportMailbox: { enabled: true, tlsCertFile: cert } } }),
    ).toThrow(/tlsCertFile and tlsKeyFile: set both or neither/);
    await expect(
      start({ port: await freePort(), tlsCertFile: path.join(certDir, 'missing.pem'), tlsKeyFile: key }),
    ).rejects.toThrow(/awareness\.reportMailbox\.tlsCertFile/);
    // A key that is not a key: the start stops, naming the settings.
    await expect(start({ port: await freePort(), tlsCertFile: cert, tlsKeyFile: cert })).rejects.toThrow(
      /tlsCertFile and tlsKeyFile/,
    );
  }, 60_000);
});
