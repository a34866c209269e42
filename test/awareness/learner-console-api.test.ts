/**
 * The API behind the console's training pages: who the signed-in learner is, certificates (a
 * printable page, a verification code that a forged or altered code never matches, a public check
 * that names only the course and date), the team report for a manager and for administrators, and
 * the directory routes (search, a person's whole record, the all-or-nothing CSV upload). Hostile
 * input: bad ids, someone else's certificate, forged codes, oversized and malformed quiz answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';

const PHISHING = 'phishing-and-social-engineering';
const RANSOMWARE = 'ransomware-and-downtime';

describe('awareness console API', () => {
  let f: ServerFixture;
  let admin: Browser;
  let learner: Browser;
  let manager: Browser;
  let other: Browser;
  let unlinked: Browser;
  let leeId = '';
  let passedId = '';
  let code = '';

  const answersFor = (courseId: string, right = true) => {
    const course = f.services.awareness.training.curriculum.mustGet(courseId);
    return Object.fromEntries(
      course.quiz.questions.map((q) => {
        const wrong = q.options.find((o) => !q.correct.includes(o.id))!.id;
        if (!right) return [q.id, q.multiple ? [wrong] : wrong];
        return [q.id, q.multiple ? q.correct : q.correct[0]!];
      }),
    );
  };

  beforeAll(async () => {
    f = await serverFixture();
    admin = await signIn(f, 'ada.admin', 'admin');
    learner = await signIn(f, 'lee.learner', 'staff');
    manager = await signIn(f, 'meg.manager', 'clinician');
    other = await signIn(f, 'oli.other', 'staff');
    unlinked = await signIn(f, 'una.linked', 'staff');
    const users = await f.services.identity.users.list();
    const uid = (name: string) => users.find((u) => u.username === name)!.id;
    const d = f.services.awareness.directory;
    const meg = await d.create({
      name: 'Meg Manager',
      email: 'meg@h.example',
      department: 'ICU',
      consoleUserId: uid('meg.manager'),
    });
    const lee = await d.create({
      name: 'Lee <b>Learner</b>',
      email: 'lee@h.example',
      department: 'ICU',
      managerId: meg.id,
      consoleUserId: uid('lee.learner'),
    });
    leeId = lee.id;
    await d.create({
      name: 'Oli Other',
      email: 'oli@h.example',
      department: 'Radiology',
      consoleUserId: uid('oli.other'),
    });
    await f.services.awareness.training.assign({
      courseId: PHISHING,
      departments: ['ICU'],
      dueAt: '2030-01-31',
    });
    await f.services.awareness.training.assign({
      courseId: RANSOMWARE,
      personIds: [lee.id],
      dueAt: '2020-01-31',
    });
  });
  afterAll(() => f.close());

  it('tells the console who the learner is and whether they manage anyone', async () => {
    let res = await f.app.inject({ method: 'GET', url: '/api/awareness/me', ...as(learner) });
    expect(res.json()).toMatchObject({ person: { name: 'Lee <b>Learner</b>' }, manages: false });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/me', ...as(manager) });
    expect(res.json()).toMatchObject({ manages: true, seesAllDepartments: false });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/me', ...as(unlinked) });
    expect(res.json()).toEqual({ person: null, manages: false, seesAllDepartments: false });
  });

  it('refuses malformed and oversized quiz answers without grading them', async () => {
    const url = `/api/awareness/me/courses/${PHISHING}/quiz`;
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`q${i}`, 'a']));
    for (const answers of [many, { [`${'x'.repeat(100)}`]: 'a' }, { q1: { $gt: '' } }, {}]) {
      const res = await f.app.inject({ method: 'POST', url, ...as(learner), payload: { answers } });
      expect(res.statusCode).toBe(400);
    }
    const huge = await f.app.inject({
      method: 'POST',
      url,
      ...as(learner),
      payload: { answers: { q1: 'a'.repeat(3_000_000) } },
    });
    expect(huge.statusCode).toBe(413);
    const wrongCourse = await f.app.inject({
      method: 'POST',
      url: '/api/awareness/me/courses/..%2F..%2Fetc/quiz',
      ...as(learner),
      payload: { answers: {} },
    });
    expect(wrongCourse.statusCode).toBe(404);
    const attempts = await f.app.inject({ method: 'GET', url: '/api/awareness/me/results', ...as(learner) });
    expect(attempts.json().attempts).toEqual([]);
  });

  it('issues a printable certificate for a pass only, with a code that verifies', async () => {
    let res = await f.app.inject({
      method: 'POST',
      url: `/api/awareness/me/courses/${PHISHING}/quiz`,
      ...as(learner),
      payload: { answers: answersFor(PHISHING, false) },
    });
    expect(res.json().result.passed).toBe(false);
    const failedId = res.json().result.attemptId as string;
    res = await f.app.inject({
      method: 'POST',
      url: `/api/awareness/me/courses/${PHISHING}/quiz`,
      ...as(learner),
      payload: { answers: answersFor(PHISHING) },
    });
    expect(res.json().result).toMatchObject({ passed: true, score: 100 });
    passedId = res.json().result.attemptId;

    res = await f.app.inject({ method: 'GET', url: '/api/awareness/me/certificates', ...as(learner) });
    const certs = res.json().certificates;
    expect(certs).toHaveLength(1);
    expect(certs[0]).toMatchObject({ completionId: passedId, courseId: PHISHING, score: 100 });
    code = certs[0].code;
    expect(code).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{22}$/);

    res = await f.app.inject({
      method: 'GET',
      url: `/api/awareness/me/certificates/${passedId}`,
      ...as(learner),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.body).toContain('Lee &lt;b&gt;Learner&lt;/b&gt;');
    expect(res.body).not.toContain('<b>Learner');
    expect(res.body).toContain(code);
    expect(res.body).not.toMatch(/<script|style=/i);
    const css = await f.app.inject({ method: 'GET', url: '/api/awareness/certificate.css', ...as(learner) });
    expect(css.headers['content-type']).toContain('text/css');
    expect(css.body).toContain('@media print');

    // A failed attempt, someone else's certificate, and junk ids are all the same 404.
    for (const [who, cid] of [
      [learner, failedId],
      [other, passedId],
      [learner, 'not-an-id'],
      [learner, '00000000-0000-7000-8000-000000000000'],
    ] as const) {
      res = await f.app.inject({ method: 'GET', url: `/api/awareness/me/certificates/${cid}`, ...as(who) });
      expect(res.statusCode).toBe(404);
    }
    res = await f.app.inject({
      method: 'GET',
      url: `/api/awareness/me/certificates/${'x'.repeat(65)}`,
      ...as(learner),
    });
    expect(res.statusCode).toBe(400);
    res = await f.app.inject({ method: 'GET', url: `/api/awareness/me/certificates/${passedId}` });
    expect(res.statusCode).toBe(401);
  });

  it('verifies codes publicly, naming only the course and date; forgeries are invalid', async () => {
    let res = await f.app.inject({
      method: 'GET',
      url: `/api/awareness/certificates/verify/${encodeURIComponent(code)}`,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      valid: true,
      courseId: PHISHING,
      courseTitle: expect.any(String),
      date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(JSON.stringify(body)).not.toMatch(/lee|Learner|score|person/i);

    const [attempt, mac] = code.split('.') as [string, string];
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const attempts = (
      await f.app.inject({ method: 'GET', url: '/api/awareness/me/results', ...as(learner) })
    ).json().attempts as Array<{ id: string; passed: boolean }>;
    const failed = attempts.find((a) => !a.passed)!.id;
    for (const forged of [
      `${attempt}.${flipped}`,
      `${failed}.${mac}`,
      `00000000-0000-7000-8000-000000000000.${mac}`,
      'nonsense',
      `${attempt}.${mac}x`,
      "' or 1=1 --",
    ]) {
      res = await f.app.inject({
        method: 'GET',
        url: `/api/awareness/certificates/verify/${encodeURIComponent(forged)}`,
      });
      expect(res.statusCode, forged).toBe(200);
      expect(res.json(), forged).toEqual({ valid: false });
    }
    // Longer than the router's parameter limit: refused before any lookup.
    res = await f.app.inject({ method: 'GET', url: `/api/awareness/certificates/verify/${'a'.repeat(201)}` });
    expect([400, 404]).toContain(res.statusCode);
    expect(res.json()).not.toHaveProperty('valid');
  });

  it('rate-limits the public verification per address', async () => {
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const res = await f.app.inject({
        method: 'GET',
        url: '/api/awareness/certificates/verify/nonsense',
        remoteAddress: '203.0.113.9',
      });
      last = res.statusCode;
    }
    expect(last).toBe(429);
  });

  it('gives a manager their team report and an administrator any department', async () => {
    let res = await f.app.inject({ method: 'GET', url: '/api/awareness/team', ...as(manager) });
    expect(res.statusCode).toBe(200);
    const team = res.json();
    expect(team.scope).toBe('team');
    expect(team.people.map((p: { name: string }) => p.name)).toEqual(['Lee <b>Learner</b>']);
    const lee = team.people[0];
    expect(lee.courses).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ courseId: PHISHING, status: 'passed' }),
        expect.objectContaining({ courseId: RANSOMWARE, status: 'overdue' }),
      ]),
    );
    expect(lee.risk.reasons.map((r: { code: string }) => r.code)).toContain('training-overdue');
    expect(team.summary).toMatchObject({ people: 1, assigned: 2, passed: 1, overdue: 1, completionRate: 50 });
    expect(team.overdue).toEqual([expect.objectContaining({ personId: leeId, courseId: RANSOMWARE })]);

    res = await f.app.inject({
      method: 'GET',
      url: '/api/awareness/team?department=Radiology',
      ...as(manager),
    });
    expect(res.statusCode).toBe(403);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/team', ...as(learner) });
    expect(res.statusCode).toBe(403);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/team?department=ICU', ...as(admin) });
    expect(res.json()).toMatchObject({ scope: 'department', summary: { people: 2 } });
    expect(res.json().departments).toEqual(['ICU', 'Radiology']);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/team', ...as(admin) });
    expect(res.json()).toMatchObject({ scope: 'all', summary: { people: 3 } });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/team?bogus=1', ...as(admin) });
    expect(res.statusCode).toBe(400);
  });

  it('searches the directory and shows one person with training, timeline and risk', async () => {
    let res = await f.app.inject({ method: 'GET', url: '/api/awareness/people?q=learn', ...as(admin) });
    expect(res.json()).toMatchObject({ total: 1, people: [{ id: leeId }] });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/people?q=%25', ...as(admin) });
    expect(res.json().total).toBe(0);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/people?q=H.EXAMPLE', ...as(admin) });
    expect(res.json().total).toBe(3);
    res = await f.app.inject({
      method: 'GET',
      url: '/api/awareness/people?department=ICU&limit=1',
      ...as(admin),
    });
    expect(res.json()).toMatchObject({ total: 2, people: [{ name: 'Lee <b>Learner</b>' }] });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/people?limit=100000', ...as(admin) });
    expect(res.statusCode).toBe(400);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/people', ...as(learner) });
    expect(res.statusCode).toBe(403);

    res = await f.app.inject({ method: 'GET', url: `/api/awareness/people/${leeId}`, ...as(admin) });
    const profile = res.json();
    expect(profile.person.email).toBe('lee@h.example');
    expect(profile.manager).toMatchObject({ name: 'Meg Manager' });
    expect(profile.attempts).toHaveLength(2);
    expect(profile.timeline).toEqual([]);
    expect(profile.risk.score).toBeGreaterThan(0);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/people/nope', ...as(admin) });
    expect(res.statusCode).toBe(404);
    res = await f.app.inject({ method: 'GET', url: `/api/awareness/people/${leeId}`, ...as(manager) });
    expect(res.statusCode).toBe(403);
  });

  it('imports a directory CSV all or nothing, for administrators only', async () => {
    const csv = 'Email,Name,Department,Manager\r\nnew@h.example,New Nurse,ICU,meg@h.example\r\n';
    const post = (who: Browser, payload: string, type = 'text/csv') =>
      f.app.inject({
        method: 'POST',
        url: '/api/awareness/people/import',
        cookies: as(who).cookies,
        headers: { ...as(who).headers, 'content-type': type },
        payload,
      });
    let res = await post(learner, csv);
    expect(res.statusCode).toBe(403);
    res = await post(admin, `${csv}bad-email,Someone,ICU,\r\n`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.errors).toEqual([expect.objectContaining({ row: 3, field: 'email' })]);
    expect((await f.services.awareness.directory.getByEmail('new@h.example')) ?? null).toBeNull();
    res = await post(admin, 'a,"b\r\n');
    expect(res.statusCode).toBe(400);
    res = await post(admin, csv);
    expect(res.statusCode).toBe(200);
    expect(res.json().summary).toMatchObject({ created: 1, rows: 1 });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/team', ...as(manager) });
    expect(
      res
        .json()
        .people.map((p: { name: string }) => p.name)
        .sort(),
    ).toEqual(['Lee <b>Learner</b>', 'New Nurse']);
  });
});
