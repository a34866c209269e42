/**
 * A phishing campaign end to end: sent through a real SMTP server on loopback (STARTTLS, password
 * auth), the received messages parsed (no injected header, escaped person data, per-recipient
 * tracking link and pixel), then opens, clicks, a landing form with a password, and reports driven
 * through the HTTP routes. Checks the results, the GoPhish CSV, the timeline, the just-in-time
 * training, the risk, the bus events, and that the typed password is in no table and no log line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOPHISH_COLUMNS } from '../../src/awareness/index.js';
import { ManualClock, newId, type VigilEvent } from '../../src/core/index.js';
import type { Subscription } from '../../src/platform/bus/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { createLogger } from '../../src/platform/log/index.js';
import { buildApp, createServices, type Services } from '../../src/server/index.js';
import { parseMessage, type SmtpSink, startSmtpSink } from './smtp-sink.js';

const PASSWORD_TYPED = 'Typed-Pa55word-must-vanish';
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36';
const HOSTILE_NAME = `"><script>alert('x')</script>\r\nBcc: attacker@evil.example`;

describe('phishing campaign through a real SMTP server', () => {
  let dataDir: string;
  let services: Services;
  let app: FastifyInstance;
  let sink: SmtpSink;
  let clock: ManualClock;
  let logs = '';
  let sub: Subscription;
  const events: VigilEvent[] = [];
  const people: Record<string, string> = {};
  let campaignId = '';
  const links = new Map<string, { click: string; pixel: string; report: string; id: string }>();

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-phish-'));
    clock = new ManualClock('2026-03-02T08:00:00.000Z');
    const logger = createLogger({
      level: 'trace',
      destination: new Writable({
        write(chunk, _enc, done) {
          logs += String(chunk);
          done();
        },
      }),
    });
    services = await createServices(validateConfig({ dataDir }), logger, { clock });
    sub = await services.bus.subscribe({
      group: 'test',
      subjects: ['vigil.awareness.>'],
      handler: async (batch) => {
        events.push(...batch);
      },
    });
    app = await buildApp(services);
    await app.ready();
    sink = await startSmtpSink();
    const d = services.awareness.directory;
    for (const [key, name] of [
      ['alice', 'Alice Martin'],
      ['bob', 'Bob Chen'],
      ['carol', 'Carol Diaz'],
      ['dan', 'Dan Okoro'],
    ] as const) {
      people[key] = (
        await d.create({ name, email: `${key}@hospital.example`, department: 'Emergency', jobRole: 'Nurse' })
      ).id;
    }
    // A row synced from elsewhere, bypassing the directory's checks: defence in depth.
    people.eve = newId();
    await services.database.db
      .withTables<{ awareness_people: Record<string, string | null> }>()
      .insertInto('awareness_people')
      .values({
        id: people.eve,
        name: HOSTILE_NAME,
        email: 'eve@hospital.example',
        email_key: 'eve@hospital.example',
        department: 'Emergency',
        job_role: '<b>Nurse</b>',
        manager_id: null,
        status: 'active',
        start_date: null,
        console_user_id: null,
        created_at: clock.now().toISOString(),
        updated_at: clock.now().toISOString(),
      })
      .execute();
  });
  afterAll(async () => {
    await sink.close();
    await app.close();
    await sub.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function settle() {
    for (let i = 0; i < 200 && services.bus.stats().queued > 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 10));
  }

  it('sends one message per recipient over STARTTLS, with nothing injectable', async () => {
    const profile = await services.awareness.profiles.create({
      name: 'loopback',
      host: '127.0.0.1',
      port: sink.port,
      security: 'starttls',
      username: 'vigil',
      password: 'smtp-secret-pw',
      fromAddress: 'IT Service Desk <it-desk@hospital-support.example>',
      verifyTls: false,
      notifications: true,
    });
    const campaign = await services.awareness.campaigns.create({
      name: 'March password expiry',
      templateId: 'password-expiry',
      profileId: profile.id,
      baseUrl: 'https://vigil.hospital.example/',
      departments: ['Emergency'],
      ratePerMinute: 100,
    });
    campaignId = campaign.id;
    expect(campaign.landingId).toBe('password-expiry');
    expect(await services.awareness.sendDueCampaigns()).toBe(5);
    expect(await services.awareness.sendDueCampaigns()).toBe(0);
    expect(sink.messages).toHaveLength(5);
    const ids = new Set<string>();
    for (const m of sink.messages) {
      expect(m.secure).toBe(true);
      expect(m.to).toHaveLength(1);
      const parsed = parseMessage(m.raw);
      expect(parsed.header('to')).toEqual([m.to[0]]);
      expect(parsed.header('bcc')).toEqual([]);
      expect(parsed.header('subject')).toHaveLength(1);
      const click = /https:\/\/vigil\.hospital\.example\/t\/c\/([A-Za-z0-9_-]{43})/.exec(parsed.decoded);
      const pixel = /<img src="(https:\/\/vigil\.hospital\.example\/t\/o\/([A-Za-z0-9_-]{43})\.gif)"/.exec(
        parsed.decoded,
      );
      const report = /https:\/\/vigil\.hospital\.example\/t\/r\/([A-Za-z0-9_-]{43})/.exec(parsed.decoded);
      expect(click && pixel && report).toBeTruthy();
      expect(pixel![2]).toBe(click![1]);
      expect(report![1]).toBe(click![1]);
      ids.add(click![1]!);
      const key = m.to[0]!.split('@')[0]!;
      links.set(key, {
        click: `/t/c/${click![1]}`,
        pixel: `/t/o/${click![1]}.gif`,
        report: `/t/r/${click![1]}`,
        id: click![1]!,
      });
      // Markup only matters in the HTML part; the text part shows person data as plain text.
      const html = parsed.decoded.slice(parsed.decoded.indexOf('Content-Type: text/html'));
      expect(html).toContain('<p>Hello ');
      expect(html).not.toContain('<script>');
    }
    expect(ids.size).toBe(5);
    const eve = parseMessage(sink.messages.find((m) => m.to[0] === 'eve@hospital.example')!.raw);
    expect(eve.decoded).toContain('Hello &quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;,');
    expect(eve.header('subject')[0]).not.toContain('\n');
    expect(eve.headers.some((h) => /^bcc:/i.test(h))).toBe(false);
  });

  it('records opens, clicks, a landing submission and reports through the HTTP routes', async () => {
    clock.advance(60_000);
    const get = (url: string, ua = BROWSER) =>
      app.inject({ method: 'GET', url, headers: { 'user-agent': ua } });
    const alice = links.get('alice')!;
    const pixel = await get(alice.pixel);
    expect(pixel.statusCode).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    const click = await get(alice.click);
    expect(click.statusCode).toBe(302);
    expect(click.headers.location).toBe(`/t/l/${alice.id}`);
    const landing = await get(`/t/l/${alice.id}`);
    expect(landing.statusCode).toBe(200);
    expect(landing.body).toContain('type="password"');
    const submit = await app.inject({
      method: 'POST',
      url: `/t/l/${alice.id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': BROWSER },
      payload: new URLSearchParams({ username: 'alice', password: PASSWORD_TYPED }).toString(),
    });
    expect(submit.statusCode).toBe(200);
    expect(submit.body).toContain('This was a phishing simulation');
    expect(submit.body).toContain('Urgency');
    // Bob's gateway scanner follows the link before anyone opens it: not Bob's click.
    expect(
      (await get(links.get('bob')!.click, 'Mozilla/5.0 (compatible; Barracuda Sentinel)')).statusCode,
    ).toBe(302);
    // Carol reports with the link; Dan forwards the message to the report mailbox.
    expect((await get(links.get('carol')!.report)).body).toContain('Thank you for reporting');
    const danRaw = sink.messages.find((m) => m.to[0] === 'dan@hospital.example')!.raw;
    const forwarded = `From: dan@hospital.example\r\nSubject: Fwd: suspicious\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(
      danRaw,
    )
      .toString('base64')
      .replace(/(.{76})/g, '$1\r\n')}\r\n`;
    expect(await services.awareness.ingestReportedMessage(forwarded)).toMatchObject({ reported: true });
    await settle();

    const report = await services.awareness.reports.campaign(campaignId);
    expect(report.overall).toMatchObject({
      recipients: 5,
      sent: 5,
      opened: 1,
      clicked: 1,
      submitted: 1,
      reported: 2,
      clickRate: 20,
      submitRate: 20,
      reportRate: 40,
    });
    expect(report.overall.medianSecondsToReport).toBe(60);
    const timeline = await services.awareness.reports.timeline({ campaignId });
    const bobClick = timeline.find((e) => e.kind === 'click' && e.personId === people.bob);
    expect(bobClick).toMatchObject({ scanner: true });
    expect(timeline.find((e) => e.kind === 'submit')).toMatchObject({
      personId: people.alice,
      userAgent: BROWSER,
      ip: '127.0.0.1',
    });
    const kinds = new Set(events.map((e) => e.kind));
    for (const k of ['sent', 'opened', 'clicked', 'submitted', 'reported'])
      expect(kinds).toContain(`awareness.phishing.${k}`);
    expect(kinds).toContain('awareness.risk.changed');
    expect(kinds).toContain('awareness.training.assigned');
  });

  it('assigns the phishing course to the person who clicked and raises their risk', async () => {
    const enrolments = await services.awareness.training.enrolmentsOf([people.alice!]);
    expect(enrolments).toEqual([
      expect.objectContaining({ courseId: 'phishing-and-social-engineering', status: 'assigned' }),
    ]);
    expect(await services.awareness.training.enrolmentsOf([people.bob!])).toEqual([]);
    const alice = await services.awareness.risk.recompute(people.alice!);
    expect(alice.score).toBe(45);
    expect(alice.reasons.map((r) => r.code)).toEqual(['phishing-submit']);
    expect((await services.awareness.risk.recompute(people.carol!)).score).toBe(0);
  });

  it('exports the results in GoPhish layout', async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/awareness/phishing/campaigns/${campaignId}/results.csv`,
    });
    expect(res.statusCode).toBe(401);
    const csv = await services.awareness.reports.gophishCsv(campaignId);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(GOPHISH_COLUMNS.join(','));
    expect(lines[0]).toBe(
      'id,status,ip,latitude,longitude,send_date,reported,modified_date,email,first_name,last_name,position',
    );
    const alice = lines.find((l) => l.includes('alice@hospital.example'))!.split(',');
    expect(alice[1]).toBe('Submitted Data');
    expect(alice[2]).toBe('127.0.0.1');
    expect(lines.find((l) => l.includes('carol@'))!.split(',')[6]).toBe('true');
    expect(lines.find((l) => l.includes('bob@'))!.split(',')[1]).toBe('Email Sent');
    expect(csv).not.toContain(links.get('alice')!.id);
  });

  it('answers unknown and forged ids the same way, without 500', async () => {
    const known = links.get('carol')!;
    const forged = 'A'.repeat(43);
    for (const [a, b] of [
      [known.pixel, `/t/o/${forged}.gif`],
      [known.report, `/t/r/${forged}`],
    ] as const) {
      const x = await app.inject({ method: 'GET', url: a, headers: { 'user-agent': BROWSER } });
      const y = await app.inject({ method: 'GET', url: b, headers: { 'user-agent': BROWSER } });
      expect(y.statusCode).toBe(x.statusCode);
      expect(y.body).toBe(x.body);
    }
    const c = await app.inject({ method: 'GET', url: `/t/c/${forged}` });
    expect(c.statusCode).toBe(302);
    for (const url of [
      `/t/l/${forged}`,
      '/t/l/%00%ff',
      `/t/o/${'x'.repeat(150)}.gif`,
      "/t/c/'%3Cscript%3E",
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBeLessThan(500);
      expect(res.body).not.toContain('<script>');
    }
    const post = await app.inject({
      method: 'POST',
      url: `/t/l/${forged}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `password=${PASSWORD_TYPED}`,
    });
    expect(post.statusCode).toBe(404);
  });

  it('stores the typed password nowhere: no table, no log line; the SMTP password only sealed', async () => {
    const db = services.database.db;
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
      db,
    );
    let dump = '';
    for (const { name } of tables.rows)
      dump += JSON.stringify((await sql`select * from ${sql.table(name)}`.execute(db)).rows);
    expect(dump).toContain('alice@hospital.example');
    expect(dump).not.toContain(PASSWORD_TYPED);
    expect(dump).not.toContain('smtp-secret-pw');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(PASSWORD_TYPED);
    expect(logs).not.toContain('smtp-secret-pw');
  });

  it('a refusing SMTP server fails one recipient, the others go out, nothing is sent twice', async () => {
    const d = services.awareness.directory;
    await d.create({ name: 'Refuse Me', email: 'refuse@hospital.example', department: 'Pharmacy' });
    await d.create({ name: 'Paul Ng', email: 'paul@hospital.example', department: 'Pharmacy' });
    const [profile] = await services.awareness.profiles.list();
    const c = await services.awareness.campaigns.create({
      name: 'pharmacy',
      templateId: 'shared-document',
      profileId: profile!.id,
      baseUrl: 'https://vigil.hospital.example',
      departments: ['Pharmacy'],
    });
    const before = sink.messages.length;
    expect(await services.awareness.sendDueCampaigns()).toBe(2);
    expect(await services.awareness.sendDueCampaigns()).toBe(0);
    expect(sink.messages.length - before).toBe(1);
    const report = await services.awareness.reports.campaign(c.id);
    expect(report.overall).toMatchObject({ recipients: 2, sent: 1, errors: 1 });
    expect((await services.awareness.campaigns.get(c.id)).status).toBe('sent');
  });

  it('sends training reminders and overdue notices through the notification profile, once each', async () => {
    const due = new Date(clock.now().getTime() + 3 * 86_400_000).toISOString();
    await services.awareness.training.assign({
      courseId: 'ransomware-and-downtime',
      personIds: [people.carol!],
      dueAt: due,
    });
    const before = sink.messages.length;
    // Carol's course is due in 3 days; Alice's just-in-time course in 14 (outside the 7-day window).
    expect(await services.awareness.sendDueReminders()).toMatchObject({ reminders: 1, overdue: 0 });
    expect(await services.awareness.sendDueReminders()).toMatchObject({ reminders: 0, overdue: 0 });
    clock.advance(20 * 86_400_000);
    expect(await services.awareness.sendDueReminders()).toMatchObject({ reminders: 0, overdue: 2 });
    const mails = sink.messages.slice(before).map((m) => parseMessage(m.raw));
    expect(mails).toHaveLength(3);
    expect(mails.filter((m) => m.decoded.includes('is now overdue'))).toHaveLength(2);
    const carol = await services.awareness.risk.recompute(people.carol!);
    expect(carol.reasons.map((r) => r.code)).toContain('training-overdue');
  });
  it('a click on a campaign without a landing page lands on the teaching page and assigns the course', async () => {
    const frank = await services.awareness.directory.create({
      name: 'Frank Ito',
      email: 'frank@hospital.example',
      department: 'Radiology',
    });
    const [profile] = await services.awareness.profiles.list();
    const c = await services.awareness.campaigns.create({
      name: 'radiology',
      templateId: 'shared-document',
      landingId: null,
      profileId: profile!.id,
      baseUrl: 'https://vigil.hospital.example',
      departments: ['Radiology'],
    });
    expect(c.landingId).toBeNull();
    expect(await services.awareness.sendDueCampaigns()).toBe(1);
    const raw = sink.messages.find((m) => m.to[0] === 'frank@hospital.example')!.raw;
    const id = /\/t\/c\/([A-Za-z0-9_-]{43})/.exec(parseMessage(raw).decoded)![1]!;
    clock.advance(30_000);
    const click = await app.inject({ method: 'GET', url: `/t/c/${id}`, headers: { 'user-agent': BROWSER } });
    expect(click.headers.location).toBe(`/t/l/${id}`);
    const page = await app.inject({ method: 'GET', url: `/t/l/${id}`, headers: { 'user-agent': BROWSER } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('This was a phishing simulation');
    expect(page.body).not.toContain('<form');
    const template = await services.awareness.campaigns.template('shared-document');
    expect(template!.signs.length).toBeGreaterThan(0);
    for (const sign of template!.signs.slice(0, 2))
      expect(page.body).toContain(sign.replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/"/g, '&quot;'));
    expect(page.body).toContain('Phishing and social engineering');
    expect(page.body).toContain('href="https://vigil.hospital.example/training"');
    expect(await services.awareness.training.enrolmentsOf([frank.id])).toEqual([
      expect.objectContaining({ courseId: 'phishing-and-social-engineering', status: 'assigned' }),
    ]);
    const risk = await services.awareness.risk.recompute(frank.id);
    expect(risk.reasons.map((r) => r.code)).toEqual(['phishing-click']);
  });

  it('rate-limits the tracking routes per address, the same for known and forged ids', async () => {
    const known = links.get('carol')!;
    const forged = `/t/o/${'B'.repeat(43)}.gif`;
    const statuses: number[] = [];
    for (let i = 0; i < 320; i++)
      statuses.push(
        (await app.inject({ method: 'GET', url: forged, remoteAddress: '192.0.2.77' })).statusCode,
      );
    expect(statuses.slice(0, 250).every((s) => s === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // The budget is per route and address: the known id's pixel is refused the same way.
    const knownRes = await app.inject({ method: 'GET', url: known.pixel, remoteAddress: '192.0.2.77' });
    const forgedRes = await app.inject({ method: 'GET', url: forged, remoteAddress: '192.0.2.77' });
    expect(knownRes.statusCode).toBe(429);
    expect(forgedRes.statusCode).toBe(429);
    // Another address is not affected.
    expect((await app.inject({ method: 'GET', url: forged, remoteAddress: '192.0.2.78' })).statusCode).toBe(
      200,
    );
  });
});
