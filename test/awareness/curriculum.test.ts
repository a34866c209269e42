/**
 * The curriculum that ships in `content/courses/`: every course loads, covers its threat, is long
 * enough to teach and short enough to finish, and every quiz can be passed with its own answers.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { COURSE_THREATS, type Course, Curriculum, gradeQuiz } from '../../src/awareness/index.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../content/courses');

describe('the shipped curriculum', () => {
  let curriculum: Curriculum;
  beforeAll(async () => {
    curriculum = await Curriculum.load(DIR);
  });

  it('has seven valid courses, one for each HICP threat, remote access and incident reporting', () => {
    expect(curriculum.courses).toHaveLength(7);
    expect(curriculum.courses.map((c) => c.threat).sort()).toEqual([...COURSE_THREATS].sort());
    for (const c of curriculum.courses) {
      expect(c.recurrence, c.id).toBe('P1Y');
      expect(c.passMark, c.id).toBeGreaterThanOrEqual(70);
      expect(curriculum.mustGet(c.id)).toBe(c);
    }
    expect(() => curriculum.mustGet('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('keeps each course between 600 and 1,200 words with 5 to 8 quiz questions', () => {
    for (const c of curriculum.courses) {
      expect(c.wordCount, c.id).toBeGreaterThanOrEqual(600);
      expect(c.wordCount, c.id).toBeLessThanOrEqual(1200);
      expect(c.quiz.questions.length, c.id).toBeGreaterThanOrEqual(5);
      expect(c.quiz.questions.length, c.id).toBeLessThanOrEqual(8);
    }
  });

  it('lets a learner pass every quiz with the right answers and fail it with wrong ones', () => {
    for (const c of curriculum.courses) {
      const right = gradeQuiz(c, answers(c, 'right'));
      expect(right, c.id).toMatchObject({ score: 100, passed: true });
      expect(right.perQuestion.every((q) => q.explanation.length > 20)).toBe(true);
      const wrong = gradeQuiz(c, answers(c, 'wrong'));
      expect(wrong, c.id).toMatchObject({ score: 0, passed: false });
    }
  });

  it('mixes single- and multiple-answer questions, and every question has a wrong option', () => {
    const all = curriculum.courses.flatMap((c) => c.quiz.questions);
    expect(all.some((q) => q.multiple)).toBe(true);
    for (const q of all) expect(q.correct.length, q.id).toBeLessThan(q.options.length);
  });

  it('renders to HTML with only the renderer’s own tags', () => {
    for (const c of curriculum.courses) {
      const tags = c.html.match(/<\/?([a-z0-9]+)/g) ?? [];
      for (const t of tags) expect(t, c.id).toMatch(/^<\/?(h2|h3|p|ul|ol|li|strong|em|code|blockquote|a)$/);
      expect(c.html, c.id).toContain('<h2>');
    }
  });

  it('teaches the points the hospital relies on', () => {
    const text = (id: string) => curriculum.mustGet(id).markdown.toLowerCase();
    expect(text('phishing-and-social-engineering')).toMatch(/mfa fatigue/);
    expect(text('phishing-and-social-engineering')).toMatch(/qr code/);
    expect(text('ransomware-and-downtime')).toMatch(/never pay/);
    expect(text('ransomware-and-downtime')).toMatch(/downtime pack/);
    expect(text('handling-patient-data')).toMatch(/break-glass/);
    expect(text('handling-patient-data')).toMatch(/vault/);
    expect(text('handling-patient-data')).toMatch(/minimum necessary/);
    expect(text('connected-medical-devices')).toMatch(/access gateway/);
    expect(text('connected-medical-devices')).toMatch(/biomedical engineering/);
    expect(text('loss-or-theft-of-equipment-and-data')).toMatch(/encrypt/);
    expect(text('remote-access-hygiene')).toMatch(/never share credentials/);
    expect(text('reporting-an-incident')).toMatch(/no-blame/);
  });
});

/** The correct answers, or for 'wrong' an answer that is wrong for every question. */
function answers(course: Course, kind: 'right' | 'wrong'): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const q of course.quiz.questions) {
    const chosen = kind === 'right' ? q.correct : [q.options.find((o) => !q.correct.includes(o.id))!.id];
    out[q.id] = q.multiple ? chosen : chosen[0]!;
  }
  return out;
}
