/**
 * @module awareness/courses
 * The training curriculum: courses are Markdown files with YAML front matter that ship in the
 * repository (`content/courses/`). Keeping them as files means a hospital's security team reviews
 * and changes training the way it changes code, with history; the loader makes sure a broken
 * course (a quiz with no right answer, a duplicate id, a pass mark of 120 %) stops start-up with a
 * message naming the file and field, instead of reaching a learner.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VigilError } from '../core/index.js';
import { renderMarkdown } from './markdown.js';

/**
 * What a course is about: the five threats of HHS 405(d) HICP (Health Industry Cybersecurity
 * Practices), plus remote access and incident reporting. Reports and risk group courses by it.
 */
export const COURSE_THREATS = [
  'phishing',
  'ransomware',
  'equipment-loss',
  'insider-data-loss',
  'medical-devices',
  'remote-access',
  'incident-reporting',
] as const;

export type CourseThreat = (typeof COURSE_THREATS)[number];

const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
const SHORT_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** ISO 8601 durations in whole years, months, weeks or days: P1Y, P6M, P90D, P1Y6M. */
const RECURRENCE = /^P(?=\d)(\d{1,3}Y)?(\d{1,3}M)?(\d{1,3}W)?(\d{1,4}D)?$/;

/** The most a course file may weigh: far above any real course, far below a memory problem. */
export const MAX_COURSE_BYTES = 256 * 1024;

const optionSchema = z
  .object({
    id: z.string().regex(SHORT_ID, 'lower-case letters, digits, dash or underscore, up to 32'),
    text: z.string().trim().min(1).max(500),
  })
  .strict();

const questionSchema = z
  .object({
    id: z.string().regex(SHORT_ID, 'lower-case letters, digits, dash or underscore, up to 32'),
    prompt: z.string().trim().min(1).max(1000),
    multiple: z.boolean().default(false),
    options: z.array(optionSchema).min(2).max(8),
    correct: z.array(z.string()).min(1, 'at least one correct answer is required'),
    explanation: z.string().trim().min(1).max(2000),
  })
  .strict()
  .superRefine((q, ctx) => {
    const ids = new Set<string>();
    q.options.forEach((o, i) => {
      if (ids.has(o.id))
        ctx.addIssue({ code: 'custom', path: ['options', i, 'id'], message: `duplicate option id ${o.id}` });
      ids.add(o.id);
    });
    const seen = new Set<string>();
    q.correct.forEach((c, i) => {
      if (!ids.has(c))
        ctx.addIssue({ code: 'custom', path: ['correct', i], message: `${c} is not one of the options` });
      if (seen.has(c))
        ctx.addIssue({ code: 'custom', path: ['correct', i], message: `${c} is listed twice` });
      seen.add(c);
    });
    if (!q.multiple && q.correct.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['correct'],
        message: 'a single-answer question has exactly one correct option (set multiple: true otherwise)',
      });
  });

const frontMatterSchema = z
  .object({
    id: z.string().regex(SLUG, 'lower-case letters, digits and dashes, up to 64'),
    title: z.string().trim().min(1).max(200),
    summary: z.string().trim().min(1).max(1000),
    audience: z.array(z.string().trim().min(1).max(100)).min(1),
    duration: z.number().int().min(1).max(240),
    version: z.number().int().min(1),
    threat: z.enum(COURSE_THREATS),
    recurrence: z.string().regex(RECURRENCE, 'an ISO 8601 duration such as P1Y, P6M or P90D'),
    passMark: z.number().int().min(1).max(100),
    quiz: z
      .object({ questions: z.array(questionSchema).min(1).max(50) })
      .strict()
      .superRefine((quiz, ctx) => {
        const ids = new Set<string>();
        quiz.questions.forEach((q, i) => {
          if (ids.has(q.id))
            ctx.addIssue({
              code: 'custom',
              path: ['questions', i, 'id'],
              message: `duplicate question id ${q.id}`,
            });
          ids.add(q.id);
        });
      }),
  })
  .strict();

/** One answer option of a quiz question. */
export type QuizOption = { id: string; text: string };

/** A quiz question: single-answer (radio) or multiple-answer (checkboxes, all must be chosen). */
export type QuizQuestion = {
  id: string;
  prompt: string;
  multiple: boolean;
  options: QuizOption[];
  correct: string[];
  explanation: string;
};

/** A loaded, validated course with its body already rendered to safe HTML. */
export type Course = {
  id: string;
  title: string;
  summary: string;
  audience: string[];
  /** Minutes a learner needs, quiz included. */
  duration: number;
  /** Raised when the content changes enough that completions of older versions should be redone. */
  version: number;
  threat: CourseThreat;
  /** ISO 8601 duration after which a completion is due again (P1Y: yearly). */
  recurrence: string;
  /** Percentage of questions to answer correctly to pass, 1-100. */
  passMark: number;
  quiz: { questions: QuizQuestion[] };
  /** The Markdown body as written. */
  markdown: string;
  /** The body rendered by {@link renderMarkdown}: no raw HTML, only safe links. */
  html: string;
  /** Words in the body (for reading time and the curriculum checks). */
  wordCount: number;
  /** File name the course came from (for error messages and the console's "edit" hint). */
  file: string;
};

