/**
 * @module awareness/quiz
 * Grades a learner's quiz answers. The answers come straight from an HTTP body, so they arrive as
 * `unknown` and every shape problem is a `BAD_REQUEST` naming the question: a quiz result feeds
 * each person's risk, so a malformed submission must never be graded as a pass or a fail.
 */
import { VigilError } from '../core/index.js';
import type { Course } from './courses.js';

/** The outcome of one question, with the explanation the learner reads afterwards. */
export type QuestionResult = { id: string; correct: boolean; explanation: string };

/** A graded quiz: `score` is the percentage of questions answered correctly (rounded down). */
export type QuizResult = {
  score: number;
  passed: boolean;
  correctCount: number;
  total: number;
  perQuestion: QuestionResult[];
};

/**
 * The answers a learner submits: question id → the chosen option id (single-answer questions) or
 * the list of chosen option ids (multiple-answer questions).
 */
export type QuizAnswers = Record<string, string | string[]>;

function bad(message: string, field: string): VigilError {
  return new VigilError('BAD_REQUEST', `${field}: ${message}`, { details: { field } });
}

/**
 * Grades `answers` against the course's quiz. Every question must be answered; unknown question
 * ids, unknown option ids, a list for a single-answer question, a lone string or duplicates for a
 * multiple-answer one are refused. A multiple-answer question is right only when exactly the
 * correct options are chosen. `passed` compares the exact fraction with the pass mark, so rounding
 * never turns a fail into a pass.
 */
export function gradeQuiz(course: Course, answers: unknown): QuizResult {
  if (typeof answers !== 'object' || answers === null || Array.isArray(answers)) {
    throw bad('expected an object of question id to answer', 'answers');
  }
  const given = answers as Record<string, unknown>;
  const questions = course.quiz.questions;
  const known = new Set(questions.map((q) => q.id));
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw bad('no such question in this quiz', `answers.${key}`);
  }
  const perQuestion: QuestionResult[] = [];
  let correctCount = 0;
  for (const q of questions) {
    const field = `answers.${q.id}`;
    if (!Object.hasOwn(given, q.id) || given[q.id] === undefined || given[q.id] === null) {
      throw bad('missing answer', field);
    }
    const value = given[q.id];
    const optionIds = new Set(q.options.map((o) => o.id));
    let chosen: string[];
    if (q.multiple) {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        throw bad('expected a list of option ids (this question takes several answers)', field);
      }
      chosen = value as string[];
      if (chosen.length === 0) throw bad('choose at least one option', field);
      if (new Set(chosen).size !== chosen.length) throw bad('an option is chosen twice', field);
    } else {
      if (typeof value !== 'string')
        throw bad('expected one option id (this question takes one answer)', field);
      chosen = [value];
    }
    for (const c of chosen)
      if (!optionIds.has(c)) throw bad(`unknown option ${JSON.stringify(c.slice(0, 40))}`, field);
    const correct = chosen.length === q.correct.length && q.correct.every((c) => chosen.includes(c));
    if (correct) correctCount++;
    perQuestion.push({ id: q.id, correct, explanation: q.explanation });
  }
  const total = questions.length;
  return {
    score: Math.floor((correctCount * 100) / total),
    passed: correctCount * 100 >= course.passMark * total,
    correctCount,
    total,
    perQuestion,
  };
}
