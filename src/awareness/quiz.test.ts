import { describe, expect, it } from 'vitest';
import type { Course } from './courses.js';
import { gradeQuiz } from './quiz.js';

const course: Course = {
  id: 'c',
  title: 'C',
  summary: 'S',
  audience: ['all staff'],
  duration: 10,
  version: 1,
  threat: 'phishing',
  recurrence: 'P1Y',
  passMark: 75,
  markdown: 'x',
  html: '<p>x</p>',
  wordCount: 1,
  file: 'c.md',
  quiz: {
    questions: [
      {
        id: 'q1',
        prompt: 'P1',
        multiple: false,
        options: opts('a', 'b', 'c'),
        correct: ['b'],
        explanation: 'E1',
      },
      {
        id: 'q2',
        prompt: 'P2',
        multiple: true,
        options: opts('a', 'b', 'c', 'd'),
        correct: ['a', 'd'],
        explanation: 'E2',
      },
      { id: 'q3', prompt: 'P3', multiple: false, options: opts('a', 'b'), correct: ['a'], explanation: 'E3' },
      { id: 'q4', prompt: 'P4', multiple: true, options: opts('a', 'b'), correct: ['b'], explanation: 'E4' },
    ],
  },
};

function opts(...ids: string[]) {
  return ids.map((id) => ({ id, text: id.toUpperCase() }));
}

describe('gradeQuiz', () => {
  it('passes a perfect quiz and explains every question', () => {
    const r = gradeQuiz(course, { q1: 'b', q2: ['d', 'a'], q3: 'a', q4: ['b'] });
    expect(r).toEqual({
      score: 100,
      passed: true,
      correctCount: 4,
      total: 4,
      perQuestion: [
        { id: 'q1', correct: true, explanation: 'E1' },
        { id: 'q2', correct: true, explanation: 'E2' },
        { id: 'q3', correct: true, explanation: 'E3' },
        { id: 'q4', correct: true, explanation: 'E4' },
      ],
    });
  });

  it('needs exactly the right set on a multiple-answer question', () => {
    const partial = gradeQuiz(course, { q1: 'b', q2: ['a'], q3: 'a', q4: ['b'] });
    expect(partial.perQuestion[1]).toMatchObject({ id: 'q2', correct: false });
    const extra = gradeQuiz(course, { q1: 'b', q2: ['a', 'b', 'd'], q3: 'a', q4: ['b'] });
    expect(extra.perQuestion[1]!.correct).toBe(false);
  });

  it('passes at the pass mark exactly and fails below it', () => {
    const atMark = gradeQuiz(course, { q1: 'b', q2: ['a', 'd'], q3: 'a', q4: ['a'] });
    expect(atMark).toMatchObject({ score: 75, passed: true, correctCount: 3 });
    const below = gradeQuiz(course, { q1: 'a', q2: ['a', 'd'], q3: 'b', q4: ['b'] });
    expect(below).toMatchObject({ score: 50, passed: false });
  });

  it('never rounds a fail into a pass', () => {
    const three: Course = { ...course, passMark: 67, quiz: { questions: course.quiz.questions.slice(0, 3) } };
    // 2 of 3 = 66.67 %: below 67 although it would round to 67.
    expect(gradeQuiz(three, { q1: 'b', q2: ['a', 'd'], q3: 'b' })).toMatchObject({
      score: 66,
      passed: false,
    });
  });

  it('refuses unknown questions, missing answers and malformed shapes with the field', () => {
    const ok = { q1: 'b', q2: ['a', 'd'], q3: 'a', q4: ['b'] };
    const cases: Array<[unknown, string, RegExp]> = [
      [null, 'answers', /object/],
      [['b'], 'answers', /object/],
      ['b', 'answers', /object/],
      [{ ...ok, q9: 'a' }, 'answers.q9', /no such question/],
      [{ q1: 'b', q2: ['a', 'd'], q3: 'a' }, 'answers.q4', /missing answer/],
      [{ ...ok, q3: null }, 'answers.q3', /missing answer/],
      [{ ...ok, q1: ['b'] }, 'answers.q1', /one option id/],
      [{ ...ok, q1: 2 }, 'answers.q1', /one option id/],
      [{ ...ok, q2: 'a' }, 'answers.q2', /list of option ids/],
      [{ ...ok, q2: [] }, 'answers.q2', /at least one/],
      [{ ...ok, q2: ['a', 'a'] }, 'answers.q2', /twice/],
      [{ ...ok, q2: ['a', 1] }, 'answers.q2', /list of option ids/],
      [{ ...ok, q1: 'z' }, 'answers.q1', /unknown option "z"/],
      [{ ...ok, q1: '<script>'.repeat(50) }, 'answers.q1', /unknown option/],
    ];
    for (const [answers, field, message] of cases) {
      let error: unknown;
      try {
        gradeQuiz(course, answers);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(answers)).toMatchObject({
        code: 'BAD_REQUEST',
        details: { field },
        message: expect.stringMatching(message),
      });
      expect((error as Error).message.length).toBeLessThan(200);
    }
  });

  it('ignores prototype tricks: only own answers count', () => {
    const sneaky = JSON.parse('{"__proto__": {"q1": "b"}, "q2": ["a","d"], "q3": "a", "q4": ["b"]}');
    expect(() => gradeQuiz(course, sneaky)).toThrow(/answers\.(__proto__|q1)/);
  });
});
