import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countWords, loadCourses, parseCourse, toLearnerCourse } from './courses.js';

/** A valid course file; `patch` replaces lines of the front matter by their key. */
function courseText(overrides: Record<string, string> = {}, body = '## Why\n\nSome **text** here.'): string {
  const fields: Record<string, string> = {
    id: 'id: test-course',
    title: 'title: A test course',
    summary: 'summary: What it is about',
    audience: 'audience: [all staff]',
    duration: 'duration: 10',
    version: 'version: 1',
    threat: 'threat: phishing',
    recurrence: 'recurrence: P1Y',
    passMark: 'passMark: 80',
    quiz: [
      'quiz:',
      '  questions:',
      '    - id: q1',
      '      prompt: Pick a',
      '      options:',
      '        - { id: a, text: A }',
      '        - { id: b, text: B }',
      '      correct: [a]',
      '      explanation: Because a.',
      '    - id: q2',
      '      prompt: Pick a and c',
      '      multiple: true',
      '      options:',
      '        - { id: a, text: A }',
      '        - { id: b, text: B }',
      '        - { id: c, text: C }',
      '      correct: [a, c]',
      '      explanation: Both.',
    ].join('\n'),
    ...overrides,
  };
  return `---\n${Object.values(fields).filter(Boolean).join('\n')}\n---\n\n${body}\n`;
}

function problemsOf(fn: () => unknown): Array<{ file: string; field: string; message: string }> {
  try {
    fn();
  } catch (err) {
    return (err as { details: { problems: Array<{ file: string; field: string; message: string }> } }).details
      .problems;
  }
  throw new Error('expected a load error');
}

