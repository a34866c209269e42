/** The console's client for training, certificates, team reports and the staff directory. */
import { request } from './api.js';
import type {
  Attempt,
  Certificate,
  CourseSummary,
  Enrolment,
  ImportSummary,
  LearnerCourse,
  Me,
  PeoplePage,
  PersonProfile,
  QuizAnswers,
  QuizResult,
  TeamReport,
} from './awareness-types.js';

const at = (id: string) => encodeURIComponent(id);

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const awarenessApi = {
  me: (): Promise<Me> => request('GET', '/api/awareness/me'),
  courses: async (): Promise<CourseSummary[]> =>
    (await request<{ courses: CourseSummary[] }>('GET', '/api/awareness/courses')).courses,
  myCourses: async (): Promise<Enrolment[]> =>
    (await request<{ enrolments: Enrolment[] }>('GET', '/api/awareness/me/courses')).enrolments,
  course: async (courseId: string): Promise<LearnerCourse> =>
    (await request<{ course: LearnerCourse }>('GET', `/api/awareness/me/courses/${at(courseId)}`)).course,
  submitQuiz: async (courseId: string, answers: QuizAnswers): Promise<QuizResult> =>
    (
      await request<{ result: QuizResult }>('POST', `/api/awareness/me/courses/${at(courseId)}/quiz`, {
        answers,
      })
    ).result,
  results: async (): Promise<Attempt[]> =>
    (await request<{ attempts: Attempt[] }>('GET', '/api/awareness/me/results')).attempts,
  certificates: async (): Promise<Certificate[]> =>
    (await request<{ certificates: Certificate[] }>('GET', '/api/awareness/me/certificates')).certificates,
  /** Where the printable certificate opens (an HTML page of the server, same origin). */
  certificateUrl: (completionId: string): string => `/api/awareness/me/certificates/${at(completionId)}`,
  team: (department?: string): Promise<TeamReport> =>
    request('GET', `/api/awareness/team${query({ department })}`),
  people: (search: {
    q?: string;
    department?: string;
    offset?: number;
    limit?: number;
  }): Promise<PeoplePage> => request('GET', `/api/awareness/people${query({ ...search })}`),
  person: (id: string): Promise<PersonProfile> => request('GET', `/api/awareness/people/${at(id)}`),
  importPeople: async (csv: string): Promise<ImportSummary> =>
    (await request<{ summary: ImportSummary }>('POST', '/api/awareness/people/import', { csv })).summary,
};
