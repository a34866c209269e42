/** The shapes the awareness API answers with, as the console's training and directory pages see them. */

export type TrainingStatus = 'assigned' | 'in-progress' | 'passed' | 'overdue';
export type EmploymentStatus = 'active' | 'leave' | 'terminated';

export interface Me {
  person: {
    id: string;
    name: string;
    email: string;
    department: string | null;
    jobRole: string | null;
  } | null;
  manages: boolean;
  seesAllDepartments: boolean;
}

export interface Enrolment {
  id: string;
  assignmentId: string;
  personId: string;
  courseId: string;
  courseTitle: string;
  dueAt: string;
  status: TrainingStatus;
  startedAt: string | null;
  completedAt: string | null;
  bestScore: number | null;
}

export interface CourseSummary {
  id: string;
  title: string;
  summary: string;
  threat: string;
  duration: number;
  recurrence: string;
  passMark: number;
}

export interface LearnerQuestion {
  id: string;
  prompt: string;
  multiple: boolean;
  options: Array<{ id: string; text: string }>;
}

export interface LearnerCourse extends CourseSummary {
  audience: string[];
  version: number;
  /** The server's rendering of the course text: escaped, only its own tags, safe links only. */
  html: string;
  wordCount: number;
  quiz: { questions: LearnerQuestion[] };
}

export type QuizAnswers = Record<string, string | string[]>;

export interface QuizResult {
  attemptId: string;
  courseId: string;
  submittedAt: string;
  score: number;
  passed: boolean;
  correctCount: number;
  total: number;
  perQuestion: Array<{ id: string; correct: boolean; explanation: string }>;
}

export interface Attempt {
  id: string;
  courseId: string;
  score: number;
  passed: boolean;
  submittedAt: string;
}

export interface Certificate {
  completionId: string;
  courseId: string;
  courseTitle: string;
  courseVersion: number;
  score: number;
  passedAt: string;
  code: string;
}

export interface RiskReason {
  code: string;
  points: number;
  text: string;
}

export type RiskSummary = { score: number; reasons: RiskReason[]; computedAt: string } | null;

export interface TeamMember {
  id: string;
  name: string;
  email: string;
  department: string | null;
  jobRole: string | null;
  status: EmploymentStatus;
  courses: Array<{ courseId: string; courseTitle: string; status: TrainingStatus; dueAt: string }>;
  overdue: number;
  passed: number;
  risk: RiskSummary;
}

export interface TeamReport {
  scope: 'team' | 'department' | 'all';
  department: string | null;
  departments: string[];
  summary: {
    people: number;
    assigned: number;
    passed: number;
    overdue: number;
    completionRate: number | null;
    highRisk: number;
  };
  people: TeamMember[];
  overdue: Array<{ personId: string; name: string; courseId: string; courseTitle: string; dueAt: string }>;
}

export interface Person {
  id: string;
  name: string;
  email: string;
  department: string | null;
  jobRole: string | null;
  managerId: string | null;
  status: EmploymentStatus;
  startDate: string | null;
  consoleUserId: string | null;
  /** The identity provider's id (SCIM externalId), when provisioned through SCIM. */
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface PeoplePage {
  people: Person[];
  total: number;
  departments: string[];
}

export interface PhishingEvent {
  time: string;
  kind: string;
  campaignId: string;
  recipientId: string;
  scanner: boolean;
}

export interface PersonProfile {
  person: Person;
  manager: { id: string; name: string } | null;
  directReports: number;
  enrolments: Enrolment[];
  attempts: Attempt[];
  timeline: PhishingEvent[];
  risk: RiskSummary;
}

export interface ImportSummary {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  terminated: number;
  ignoredColumns: string[];
}

export const STATUS_LABELS: Record<TrainingStatus, string> = {
  assigned: 'Not started',
  'in-progress': 'In progress',
  passed: 'Passed',
  overdue: 'Overdue',
};

export const STATUS_BADGES: Record<TrainingStatus, string> = {
  assigned: 'badge-muted',
  'in-progress': 'badge-info',
  passed: 'badge-ok',
  overdue: 'badge-danger',
};

// ---- Phishing simulation ----

export type CampaignStatus = 'scheduled' | 'sending' | 'sent' | 'cancelled';

export interface PhishingTemplateSummary {
  id: string;
  name: string;
  subject: string;
  signs: string[];
  /** The landing page the template uses by default (shipped templates only). */
  landing?: string;
}

export interface LandingPage {
  id: string;
  title: string;
  heading: string;
  intro: string;
  button: string;
  fields: Array<{ name: string; label: string; type: 'text' | 'email' | 'password' }>;
}

export interface SendingProfile {
  id: string;
  name: string;
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  username: string | null;
  hasPassword: boolean;
  fromAddress: string;
  verifyTls: boolean;
  notifications: boolean;
  createdAt: string;
}

export interface PhishingStats {
  recipients: number;
  sent: number;
  errors: number;
  opened: number;
  clicked: number;
  submitted: number;
  reported: number;
  clickRate: number;
  submitRate: number;
  reportRate: number;
}

export interface CampaignCounts extends PhishingStats {
  scannerOpens: number;
  scannerClicks: number;
}

export interface Campaign {
  id: string;
  name: string;
  templateId: string;
  landingId: string | null;
  profileId: string;
  baseUrl: string;
  scheduledAt: string;
  ratePerMinute: number;
  status: CampaignStatus;
  recipients: number;
  createdAt: string;
  completedAt: string | null;
}

export interface CampaignListItem extends Campaign {
  counts: CampaignCounts | null;
}

export interface NewCampaign {
  name: string;
  templateId: string;
  landingId?: string | null;
  profileId: string;
  baseUrl: string;
  departments?: string[];
  scheduledAt?: string;
  ratePerMinute?: number;
}

export interface CampaignReport {
  overall: PhishingStats & { medianSecondsToReport: number | null };
  departments: Array<PhishingStats & { department: string | null; medianSecondsToReport: number | null }>;
}

export interface CampaignDetail {
  campaign: Campaign;
  report: CampaignReport;
  scanner: { opens: number; clicks: number };
}

export interface RecipientResult {
  id: string;
  personId: string;
  email: string;
  firstName: string;
  lastName: string;
  position: string;
  department: string | null;
  status: 'queued' | 'sending' | 'sent' | 'error';
  result: string;
  error: string | null;
  sentAt: string | null;
  openedAt: string | null;
  clickedAt: string | null;
  submittedAt: string | null;
  reportedAt: string | null;
  lastIp: string | null;
}

export interface CampaignEvent {
  time: string;
  kind: 'sent' | 'error' | 'open' | 'click' | 'submit' | 'report';
  campaignId: string;
  recipientId: string;
  personId: string;
  email: string;
  scanner: boolean;
  ip: string | null;
  userAgent: string | null;
}
