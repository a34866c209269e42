/**
 * @module awareness
 * Staff awareness, the public face: the training curriculum (courses as Markdown with a quiz, loaded
 * from a directory), quiz grading, and the staff directory with its all-or-nothing CSV import and
 * the termination event the access gateway acts on; training assignments with reminders and
 * completion exports; phishing simulation (templates, sending profiles, campaigns, tracking,
 * reports); and each person's risk, which the access gateway reads. Other domains and the server
 * use only this file.
 */

export { type Campaign, Campaigns, type NewCampaign, type NewTemplate, TRACKING_ID } from './campaigns.js';
export {
  CERTIFICATE_CSS,
  CERTIFICATE_KEY_PURPOSE,
  type Certificate,
  type CertificateCheck,
  Certificates,
  certificateHtml,
} from './certificates.js';
export {
  type CompletionRecord,
  toCsv,
  XAPI_VERBS,
  type XapiStatement,
  xapiStatements,
} from './completions.js';
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
export { addDuration, parseDuration } from './duration.js';
export { AWARENESS_EVENTS } from './events.js';
export { escapeHtml, renderMarkdown, safeHref } from './markdown.js';
export { landingHtml, notAvailableHtml, PIXEL_GIF, reportedHtml, teachingHtml } from './pages.js';
export { type LandingPage, PhishingLibrary, type PhishingTemplate } from './phishing-library.js';
export {
  DEFAULT_SENDING_LIMITS,
  type NewProfile,
  type SenderFactory,
  type SendingLimits,
  type SendingProfile,
  SendingProfiles,
} from './phishing-profiles.js';
export { checkTemplate, oneLine, PLACEHOLDERS, renderTemplate, splitName } from './phishing-render.js';
export {
  type CampaignCounts,
  GOPHISH_COLUMNS,
  gophishStatus,
  PhishingReports,
  type PhishingStats,
  type RecipientResult,
  type ScannerCounts,
  type TimelineEntry,
} from './phishing-reports.js';
export { gradeQuiz, type QuestionResult, type QuizAnswers, type QuizResult } from './quiz.js';
export { REMINDER_DAYS, type ReminderSummary } from './reminders.js';
export {
  ingestForwardedReport,
  type ReportMailbox,
  type ReportMailboxOptions,
  startReportMailbox,
  trackingIdsOfMessage,
} from './report-mailbox.js';
export {
  computeRisk,
  type PersonRisk,
  RISK_WEIGHTS,
  type RiskInput,
  type RiskReason,
  RiskView,
} from './risk.js';
export {
  currentStanding,
  type PeopleSearch,
  type PersonProfile,
  Roster,
  type TeamMember,
  type TeamReport,
} from './roster.js';
export {
  parseFilter as parseScimFilter,
  SCIM_CORE_USER,
  SCIM_ENTERPRISE_USER,
  SCIM_MAX_OPERATIONS,
  SCIM_MAX_PAGE,
  SCIM_MESSAGES,
  type ScimListResponse,
  type ScimUser,
  ScimUsers,
  scimError,
} from './scim.js';
export {
  resourceTypeById,
  resourceTypes,
  schemaById,
  schemas,
  serviceProviderConfig,
} from './scim-schemas.js';
export { type Awareness, type AwarenessDeps, createAwareness } from './service.js';
export { awarenessMigrations, EMPLOYMENT_STATUSES, type EmploymentStatus } from './tables.js';
export {
  isScannerAgent,
  isScannerClick,
  SCANNER_AGENTS,
  Tracking,
  type TrackingContext,
  type TrackingResult,
} from './tracking.js';
export {
  type AssignInput,
  type Assignment,
  type Enrolment,
  statusOf,
  Training,
  type TrainingStatus,
} from './training.js';