/** A course as learners see it before answering: the quiz without answers or explanations. */
export type LearnerCourse = Omit<Course, 'quiz'> & {
  quiz: { questions: Array<Omit<QuizQuestion, 'correct' | 'explanation'>> };
};

/** Strips the answers from a course, for the page a learner takes the quiz on. */
export function toLearnerCourse(course: Course): LearnerCourse {
  return {
    ...course,
    quiz: {
      questions: course.quiz.questions.map((q) => ({
        id: q.id,
        prompt: q.prompt,
        multiple: q.multiple,
        options: q.options,
      })),
    },
  };
}

/** One problem found while loading courses. */
export interface CourseProblem {
  file: string;
  field: string;
  message: string;
}

function loadError(problems: CourseProblem[]): VigilError {
  const lines = problems.map((p) => `  - ${p.file}: ${p.field ? `${p.field}: ` : ''}${p.message}`);
  return new VigilError('CONFIG_INVALID', `Invalid courses:\n${lines.join('\n')}`, {
    details: { problems },
  });
}

/** Counts words the way a reader would: runs of letters or digits, Markdown syntax ignored. */
export function countWords(markdown: string): number {
  const text = markdown.replace(/\]\([^)]*\)/g, ']');
  return text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu)?.length ?? 0;
}

/**
 * Parses one course file's text. Throws a `CONFIG_INVALID` VigilError whose message and
 * `details.problems` name the file and each bad field.
 */
export function parseCourse(file: string, text: string): Course {
  const problems: CourseProblem[] = [];
  const source = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const match = /^---\n([\s\S]*?)\n---[ \t]*(?:\n|$)([\s\S]*)$/.exec(source);
  if (!match) {
    throw loadError([
      { file, field: '', message: 'no YAML front matter (a --- line, the fields, a --- line)' },
    ]);
  }
  let data: unknown;
  try {
    data = parseYaml(match[1]!, { maxAliasCount: 0, prettyErrors: false });
  } catch (err) {
    throw loadError([{ file, field: 'front matter', message: `not valid YAML: ${(err as Error).message}` }]);
  }
  const parsed = frontMatterSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ file, field: issue.path.map(String).join('.'), message: issue.message });
    }
    throw loadError(problems);
  }
  const markdown = match[2]!.trim();
  if (markdown.length === 0) throw loadError([{ file, field: 'body', message: 'the course has no text' }]);
  return {
    ...parsed.data,
    markdown,
    html: renderMarkdown(markdown),
    wordCount: countWords(markdown),
    file,
  };
}

/**
 * Loads every `*.md` file of a directory (not recursive), sorted by file name, and checks that
 * course ids are unique. All problems of all files are reported together, so one run of the
 * server shows everything to fix.
 */
export async function loadCourses(dir: string): Promise<Course[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.md')).sort();
  const courses: Course[] = [];
  const problems: CourseProblem[] = [];
  const byId = new Map<string, string>();
  for (const name of names) {
    const file = path.join(dir, name);
    const info = await stat(file);
    if (!info.isFile()) continue;
    if (info.size > MAX_COURSE_BYTES) {
      problems.push({ file: name, field: '', message: `larger than ${MAX_COURSE_BYTES} bytes` });
      continue;
    }
    try {
      const course = parseCourse(name, await readFile(file, 'utf8'));
      const other = byId.get(course.id);
      if (other) {
        problems.push({
          file: name,
          field: 'id',
          message: `duplicate course id ${course.id} (also in ${other})`,
        });
        continue;
      }
      byId.set(course.id, name);
      courses.push(course);
    } catch (err) {
      const details = (err as VigilError).details as { problems?: CourseProblem[] } | undefined;
      if (!details?.problems) throw err;
      problems.push(...details.problems);
    }
  }
  if (problems.length) throw loadError(problems);
  return courses;
}

/** Courses by id, for the routes that look one up. */
export class Curriculum {
  readonly #byId: Map<string, Course>;
  constructor(readonly courses: readonly Course[]) {
    this.#byId = new Map(courses.map((c) => [c.id, c]));
  }

  /** Loads the curriculum from a directory (see {@link loadCourses}). */
  static async load(dir: string): Promise<Curriculum> {
    return new Curriculum(await loadCourses(dir));
  }

  get(id: string): Course | undefined {
    return this.#byId.get(id);
  }

  /** The course, or a NOT_FOUND VigilError. */
  mustGet(id: string): Course {
    const course = this.#byId.get(id);
    if (!course) throw new VigilError('NOT_FOUND', 'No such course', { details: { field: 'courseId' } });
    return course;
  }
}
