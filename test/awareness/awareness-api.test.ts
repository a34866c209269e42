/**
 * The awareness API over HTTP: an analyst assigns, a signed-in learner reads their course and
 * submits the quiz (graded on the server), a manager sees their team, non-managers do not, and the
 * exports answer CSV and xAPI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type ServerFixture, serverFixture, signIn } from '../support/server-fixture.js';

const PHISHING = 'phishing-and-social-engineering';

describe('awareness API', () => {
  let f: ServerFixture;
  let analyst: Browser;
  let learner: Browser;
  let manager: Browser;
  beforeAll(async () => {
    f = await serverFixture();
    analyst = await signIn(f, 'ana.lyst', 'analyst');
    learner = await signIn(f, 'lee.learner', 'staff');
    manager = await signIn(f, 'meg.manager', 'clinician');
    const users = await f.services.identity.users.list();
    const uid = (name: string) => users.find((u) => u.username === name)!.id;
    const d = f.services.awareness.directory;
    const meg = await d.create({
      name: 'Meg Manager',
      email: 'meg@h.example',
      department: 'ICU',
      consoleUserId: uid('meg.manager'),
    });
    await d.create({
      name: 'Lee Learner',
      email: 'lee@h.example',
      department: 'ICU',
      managerId: meg.id,
      consoleUserId: uid('lee.learner'),
    });
  });
  afterAll(() => f.close());

  it('runs the learner journey and the manager view', async () => {
    let res = await f.app.inject({
      method: 'POST',
      url: '/api/awareness/assignments',
      ...as(analyst),
      payload: { courseId: PHISHING, departments: ['ICU'], dueAt: '2030-01-31', recurrence: 'P1Y' },
    });
    expect(res.statusCode).toBe(201);
    res = await f.app.inject({
      method: 'POST',
      url: '/api/awareness/assignments',
      ...as(learner),
      payload: { courseId: PHISHING, departments: ['ICU'], dueAt: '2030-01-31' },
    });
    expect(res.statusCode).toBe(403);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/me/courses', ...as(learner) });
    expect(res.json().enrolments).toEqual([
      expect.objectContaining({ courseId: PHISHING, status: 'assigned' }),
    ]);
    res = await f.app.inject({ method: 'GET', url: `/api/awareness/me/courses/${PHISHING}`, ...as(learner) });
    const course = res.json().course;
    expect(course.html).toContain('<h');
    expect(JSON.stringify(course)).not.toContain('explanation');
    const full = f.services.awareness.training.curriculum.mustGet(PHISHING);
    const answers = Object.fromEntries(
      full.quiz.questions.map((q) => [q.id, q.multiple ? q.correct : q.correct[0]!]),
    );
    res = await f.app.inject({
      method: 'POST',
      url: `/api/awareness/me/courses/${PHISHING}/quiz`,
      ...as(learner),
      payload: { answers },
    });
    expect(res.json().result).toMatchObject({ passed: true, score: 100 });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/me/results', ...as(learner) });
    expect(res.json().attempts).toHaveLength(1);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/team/completion', ...as(manager) });
    expect(res.statusCode).toBe(200);
    expect(
      res
        .json()
        .enrolments.map((e: { status: string }) => e.status)
        .sort(),
    ).toEqual(['assigned', 'passed']);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/team/completion', ...as(learner) });
    expect(res.statusCode).toBe(403);
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/completions.csv', ...as(analyst) });
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.body).toContain('lee@h.example');
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/completions/xapi', ...as(analyst) });
    expect(res.json().statements[0]).toMatchObject({
      actor: { mbox: 'mailto:lee@h.example' },
      verb: { id: 'http://adlnet.gov/expapi/verbs/passed' },
    });
    res = await f.app.inject({ method: 'GET', url: '/api/awareness/me/courses', ...as(analyst) });
    expect(res.statusCode).toBe(404);
  });
});
