/**
 * @module awareness/service
 * Builds the awareness domain from its dependencies and ties its parts together: a phishing click
 * assigns the phishing course (just-in-time training), and every training or phishing outcome
 * recomputes the person's risk. Also the learner and manager views that span several parts.
 */
import type { Clock } from '../core/index.js';
import { VigilError } from '../core/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import { Campaigns } from './campaigns.js';
import { Certificates } from './certificates.js';
import {
  type CompletionRecord,
  completionRecords,
  completionsCsv,
  type XapiStatement,
  xapiStatements,
} from './completions.js';
import { Curriculum } from './courses.js';
import { Directory, type DirectoryDeps, type Person } from './directory.js';
import { PhishingLibrary } from './phishing-library.js';
import { type SenderFactory, type SendingLimits, SendingProfiles } from './phishing-profiles.js';
import { PhishingReports } from './phishing-reports.js';
import { type ReminderSummary, sendDueReminders } from './reminders.js';
import { RiskView } from './risk.js';
import { Roster } from './roster.js';
import { ScimUsers } from './scim.js';
import { Tracking } from './tracking.js';
import { Training } from './training.js';

/** What the awareness domain needs. */
export interface AwarenessDeps extends DirectoryDeps {
  keys: KeyRing;
  curriculum?: Curriculum;
  library?: PhishingLibrary;
  senderFactory?: SenderFactory;
  /** Pooled SMTP connections per sending profile for campaigns (defaults: 5, 100 messages each). */
  sending?: SendingLimits;
  /** The console's public URL, for links in reminder mail (optional). */
  consoleUrl?: string;
}

/** The awareness domain's services. */
export interface Awareness {
  directory: Directory;
  training: Training;
  profiles: SendingProfiles;
  campaigns: Campaigns;
  tracking: Tracking;
  reports: PhishingReports;
  /** Risk per person; also the gateway's `AwarenessSignals`. */
  risk: RiskView;
  /** SCIM 2.0 Users over the directory (identity providers provision staff through it). */
  scim: ScimUsers;
  /** Certificates of passed courses and their public verification. */
  certificates: Certificates;
  /** Directory search, a person's whole record, and team reports. */
  roster: Roster;
  /** Sends training reminders and overdue notices due at `now` (call from a timer). */
  sendDueReminders(now?: Date): Promise<ReminderSummary>;
  /** Sends the campaign messages due at `now` within their rate limits (call from a timer). */
  sendDueCampaigns(now?: Date): Promise<number>;
  /** Records a report forwarded to the report mailbox. */
  ingestReportedMessage(raw: string | Buffer): Promise<{ reported: boolean; recipientId?: string }>;
  /** The person linked to a console user, or a NOT_FOUND. */
  personOfUser(userId: string): Promise<Person>;
  /** Who a manager sees: their direct reports and, if they manage anyone, their own department. */
  teamOf(manager: Person): Promise<Person[]>;
  /** Completion records (all, or of some people). */
  completions(personIds?: string[]): Promise<CompletionRecord[]>;
  completionsCsv(personIds?: string[]): Promise<string>;
  xapi(activityBase: string, personIds?: string[]): Promise<XapiStatement[]>;
  clock: Clock;
  /** Closes the campaign senders still open (the server stops). */
  close(): Promise<void>;
}

/** Builds the awareness domain. Without a curriculum or library, both are empty. */
export function createAwareness(deps: AwarenessDeps): Awareness {
  const curriculum = deps.curriculum ?? new Curriculum([]);
  const library = deps.library ?? PhishingLibrary.empty();
  const directory = new Directory(deps);
  const training = new Training({ ...deps, curriculum });
  const profiles = new SendingProfiles(deps);
  const campaigns = new Campaigns({ ...deps, library, profiles });
  const tracking = new Tracking(deps);
  const reports = new PhishingReports(deps.db);
  const risk = new RiskView(deps);
  const phishingCourse = curriculum.courses.find((c) => c.threat === 'phishing');
  training.onPersonChanged = async (personId) => {
    await risk.recompute(personId);
  };
  tracking.onPersonEvent = async (kind, recipient) => {
    if ((kind === 'click' || kind === 'submit') && phishingCourse)
      await training.assignJustInTime(recipient.person_id, phishingCourse.id);
    await risk.recompute(recipient.person_id);
  };
  return {
    directory,
    training,
    profiles,
    campaigns,
    tracking,
    reports,
    risk,
    certificates: new Certificates({ db: deps.db, keys: deps.keys, curriculum }),
    roster: new Roster({ db: deps.db, training, risk, reports }),
    scim: new ScimUsers({ db: deps.db, directory }),
    clock: deps.clock,
    close: () => campaigns.close(),
    async sendDueReminders(now) {
      await training.expand();
      return sendDueReminders(
        {
          db: deps.db,
          clock: deps.clock,
          curriculum,
          mailer: () => profiles.notificationMailer(),
          ...(deps.consoleUrl ? { baseUrl: deps.consoleUrl } : {}),
        },
        now,
      );
    },
    sendDueCampaigns: (now) => campaigns.sendDue(now),
    ingestReportedMessage: (raw) => tracking.ingestReportedMessage(raw),
    async personOfUser(userId) {
      const p = await directory.getByConsoleUser(userId);
      if (!p)
        throw new VigilError(
          'NOT_FOUND',
          'Your console account is not linked to a person in the staff directory',
          { details: { field: 'user' } },
        );
      return p;
    },
    async teamOf(manager) {
      const reports = await directory.list({ managerId: manager.id, limit: 500 });
      if (!reports.length) return [];
      const team = new Map(reports.map((p) => [p.id, p]));
      if (manager.department)
        for (const p of await directory.list({ department: manager.department, limit: 500 }))
          if (p.id !== manager.id) team.set(p.id, p);
      return [...team.values()];
    },
    completions: (personIds) => completionRecords(deps.db, curriculum, personIds),
    async completionsCsv(personIds) {
      return completionsCsv(await completionRecords(deps.db, curriculum, personIds));
    },
    async xapi(activityBase, personIds) {
      return xapiStatements(await completionRecords(deps.db, curriculum, personIds), activityBase);
    },
  };
}
