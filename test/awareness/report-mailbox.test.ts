/**
 * The report mailbox over real SMTP: a campaign is sent to a sink, then staff forward their copy
 * to Vigil's inbound SMTP endpoint with nodemailer, once as an attached message/rfc822 and once
 * inline (quoted-printable HTML). Both become "reported"; a forged id and a message with no id get
 * the same SMTP answer and change nothing; an oversized message is refused with 552.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReportMailbox, startReportMailbox, trackingIdsOfMessage } from '../../src/awareness/index.js';
import { ManualClock } from '../../src/core/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { createServices, type Services } from '../../src/server/index.js';
import { parseMessage, type SmtpSink, startSmtpSink } from './smtp-sink.js';

describe('report mailbox over SMTP', () => {
  let dataDir: string;
  let services: Services;
  let sink: SmtpSink;
  let mailbox: ReportMailbox;
  let campaignId = '';
  const outcomes: number[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-mailbox-'));
    const clock = new ManualClock('2026-03-02T08:00:00.000Z');
    services = await createServices(validateConfig({ dataDir }), silentLogger(), { clock });
    sink = await startSmtpSink();
    for (const key of ['alice', 'bob', 'carol'])
      await services.awareness.directory.create({
        name: `${key} Example`,
        email: `${key}@hospital.example`,
        department: 'Lab',
      });
    const profile = await services.awareness.profiles.create({
      name: 'loopback',
      host: '127.0.0.1',
      port: sink.port,
      security: 'starttls',
      username: 'vigil',
      password: 'smtp-secret-pw',
      fromAddress: 'IT Desk <it@hospital-support.example>',
      verifyTls: false,
    });
    campaignId = (
      await services.awareness.campaigns.create({
        name: 'report test',
        templateId: 'password-expiry',
        profileId: profile.id,
        baseUrl: 'https://vigil.hospital.example/',
        departments: ['Lab'],
        ratePerMinute: 100,
      })
    ).id;
    expect(await services.awareness.sendDueCampaigns()).toBe(3);
    clock.advance(120_000);
    mailbox = await startReportMailbox(services.awareness.tracking, {
      host: '127.0.0.1',
      port: 0,
      maxBytes: 256 * 1024,
      recipients: ['report-phish@hospital.example'],
      onReport: (o) => outcomes.push(o.reported),
    });
  });
  afterAll(async () => {
    await mailbox.close();
    await sink.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const transport = () =>
    nodemailer.createTransport({ host: '127.0.0.1', port: mailbox.port, secure: false, ignoreTLS: true });
  const original = (who: string) => sink.messages.find((m) => m.to[0] === `${who}@hospital.example`)!.raw;
  const reported = async () => (await services.awareness.reports.campaign(campaignId)).overall.reported;

  it('records a report forwarded as an attached message/rfc822', async () => {
    const info = await transport().sendMail({
      from: 'alice@hospital.example',
      to: 'report-phish@hospital.example',
      subject: 'FW: Your password expires today',
      text: 'This looks like phishing.',
      attachments: [{ filename: 'original.eml', content: original('alice'), contentType: 'message/rfc822' }],
    });
    expect(info.response).toMatch(/^250 .*Report received/);
    expect(await reported()).toBe(1);
    expect(outcomes).toEqual([1]);
  });

  it('records a report forwarded inline (the HTML body with its links)', async () => {
    const decoded = parseMessage(original('bob')).decoded;
    const html = decoded.slice(decoded.indexOf('<'), decoded.lastIndexOf('>') + 1);
    const info = await transport().sendMail({
      from: 'bob@hospital.example',
      to: 'report-phish@hospital.example',
      subject: 'Fwd: Your password expires today',
      html: `<p>Suspicious?</p><blockquote>---------- Forwarded message ---------<br>${html}</blockquote>`,
    });
    expect(info.response).toMatch(/^250 /);
    expect(await reported()).toBe(2);
    const timeline = await services.awareness.reports.timeline({ campaignId });
    expect(timeline.filter((e) => e.kind === 'report').every((e) => e.userAgent === 'report-mailbox')).toBe(
      true,
    );
  });

  it('answers forged, missing and repeated ids the same, changing nothing', async () => {
    const forged = 'A'.repeat(43);
    const answers = [];
    for (const text of [
      `see https://vigil.hospital.example/t/c/${forged}`,
      'no link at all',
      `<<>>\u0000 /t/r/${'-'.repeat(43)} /t/c/short`,
    ]) {
      answers.push(
        (
          await transport().sendMail({
            from: 'x@evil.example',
            to: 'report-phish@hospital.example',
            subject: 'x',
            text,
          })
        ).response,
      );
    }
    expect(new Set(answers.map((a) => a.replace(/[0-9a-f-]{20,}/gi, '')))).toHaveProperty('size', 1);
    expect(await reported()).toBe(2);
    expect(outcomes.slice(2)).toEqual([0, 0, 0]);
    expect(await trackingIdsOfMessage('not a mail\r\n\r\n')).toEqual([]);
  });

  it('refuses other recipients and oversized messages', async () => {
    await expect(
      transport().sendMail({ from: 'a@b.example', to: 'ceo@hospital.example', subject: 'x', text: 'x' }),
    ).rejects.toThrow(/550|No such mailbox/);
    await expect(
      transport().sendMail({
        from: 'carol@hospital.example',
        to: 'report-phish@hospital.example',
        subject: 'big',
        text: 'x'.repeat(400 * 1024),
        attachments: [{ filename: 'o.eml', content: original('carol'), contentType: 'message/rfc822' }],
      }),
    ).rejects.toThrow(/552|too large|size/i);
    expect(await reported()).toBe(2);
  });
});
