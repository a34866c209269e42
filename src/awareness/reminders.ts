/**
 * @module awareness/reminders
 * Reminder and overdue e-mails for training. A job (a timer in the server, a direct call in tests)
 * calls {@link sendDueReminders}: each open enrolment gets at most one reminder when it is due
 * within the reminder window and one overdue notice once it is late, marked in its row before the
 * send so that two workers never mail the same person twice.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/index.js';
import type { AnyDb } from '../platform/db/index.js';
import type { MailSender } from '../platform/mail/index.js';
import type { Curriculum } from './courses.js';
import type { AwarenessTables } from './tables.js';

/** Where reminder mail goes out: a sender and its From address. */
export interface NotificationMailer {
  sender: MailSender;
  from: string;
}

/** What a reminder run did. */
export interface ReminderSummary {
  reminders: number;
  overdue: number;
  failed: number;
  /** True when no notification profile exists (nothing could be sent). */
  noMailer: boolean;
}

/** Days before the due date when the reminder goes out. */
export const REMINDER_DAYS = 7;

function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters become spaces.
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

/** Sends the reminders and overdue notices due at `now`. */
export async function sendDueReminders(
  deps: {
    db: AnyDb;
    clock: Clock;
    curriculum: Curriculum;
    mailer: () => Promise<NotificationMailer | null>;
    baseUrl?: string;
  },
  now: Date = deps.clock.now(),
): Promise<ReminderSummary> {
  const summary: ReminderSummary = { reminders: 0, overdue: 0, failed: 0, noMailer: false };
  const mailer = await deps.mailer();
  if (!mailer) return { ...summary, noMailer: true };
  try {
    const db: Kysely<AwarenessTables> = deps.db.withTables<AwarenessTables>();
    const nowIso = now.toISOString();
    const soon = new Date(now.getTime() + REMINDER_DAYS * 86_400_000).toISOString();
    const rows = await db
      .selectFrom('awareness_enrolments as e')
      .innerJoin('awareness_people as p', 'p.id', 'e.person_id')
      .select([
        'e.id',
        'e.course_id',
        'e.due_at',
        'e.reminded_at',
        'e.overdue_notified_at',
        'p.name',
        'p.email',
      ])
      .where('e.status', '!=', 'passed')
      .where('p.status', '=', 'active')
      .where('e.due_at', '<=', soon)
      .where((eb) => eb.or([eb('e.reminded_at', 'is', null), eb('e.overdue_notified_at', 'is', null)]))
      .execute();
    for (const r of rows) {
      const overdue = r.due_at < nowIso;
      const column = overdue ? 'overdue_notified_at' : 'reminded_at';
      if ((overdue ? r.overdue_notified_at : r.reminded_at) !== null) continue;
      // Claim first: a concurrent run that loses the race sends nothing.
      const claimed = await db
        .updateTable('awareness_enrolments')
        .set({ [column]: nowIso })
        .where('id', '=', r.id)
        .where(column, 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      const title = clean(deps.curriculum.get(r.course_id)?.title ?? r.course_id);
      const due = r.due_at.slice(0, 10);
      const link = deps.baseUrl ? `\n\nOpen it here: ${deps.baseUrl.replace(/\/+$/, '')}/training` : '';
      try {
        await mailer.sender.send({
          from: mailer.from,
          to: clean(r.email),
          subject: overdue
            ? `Overdue: security training "${title}"`
            : `Reminder: security training "${title}" is due ${due}`,
          text: `Hello ${clean(r.name)},\n\n${overdue ? `Your security training "${title}" was due on ${due} and is now overdue. Please complete it as soon as you can.` : `Your security training "${title}" is due on ${due}.`}${link}\n\nThank you.`,
        });
        if (overdue) summary.overdue++;
        else summary.reminders++;
      } catch {
        summary.failed++;
      }
    }
    return summary;
  } finally {
    await mailer.sender.close();
  }
}
