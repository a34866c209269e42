/**
 * Training and phishing on every engine: assignments to people and departments, the learner's
 * course and graded quiz, recurrence, overdue status, a manager's team, CSV and xAPI exports;
 * campaigns through an in-memory sender with a send-rate limit, the scanner heuristic, the
 * tracking events and the risk they produce.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Awareness,
  awarenessMigrations,
  Curriculum,
  createAwareness,
  PhishingLibrary,
  XAPI_VERBS,
} from '../../src/awareness/index.js';
import { ManualClock } from '../../src/core/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import type { KeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { MemoryMailSender } from '../../src/platform/mail/index.js';
import { testDatabases } from '../support/databases.js';

const CONTENT = path.join(import.meta.dirname, '../../content');
const PHISHING = 'phishing-and-social-engineering';

/** A key ring that "seals" reversibly with a marker (the real one is tested in platform/keys). */
const fakeKeys = {
  seal: (p: Buffer, aad: string) =>
    `sealed:${Buffer.from(`${aad}|${p.toString('utf8')}`).toString('base64')}`,
  open: (s: string) => Buffer.from(Buffer.from(s.slice(7), 'base64').toString('utf8').split('|')[1]!, 'utf8'),
  deriveKey: (purpose: string) => createHash('sha256').update(`test-key|${purpose}`).digest(),
} as unknown as KeyRing;

