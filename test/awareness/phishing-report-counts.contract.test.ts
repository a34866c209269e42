/**
 * The campaign list's counts (aggregated in the database), link-scanner counts and per-recipient
 * results on every engine: they agree with the per-campaign report computed in memory.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
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
import { MemoryMailSender } from '../../src/platform/mail/index.js';
import { testDatabases } from '../support/databases.js';

const CONTENT = path.join(import.meta.dirname, '../../content');
const PERSON = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';

/** A key ring that "seals" reversibly with a marker (the real one is tested in platform/keys). */
const fakeKeys = {
  seal: (p: Buffer, aad: string) =>
    `sealed:${Buffer.from(`${aad}|${p.toString('utf8')}`).toString('base64')}`,
  open: (s: string) => Buffer.from(Buffer.from(s.slice(7), 'base64').toString('utf8').split('|')[1]!, 'utf8'),
  deriveKey: (purpose: string) => createHash('sha256').update(`test-key|${purpose}`).digest(),
} as unknown as KeyRing;

for (const engine of testDatabases()) {
  describe(`phishing campaign counts on ${engine.name}`, () => {
    let database: Database;
    let clock: ManualClock;
    let a: Awareness;
    let mail: MemoryMailSender;

    beforeEach(async () => {
      database = await engine.open();
      await runMigrations(database, awarenessMigrations);
      clock = new ManualClock('2026-03-02T08:00:00.000Z');
      mail = new MemoryMailSender();
      a = createAwareness({
        db: database.db,
        bus: new MemoryBus({ logger: silentLogger() }),
        clock,
        keys: fakeKeys,
        library: await PhishingLibrary.load(path.join(CONTENT, 'phishing')),
        senderFactory: () => mail,
      });
    });
    afterEach(async () => {
      await a.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    it('counts sent, opens, clicks, submissions and reports per campaign, scanners apart', async () => {
      for (const [name, department] of [
        ['Ann Able', 'Lab'],
        ['Ben Best', 'Lab'],
        ['Cy Cole', 'Pharmacy'],
        ['Di Dunn', 'Pharmacy'],
      ] as const)
        await a.directory.create({
          name,
          email: `${name.split(' ')[0]!.toLowerCase()}@h.example`,
          department,
        });
      const profile = await a.profiles.create({
        name: 'p',
        host: 'smtp.h.example',
        port: 587,
        security: 'starttls',
        fromAddress: 'it@h-support.example',
      });
      const lab = await a.campaigns.create({
        name: 'lab',
        templateId: 'password-expiry',
        profileId: profile.id,
        baseUrl: 'https://v.h.example',
        departments: ['Lab', 'Pharmacy'],
      });
      const idle = await a.campaigns.create({
        name: 'later',
        templateId: 'shared-document',
        profileId: profile.id,
        baseUrl: 'https://v.h.example',
        departments: ['Lab'],
        scheduledAt: '2026-04-01T08:00:00.000Z',
      });
      expect(await a.sendDueCampaigns()).toBe(4);
      const tid = (to: string) =>
        /\/t\/c\/([A-Za-z0-9_-]{43})/.exec(mail.sent.find((m) => m.to === to)!.text)![1]!;
      // A scanner opens and clicks Ben's at once; Ann opens, clicks and submits; Cy reports.
      await a.tracking.record('open', tid('ben@h.example'), { userAgent: 'Barracuda' });
      await a.tracking.record('click', tid('ben@h.example'), { userAgent: 'Barracuda' });
      clock.advance(120_000);
      await a.tracking.record('open', tid('ann@h.example'), { userAgent: PERSON });
      await a.tracking.record('click', tid('ann@h.example'), { userAgent: PERSON });
      await a.tracking.record(
        'submit',
        tid('ann@h.example'),
        { userAgent: PERSON },
        { fields: ['username'] },
      );
      await a.tracking.record('report', tid('cy@h.example'), { userAgent: PERSON }, { via: 'link' });

      const counts = await a.reports.counts();
      expect(counts.get(lab.id)).toEqual({
        recipients: 4,
        sent: 4,
        errors: 0,
        opened: 1,
        clicked: 1,
        submitted: 1,
        reported: 1,
        clickRate: 25,
        submitRate: 25,
        reportRate: 25,
        scannerOpens: 1,
        scannerClicks: 1,
      });
      // The same figures as the report computed from the rows.
      const { medianSecondsToReport, ...overall } = (await a.reports.campaign(lab.id)).overall;
      expect(medianSecondsToReport).toBe(120);
      expect(counts.get(lab.id)).toMatchObject(overall);
      expect(counts.get(idle.id)).toMatchObject({ recipients: 2, sent: 0, clickRate: 0, scannerClicks: 0 });
      expect((await a.reports.scannerCounts(lab.id)).get(lab.id)).toEqual({ opens: 1, clicks: 1 });
      expect((await a.reports.scannerCounts(idle.id)).size).toBe(0);

      const results = await a.reports.results(lab.id);
      expect(results.map((r) => [r.email, r.result, r.reportedAt !== null])).toEqual([
        ['ann@h.example', 'Submitted Data', false],
        ['ben@h.example', 'Email Sent', false],
        ['cy@h.example', 'Email Sent', true],
        ['di@h.example', 'Email Sent', false],
      ]);
      expect(results[0]).toMatchObject({
        firstName: 'Ann',
        lastName: 'Able',
        department: 'Lab',
        status: 'sent',
      });
      expect(JSON.stringify(results)).not.toContain(tid('ann@h.example'));
      expect((await a.reports.results(idle.id)).map((r) => r.status)).toEqual(['queued', 'queued']);
    });
  });
}
