/** The console's client for training, certificates, team reports and the staff directory. */
import { request } from './api.js';
import type {
  Attempt,
  Campaign,
  CampaignDetail,
  CampaignEvent,
  CampaignListItem,
  Certificate,
  CourseSummary,
  Enrolment,
  ImportSummary,
  LandingPage,
  LearnerCourse,
  Me,
  NewCampaign,
  PeoplePage,
  PersonProfile,
  PhishingTemplateSummary,
  QuizAnswers,
  QuizResult,
  RecipientResult,
  SendingProfile,
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

  // ---- Phishing simulation (administrators and analysts) ----
  phishingTemplates: async (): Promise<PhishingTemplateSummary[]> =>
    (await request<{ templates: PhishingTemplateSummary[] }>('GET', '/api/awareness/phishing/templates'))
      .templates,
  landings: async (): Promise<LandingPage[]> =>
    (await request<{ landings: LandingPage[] }>('GET', '/api/awareness/phishing/landings')).landings,
  sendingProfiles: async (): Promise<SendingProfile[]> =>
    (await request<{ profiles: SendingProfile[] }>('GET', '/api/awareness/phishing/profiles')).profiles,
  campaigns: async (): Promise<CampaignListItem[]> =>
    (await request<{ campaigns: CampaignListItem[] }>('GET', '/api/awareness/phishing/campaigns')).campaigns,
  createCampaign: async (campaign: NewCampaign): Promise<Campaign> =>
    (await request<{ campaign: Campaign }>('POST', '/api/awareness/phishing/campaigns', campaign)).campaign,
  campaign: (id: string): Promise<CampaignDetail> =>
    request('GET', `/api/awareness/phishing/campaigns/${at(id)}`),
  cancelCampaign: async (id: string): Promise<Campaign> =>
    (await request<{ campaign: Campaign }>('POST', `/api/awareness/phishing/campaigns/${at(id)}/cancel`))
      .campaign,
  campaignRecipients: async (id: string): Promise<RecipientResult[]> =>
    (
      await request<{ recipients: RecipientResult[] }>(
        'GET',
        `/api/awareness/phishing/campaigns/${at(id)}/recipients`,
      )
    ).recipients,
  campaignTimeline: async (id: string): Promise<CampaignEvent[]> =>
    (
      await request<{ events: CampaignEvent[] }>(
        'GET',
        `/api/awareness/phishing/campaigns/${at(id)}/timeline`,
      )
    ).events,
  /** The GoPhish-layout results file (a same-origin download with the session cookie). */
  campaignCsvUrl: (id: string): string => `/api/awareness/phishing/campaigns/${at(id)}/results.csv`,
};