describe('parseCourse', () => {
  it('parses front matter, renders the body and counts words', () => {
    const c = parseCourse('t.md', courseText());
    expect(c).toMatchObject({
      id: 'test-course',
      passMark: 80,
      threat: 'phishing',
      recurrence: 'P1Y',
      file: 't.md',
    });
    expect(c.quiz.questions[0]).toMatchObject({ multiple: false, correct: ['a'] });
    expect(c.quiz.questions[1]).toMatchObject({ multiple: true, correct: ['a', 'c'] });
    expect(c.html).toBe('<h2>Why</h2>\n<p>Some <strong>text</strong> here.</p>');
    expect(c.wordCount).toBe(4);
  });

  it('accepts CRLF files with a BOM', () => {
    expect(parseCourse('t.md', `\uFEFF${courseText().replace(/\n/g, '\r\n')}`).id).toBe('test-course');
  });

  it('names the file and field of each problem', () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ passMark: 'passMark: 120' }, 'passMark', /<=100/],
      [{ passMark: 'passMark: 0' }, 'passMark', />=1/],
      [{ id: 'id: Not A Slug' }, 'id', /lower-case/],
      [{ threat: 'threat: aliens' }, 'threat', /./],
      [{ recurrence: 'recurrence: yearly' }, 'recurrence', /ISO 8601/],
      [{ title: '' }, 'title', /./],
      [{ duration: 'duration: 0' }, 'duration', /./],
    ];
    for (const [patch, field, message] of cases) {
      const problems = problemsOf(() => parseCourse('bad.md', courseText(patch)));
      expect(problems, JSON.stringify(patch)).toContainEqual({
        file: 'bad.md',
        field,
        message: expect.stringMatching(message),
      });
    }
  });

  it('refuses quizzes with a missing answer, a wrong answer, or duplicates', () => {
    const q = (lines: string[]) => ({ quiz: ['quiz:', '  questions:', ...lines].join('\n') });
    const base = [
      '    - id: q1',
      '      prompt: P',
      '      options:',
      '        - { id: a, text: A }',
      '        - { id: b, text: B }',
    ];
    expect(
      problemsOf(() => parseCourse('f.md', courseText(q([...base, '      explanation: E'])))),
    ).toContainEqual(expect.objectContaining({ field: 'quiz.questions.0.correct' }));
    expect(
      problemsOf(() =>
        parseCourse('f.md', courseText(q([...base, '      correct: []', '      explanation: E']))),
      ),
    ).toContainEqual(
      expect.objectContaining({
        field: 'quiz.questions.0.correct',
        message: expect.stringMatching(/at least one/),
      }),
    );
    expect(
      problemsOf(() =>
        parseCourse('f.md', courseText(q([...base, '      correct: [z]', '      explanation: E']))),
      ),
    ).toContainEqual({
      file: 'f.md',
      field: 'quiz.questions.0.correct.0',
      message: 'z is not one of the options',
    });
    expect(
      problemsOf(() =>
        parseCourse('f.md', courseText(q([...base, '      correct: [a, b]', '      explanation: E']))),
      ),
    ).toContainEqual(
      expect.objectContaining({
        field: 'quiz.questions.0.correct',
        message: expect.stringMatching(/exactly one/),
      }),
    );
    expect(
      problemsOf(() => parseCourse('f.md', courseText(q([...base, '      correct: [a]'])))),
    ).toContainEqual(expect.objectContaining({ field: 'quiz.questions.0.explanation' }));
    const twice = [...base, '      correct: [a]', '      explanation: E'];
    expect(problemsOf(() => parseCourse('f.md', courseText(q([...twice, ...twice]))))).toContainEqual(
      expect.objectContaining({ field: 'quiz.questions.1.id', message: 'duplicate question id q1' }),
    );
    const dupOption = [
      '    - id: q1',
      '      prompt: P',
      '      options:',
      '        - { id: a, text: A }',
      '        - { id: a, text: B }',
      '      correct: [a]',
      '      explanation: E',
    ];
    expect(problemsOf(() => parseCourse('f.md', courseText(q(dupOption))))).toContainEqual(
      expect.objectContaining({ field: 'quiz.questions.0.options.1.id' }),
    );
  });

  it('refuses unknown keys, missing front matter, bad YAML, YAML aliases and an empty body', () => {
    expect(problemsOf(() => parseCourse('f.md', courseText({ extra: 'colour: blue' })))).toContainEqual(
      expect.objectContaining({ file: 'f.md', message: expect.stringMatching(/colour/) }),
    );
    expect(problemsOf(() => parseCourse('f.md', '# Just markdown'))[0]!.message).toMatch(/front matter/);
    expect(problemsOf(() => parseCourse('f.md', '---\nid: [\n---\nx'))[0]!.field).toBe('front matter');
    expect(
      problemsOf(() => parseCourse('f.md', courseText({ summary: 'summary: &a x', title: 'title: *a' })))[0]!
        .field,
    ).toBe('front matter');
    expect(problemsOf(() => parseCourse('f.md', courseText({}, '   ')))[0]!.field).toBe('body');
  });

  it('renders hostile course bodies safely', () => {
    const c = parseCourse('f.md', courseText({}, '<script>alert(1)</script>\n\n[x](javascript:void)'));
    expect(c.html).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n<p>x</p>');
  });

  it('hands learners the quiz without answers or explanations', () => {
    const learner = toLearnerCourse(parseCourse('t.md', courseText()));
    expect(JSON.stringify(learner.quiz)).not.toMatch(/correct|explanation/);
    expect(learner.quiz.questions[1]).toEqual({
      id: 'q2',
      prompt: 'Pick a and c',
      multiple: true,
      options: [
        { id: 'a', text: 'A' },
        { id: 'b', text: 'B' },
        { id: 'c', text: 'C' },
      ],
    });
  });

  it('counts words, not Markdown syntax or link targets', () => {
    expect(countWords("## Don't click\n\n- **one** [two](https://a.example/b-c-d) three-four")).toBe(5);
  });
});

describe('loadCourses', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-courses-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads every .md file in name order and ignores other files', async () => {
    writeFileSync(path.join(dir, 'b.md'), courseText({ id: 'id: bee' }));
    writeFileSync(path.join(dir, 'a.md'), courseText({ id: 'id: ay' }));
    writeFileSync(path.join(dir, 'notes.txt'), 'not a course');
    expect((await loadCourses(dir)).map((c) => c.id)).toEqual(['ay', 'bee']);
  });

  it('reports duplicate ids and every bad file together', async () => {
    writeFileSync(path.join(dir, 'a.md'), courseText());
    writeFileSync(path.join(dir, 'b.md'), courseText());
    writeFileSync(path.join(dir, 'c.md'), courseText({ id: 'id: other', passMark: 'passMark: 101' }));
    const err = await loadCourses(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'CONFIG_INVALID',
      details: {
        problems: [
          { file: 'b.md', field: 'id', message: 'duplicate course id test-course (also in a.md)' },
          { file: 'c.md', field: 'passMark', message: expect.any(String) },
        ],
      },
    });
    expect((err as Error).message).toContain('b.md: id: duplicate course id');
  });

  it('refuses an oversized file', async () => {
    writeFileSync(path.join(dir, 'big.md'), courseText({}, 'word '.repeat(60_000)));
    await expect(loadCourses(dir)).rejects.toMatchObject({ details: { problems: [{ file: 'big.md' }] } });
  });
});
