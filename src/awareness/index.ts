/**
 * @module awareness
 * Staff awareness, the public face: the training curriculum (courses as Markdown with a quiz, loaded
 * from a directory), quiz grading, and the staff directory with its all-or-nothing CSV import and
 * the termination event the access gateway acts on. Other domains and the server use only this file.
 */
import { Directory, type DirectoryDeps } from './directory.js';

export {
  COURSE_THREATS,
  type Course,
  type CourseProblem,
  type CourseThreat,
  Curriculum,
  countWords,
  type LearnerCourse,
  loadCourses,
  MAX_COURSE_BYTES,
  parseCourse,
  type QuizOption,
  type QuizQuestion,
  toLearnerCourse,
} from './courses.js';
export {
  type Actor,
  Directory,
  type DirectoryDeps,
  type ImportSummary,
  type NewPerson,
  PERSON_TERMINATED,
  type Person,
  type PersonPatch,
  type RowError,
  toPerson,
} from './directory.js';
export { escapeHtml, renderMarkdown, safeHref } from './markdown.js';
export { gradeQuiz, type QuestionResult, type QuizAnswers, type QuizResult } from './quiz.js';
export { awarenessMigrations, EMPLOYMENT_STATUSES, type EmploymentStatus } from './tables.js';

/** The awareness domain's services, built from its dependencies. */
export interface Awareness {
  directory: Directory;
}

/** Builds the awareness domain (the curriculum is loaded separately: see `Curriculum.load`). */
export function createAwareness(deps: DirectoryDeps): Awareness {
  return { directory: new Directory(deps) };
}
