/**
 * The phishing routes the console's campaign page needs, over HTTP: landing pages to choose from,
 * the campaign list with each campaign's counts and rates (link-scanner clicks kept apart), a
 * campaign's link-scanner counts, and its result per recipient (never the tracking id). Only
 * administrators and analysts reach them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';
import { parseMessage, type SmtpSink, startSmtpSink } from './smtp-sink.js';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126 Safari/537.36';
const SCANNER = 'Mozilla/5.0 (compatible; Barracuda Sentinel)';

describe('phishing console API', () => {
  let f: ServerFixture;
  let sink: SmtpSink;
  let analyst: Browser;
  let staff: Browser;
  let profileId = '';

  beforeAll(async () => {
    f = await serverFixture();
    sink = await startSmtpSink();
    analyst = await signIn(f, 'ana.lyst', 'analyst');
    staff = await signIn(f, 'sam.staff', 'staff');
    const d = f.services.awareness.directory;
    for (const name of ['Ann Able', 'Ben Best'])
      await d.create({
        name,
        email: `${name.split(' ')[0]!.toLowerCase()}@h.example`,
        department: 'Radiology',
        jobRole: 'Radiographer',
      });
    profileId = (
      await f.services.awareness.profiles.create({
        name: 'loopback',
        host: '127.0.0.1',
        port: sink.port,
        security: 'starttls',
        username: 'vigil',
        password: 'smtp-secret-pw',
        fromAddress: 'IT Desk <it@h.example>',
        verifyTls: false,
      })
    ).id;
  });
  afterAll(async () => {
    await sink.close();
    await f.close();
  });

  it('is for administrators and analysts only', async () => {
    for (const url of [
      '/api/awareness/phishing/landings',
      '/api/awareness/phishing/campaigns',
      '/api/awareness/phishing/campaigns/x/recipients',
    ]) {
      expect((await f.app.inject({ method: 'GET', url, ...as(staff) })).statusCode).toBe(403);
      expect((await f.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    }
    const res = await f.app.inject({
      method: 'GET',
      url: '/api/awareness/phishing/campaigns/nope/recipients',
      ...as(analyst),
    });
    expect(res.statusCode).toBe(404);
  });

  it('lists the landing pages with their fields', async () => {
    const res = await f.app.inject({
      method: 'GET',
      url: '/api/awareness/phishing/landings',
      ...as(analyst),
    });
    expect(res.statusCode).toBe(200);
    const landing = res.json().landings.find((l: { id: string }) => l.id === 'password-expiry');
    expect(landing.title.length).toBeGreaterThan(0);
    expect(landing.fields).toContainEqual(expect.objectContaining({ type: 'password' }));
  });

  it('shows counts, scanner clicks apart, and each recipient without the tracking id', async () => {
    let res = await f.app.inject({
      method: 'POST',
      url: '/api/awareness/phishing/campaigns',
      ...as(analyst),
      payload: {
        name: 'Radiology drill',
        templateId: 'password-expiry',
        landingId: null,
        profileId,
        baseUrl: 'http://127.0.0.1:1',
        departments: ['Radiology'],
        ratePerMinute: 10,
      },
    });
    expect(res.statusCode).toBe(201);
    const campaign = res.json().campaign;
    expect(campaign.landingId).toBeNull();
    expect(await f.services.awareness.sendDueCampaigns()).toBe(2);
    const ids = new Map<string, string>();
    for (const m of sink.messages) {
      const id = /\/t\/c\/([A-Za-z0-9_-]{43})/.exec(parseMessage(m.raw).decoded)![1]!;
      ids.set(m.to[0]!, id);
    }
    expect(ids.size).toBe(2);
    const get = (url: string, ua: string) =>
      f.app.inject({ method: 'GET', url, headers: { 'user-agent': ua } });
    // A gateway scanner follows Ben's link before anything was opened: not Ben's click.
    expect((await get(`/t/c/${ids.get('ben@h.example')}`, SCANNER)).statusCode).toBe(302);
    // Ann opens the message, and clicks more than a second after delivery.
    await get(`/t/o/${ids.get('ann@h.example')}.gif`, BROWSER);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await get(`/t/c/${ids.get('ann@h.example')}`, BROWSER)).statusCode).toBe(302);

    res = await f.app.inject({ method: 'GET', url: '/api/awareness/phishing/campaigns', ...as(analyst) });
    const listed = res.json().campaigns.find((c: { id: string }) => c.id === campaign.id);
    expect(listed.counts).toEqual({
      recipients: 2,
      sent: 2,
      errors: 0,
      opened: 1,
      clicked: 1,
      submitted: 0,
      reported: 0,
      clickRate: 50,
      submitRate: 0,
      reportRate: 0,
      scannerOpens: 0,
      scannerClicks: 1,
    });
    res = await f.app.inject({
      method: 'GET',
      url: `/api/awareness/phishing/campaigns/${campaign.id}`,
      ...as(analyst),
    });
    expect(res.json().scanner).toEqual({ opens: 0, clicks: 1 });
    expect(res.json().report.overall).toMatchObject({ clicked: 1, clickRate: 50 });

    res = await f.app.inject({
      method: 'GET',
      url: `/api/awareness/phishing/campaigns/${campaign.id}/recipients`,
      ...as(analyst),
    });
    expect(res.statusCode).toBe(200);
    const recipients = res.json().recipients as Array<Record<string, unknown>>;
    expect(recipients.map((r) => [r.email, r.status, r.result])).toEqual([
      ['ann@h.example', 'sent', 'Clicked Link'],
      ['ben@h.example', 'sent', 'Email Sent'],
    ]);
    expect(recipients[0]).toMatchObject({ firstName: 'Ann', lastName: 'Able', department: 'Radiology' });
    expect(recipients[0]!.clickedAt).toEqual(expect.any(String));
    for (const id of ids.values()) expect(res.body).not.toContain(id);
  });
});