for (const engine of testDatabases()) {
  describe(`training and phishing on ${engine.name}`, () => {
    let database: Database;
    let bus: MemoryBus;
    let clock: ManualClock;
    let a: Awareness;
    let mail: MemoryMailSender;
    let curriculum: Curriculum;
    let library: PhishingLibrary;
    const ids: Record<string, string> = {};

    beforeEach(async () => {
      database = await engine.open();
      await runMigrations(database, awarenessMigrations);
      bus = new MemoryBus({ logger: silentLogger() });
      clock = new ManualClock('2026-03-02T08:00:00.000Z');
      mail = new MemoryMailSender();
      curriculum ??= await Curriculum.load(path.join(CONTENT, 'courses'));
      library ??= await PhishingLibrary.load(path.join(CONTENT, 'phishing'));
      a = createAwareness({
        db: database.db,
        bus,
        clock,
        keys: fakeKeys,
        curriculum,
        library,
        senderFactory: () => mail,
      });
      const boss = await a.directory.create({
        name: 'Mary Okafor',
        email: 'mary@h.example',
        department: 'Emergency',
        consoleUserId: 'u-mary',
      });
      ids.mary = boss.id;
      ids.james = (
        await a.directory.create({
          name: 'James Lee',
          email: 'james@h.example',
          department: 'Emergency',
          managerId: boss.id,
          consoleUserId: 'u-james',
        })
      ).id;
      ids.petr = (
        await a.directory.create({ name: 'Petr Novak', email: 'petr@h.example', department: 'Biomed' })
      ).id;
    });
    afterEach(async () => {
      await bus.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    function answers(courseId: string, right: boolean): Record<string, string | string[]> {
      const course = curriculum.mustGet(courseId);
      return Object.fromEntries(
        course.quiz.questions.map((q) => {
          const wrong = q.options.find((o) => !q.correct.includes(o.id))!.id;
          const pick = right ? q.correct : [wrong];
          return [q.id, q.multiple ? pick : pick[0]!];
        }),
      );
    }

    it('assigns to a department and a person, and the learner passes the course', async () => {
      await a.training.assign({
        courseId: PHISHING,
        departments: ['Emergency'],
        dueAt: '2026-03-31',
        recurrence: 'P1Y',
      });
      await a.training.assign({
        courseId: 'ransomware-and-downtime',
        personIds: [ids.petr!],
        dueAt: '2026-03-10',
      });
      const james = await a.training.enrolmentsOf([ids.james!]);
      expect(james).toEqual([
        expect.objectContaining({
          courseId: PHISHING,
          status: 'assigned',
          dueAt: '2026-03-31T23:59:59.999Z',
        }),
      ]);
      const course = await a.training.readCourse(ids.james!, PHISHING);
      expect(course.html).toContain('<h');
      expect(JSON.stringify(course.quiz)).not.toContain('"correct"');
      expect((await a.training.enrolmentsOf([ids.james!]))[0]!.status).toBe('in-progress');
      const failed = await a.training.submitQuiz({ id: ids.james! }, PHISHING, answers(PHISHING, false));
      expect(failed).toMatchObject({ passed: false, score: 0 });
      clock.advance(86_400_000);
      const passed = await a.training.submitQuiz({ id: ids.james! }, PHISHING, answers(PHISHING, true));
      expect(passed).toMatchObject({ passed: true, score: 100 });
      const after = await a.training.enrolmentsOf([ids.james!]);
      // The pass closes this cycle and opens the next one a year later.
      expect(after.map((e) => [e.status, e.dueAt])).toEqual([
        ['assigned', '2027-03-03T08:00:00.000Z'],
        ['passed', '2026-03-31T23:59:59.999Z'],
      ]);
      expect(await a.training.attemptsOf(ids.james!)).toHaveLength(2);
      await expect(a.training.submitQuiz({ id: ids.james! }, PHISHING, { nope: 'a' })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(
        a.training.assign({ courseId: 'nope', personIds: [ids.petr!], dueAt: '2026-03-10' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        a.training.assign({
          courseId: PHISHING,
          personIds: [ids.petr!],
          dueAt: '2026-03-10',
          recurrence: 'yearly',
        }),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('marks late courses overdue, and managers see their team', async () => {
      await a.training.assign({
        courseId: PHISHING,
        departments: ['Emergency', 'Biomed'],
        dueAt: '2026-03-05',
      });
      clock.advance(5 * 86_400_000);
      expect((await a.training.enrolmentsOf([ids.petr!]))[0]!.status).toBe('overdue');
      const mary = await a.personOfUser('u-mary');
      expect((await a.teamOf(mary)).map((p) => p.name)).toEqual(['James Lee']);
      expect(await a.teamOf(await a.personOfUser('u-james'))).toEqual([]);
      await expect(a.personOfUser('u-nobody')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const risk = await a.risk.recompute(ids.petr!);
      expect(risk).toMatchObject({
        score: 25,
        state: { overdueTraining: true, recentPhishingFailure: false },
      });
    });

    it('exports completions as CSV and xAPI statements', async () => {
      await a.training.assign({ courseId: PHISHING, personIds: [ids.james!], dueAt: '2026-03-31' });
      await a.training.submitQuiz({ id: ids.james! }, PHISHING, answers(PHISHING, false));
      await a.training.submitQuiz({ id: ids.james! }, PHISHING, answers(PHISHING, true));
      const csv = (await a.completionsCsv()).trimEnd().split('\r\n');
      expect(csv[0]).toBe(
        'attempt_id,person_id,name,email,department,course_id,course_title,course_version,score,passed,submitted_at',
      );
      expect(csv).toHaveLength(3);
      const statements = await a.xapi('https://vigil.h.example/api/awareness');
      expect(statements).toHaveLength(2);
      expect(statements[0]).toMatchObject({
        actor: { objectType: 'Agent', mbox: 'mailto:james@h.example', name: 'James Lee' },
        verb: { id: XAPI_VERBS.failed },
        object: { id: `https://vigil.h.example/api/awareness/courses/${PHISHING}` },
        result: { score: { raw: 0, scaled: 0 }, success: false },
      });
      expect(statements[1]).toMatchObject({
        verb: { id: 'http://adlnet.gov/expapi/verbs/passed' },
        result: { score: { raw: 100, scaled: 1 }, success: true },
      });
    });

    it('sends a campaign within its rate limit, tells scanners apart, and scores the risk', async () => {
      const profile = await a.profiles.create({
        name: 'p',
        host: 'smtp.h.example',
        port: 587,
        security: 'starttls',
        username: 'u',
        password: 'pw-never-plain',
        fromAddress: 'it@h-support.example',
      });
      expect(profile).toMatchObject({ hasPassword: true });
      expect(JSON.stringify(await a.profiles.list())).not.toContain('pw-never-plain');
      const c = await a.campaigns.create({
        name: 'c',
        templateId: 'shared-document',
        profileId: profile.id,
        baseUrl: 'https://v.h.example',
        departments: ['Emergency', 'Biomed'],
        ratePerMinute: 2,
      });
      expect(c.recipients).toBe(3);
      expect(await a.sendDueCampaigns()).toBe(2);
      expect(await a.sendDueCampaigns()).toBe(0);
      clock.advance(60_000);
      expect(await a.sendDueCampaigns()).toBe(1);
      expect((await a.campaigns.get(c.id)).status).toBe('sent');
      expect(mail.sent).toHaveLength(3);
      const tid = (to: string) =>
        /\/t\/c\/([A-Za-z0-9_-]{43})/.exec(mail.sent.find((m) => m.to === to)!.text)![1]!;
      // The last message went out at this very instant: a click now is the gateway's scanner.
      const scan = await a.tracking.record('click', tid(mail.sent[2]!.to), {
        ip: '10.0.0.9',
        userAgent: 'Mozilla/5.0',
      });
      expect(scan).toMatchObject({ known: true, scanner: true });
      clock.advance(5_000);
      expect(
        await a.tracking.record('click', tid('mary@h.example'), {
          userAgent: 'Mozilla/5.0 (compatible; MSIE; ms-office)',
        }),
      ).toMatchObject({ scanner: true });
      expect(
        await a.tracking.record('open', tid('james@h.example'), { userAgent: 'Mozilla/5.0 Firefox' }),
      ).toMatchObject({ scanner: false });
      // After a person's open, the same user agent's click is the person's.
      expect(
        await a.tracking.record('click', tid('james@h.example'), { userAgent: 'Mozilla/5.0 Firefox' }),
      ).toMatchObject({ scanner: false });
      expect(await a.tracking.record('click', 'x'.repeat(43), {})).toEqual({ known: false });
      const report = await a.reports.campaign(c.id);
      expect(report.overall).toMatchObject({ sent: 3, clicked: 1, clickRate: 33.33 });
      expect(report.departments.map((d) => [d.department, d.clicked])).toEqual([
        ['Biomed', 0],
        ['Emergency', 1],
      ]);
      const james = await a.risk.recompute(ids.james!);
      expect(james.score).toBe(30);
      expect(james.state).toEqual({ overdueTraining: false, recentPhishingFailure: true });
      expect(a.risk.stateOf('u-james')).toEqual({ overdueTraining: false, recentPhishingFailure: true });
      expect(a.risk.stateOf('u-unknown')).toBeNull();
      // Decay: 90 days later the click weighs half; the just-in-time course is now overdue.
      clock.advance(90 * 86_400_000);
      const later = await a.risk.recompute(ids.james!);
      expect(later.reasons.map((r) => [r.code, r.points])).toEqual([
        ['training-overdue', 25],
        ['phishing-click', 15],
      ]);
      expect(later.score).toBe(40);
      expect((await a.training.enrolmentsOf([ids.james!])).map((e) => e.courseId)).toEqual([PHISHING]);
    });
  });
}
