/**
 * What alerts and cases share: who acts (an actor), the append-only activity of each (every
 * status change, assignment, note and case membership, with who and when), the check that an
 * assignee is an analyst or admin who can work on it, and publishing each change on the bus.
 */
import type { Kysely, Transaction } from 'kysely';
import { type Clock, makeEvent, newId, VigilError } from '../../core/index.js';
import type { Bus } from '../../platform/bus/index.js';
import type { Logger } from '../../platform/log/index.js';
import type { ActivityRow, DetectTables } from './tables.js';

/** The person (or API token) making a change. */
export interface Actor {
  id: string;
  name: string;
}

/** One entry of an alert's or a case's timeline. Notes are entries with action `note`. */
export interface ActivityEntry {
  id: string;
  time: string;
  /** Null for the system (an alert raised or deduplicated by the detector). */
  actor: Actor | null;
  action: string;
  detail: Record<string, unknown>;
}

/** A console user as the alert workflow needs to know them. */
export interface Person {
  id: string;
  username: string;
  role: string;
  status: string;
}

/** Looks people up by id (the identity domain, passed in by the composition root). */
export interface People {
  find(id: string): Promise<Person | undefined>;
}

/** Roles that may be assigned alerts and cases. */
export const ASSIGNABLE_ROLES: ReadonlySet<string> = new Set(['admin', 'analyst']);

/** Longest note, in characters. */
export const NOTE_MAX = 4000;

/** Everything the workflow needs besides the database. */
export interface WorkflowDeps {
  clock: Clock;
  bus?: Bus | undefined;
  people?: People | undefined;
  logger?: Logger | undefined;
}

type Db = Kysely<DetectTables> | Transaction<DetectTables>;

export function toEntry(r: ActivityRow): ActivityEntry {
  return {
    id: r.id,
    time: r.time,
    actor: r.actor_id === null ? null : { id: r.actor_id, name: r.actor_name ?? r.actor_id },
    action: r.action,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
}

/** Appends timeline entries (never updated nor deleted afterwards). */
export async function appendActivity(
  db: Db,
  clock: Clock,
  entries: ReadonlyArray<{
    subject: 'alert' | 'case';
    id: string;
    actor: Actor | null;
    action: string;
    detail: Record<string, unknown>;
  }>,
): Promise<ActivityEntry[]> {
  if (!entries.length) return [];
  const now = clock.now();
  const rows: ActivityRow[] = entries.map((e) => ({
    // Real time, not the clock: ids made in this process strictly increase, so they order the timeline.
    id: newId(),
    subject_type: e.subject,
    subject_id: e.id,
    time: now.toISOString(),
    actor_id: e.actor?.id ?? null,
    actor_name: e.actor?.name ?? null,
    action: e.action,
    detail: JSON.stringify(e.detail),
  }));
  // Chunks keep each statement well under the engines' parameter limits.
  for (let i = 0; i < rows.length; i += 100)
    await db
      .insertInto('detect_activity')
      .values(rows.slice(i, i + 100))
      .execute();
  return rows.map(toEntry);
}

/** The timeline of an alert or a case, oldest first. */
export async function activityOf(db: Db, subject: 'alert' | 'case', id: string): Promise<ActivityEntry[]> {
  const rows = await db
    .selectFrom('detect_activity')
    .selectAll()
    .where('subject_type', '=', subject)
    .where('subject_id', '=', id)
    .orderBy('id')
    .limit(5000)
    .execute();
  return rows.map(toEntry);
}

/** Refuses an assignee who is not an active analyst or admin (BAD_REQUEST naming the field). */
export async function checkAssignee(
  people: People | undefined,
  id: string | null | undefined,
): Promise<void> {
  if (id === null || id === undefined || !people) return;
  const person = await people.find(id);
  if (person?.status !== 'active' || !ASSIGNABLE_ROLES.has(person.role))
    throw new VigilError('BAD_REQUEST', 'assignee: not an active analyst or administrator', {
      details: { field: 'assignee' },
    });
}

/** Refuses an empty or oversized note; returns it trimmed. */
export function checkNote(text: string): string {
  const t = text.trim();
  if (!t || t.length > NOTE_MAX)
    throw new VigilError('BAD_REQUEST', `text: a note is 1 to ${NOTE_MAX} characters`, {
      details: { field: 'text' },
    });
  return t;
}

/**
 * Publishes changes as events (`detect.alert.updated`, `detect.case.created`, …). The change is
 * already stored with its activity, so a bus failure is logged, never turned into a failed request.
 */
export async function publishChanges(
  deps: WorkflowDeps,
  actor: Actor | null,
  kind: string,
  items: ReadonlyArray<Record<string, unknown>>,
): Promise<void> {
  if (!deps.bus || !items.length) return;
  const now = deps.clock.now();
  try {
    await deps.bus.publish(
      items.map((data) =>
        makeEvent(
          {
            kind,
            source: 'detect',
            ...(actor ? { user: { id: actor.id, name: actor.name } } : {}),
            data,
          },
          now,
        ),
      ),
    );
  } catch (err) {
    deps.logger?.error({ err: (err as Error).message, kind }, 'could not publish alert changes');
  }
}

/** A LIKE pattern that matches `text` anywhere, lower case, with `!` as the escape character. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}
