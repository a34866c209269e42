/**
 * Pieces the Alerts and Cases pages share: the `?id=` of the address as state, status badges,
 * ATT&CK tags, the timeline of changes and notes, and the note form.
 */
import { type AnchorHTMLAttributes, type ReactNode, useId, useState, useSyncExternalStore } from 'react';
import { Banner } from '../components/Banner.js';
import {
  type ActivityEntry,
  type AlertStatus,
  type Assignee,
  attackOf,
  attackUrl,
  CASE_STATUS_LABELS,
  type CaseStatus,
  STATUS_LABELS,
} from '../detect-types.js';
import { formatMoment } from '../format.js';
import { useSubmit } from '../hooks.js';
import '../styles/detect.css';

const NOTE_MAX = 4000;

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener('vigil:navigate', onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener('vigil:navigate', onChange);
  };
}

/**
 * Goes to an in-app address that may differ from the current one only in its query (`/cases` from
 * `/cases?id=…`), which the router's `navigate` treats as the same page; its listeners are told.
 */
export function goTo(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event('vigil:navigate'));
}

/** An in-app link that also works between addresses of one page with different queries. */
export function QueryLink({
  to,
  children,
  ...rest
}: { to: string; children: ReactNode } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  return (
    <a
      href={to}
      {...rest}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        goTo(to);
      }}
    >
      {children}
    </a>
  );
}

/** A parameter of the address's query (`/cases?id=…`), following in-app navigation. */
export function useQueryParam(name: string): string | undefined {
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return new URLSearchParams(search).get(name) ?? undefined;
}

const STATUS_LOOK: Record<AlertStatus, string> = {
  new: 'badge-danger',
  acknowledged: 'badge-warning',
  resolved: 'badge-ok',
  'false-positive': 'badge-muted',
};

export function AlertStatusBadge({ status }: { status: AlertStatus }) {
  return (
    <span
      className={`badge ${STATUS_LOOK[status] ?? 'badge-muted'}`}
      data-testid="alert-status"
      data-status={status}
    >
      {STATUS_LABELS[status] ?? status}
    </span>
  );
}

const CASE_LOOK: Record<CaseStatus, string> = {
  open: 'badge-danger',
  'in-progress': 'badge-warning',
  closed: 'badge-ok',
};

export function CaseStatusBadge({ status }: { status: CaseStatus }) {
  return (
    <span
      className={`badge ${CASE_LOOK[status] ?? 'badge-muted'}`}
      data-testid="case-status"
      data-status={status}
    >
      {CASE_STATUS_LABELS[status] ?? status}
    </span>
  );
}

/** The severity badge's look for a Sigma level. */
export function severityOfLevel(level: string): string {
  return level === 'informational' ? 'info' : level;
}

/** ATT&CK techniques (linked to MITRE) and tactics of an alert's tags. */
export function AttackTags({ tags, compact = false }: { tags: readonly string[]; compact?: boolean }) {
  const { techniques, tactics, other } = attackOf(tags);
  if (!techniques.length && !tactics.length && (compact || !other.length)) return null;
  return (
    <ul className="tag-list" aria-label="ATT&CK tags" data-testid="attack-tags">
      {techniques.map((t) => (
        <li key={t} className="tag tag-technique">
          {compact ? (
            t
          ) : (
            <a href={attackUrl(t)} target="_blank" rel="noopener noreferrer" title={`MITRE ATT&CK ${t}`}>
              {t}
            </a>
          )}
        </li>
      ))}
      {tactics.map((t) => (
        <li key={t} className="tag tag-tactic">
          {t}
        </li>
      ))}
      {compact
        ? null
        : other.map((t) => (
            <li key={t} className="tag">
              {t}
            </li>
          ))}
    </ul>
  );
}

/** A person's name for an id (the assignee list), or the id itself. */
export function nameOf(people: readonly Assignee[] | undefined, id: string | null | undefined): string {
  if (!id) return 'Nobody';
  return people?.find((p) => p.id === id)?.displayName ?? id;
}

function describe(entry: ActivityEntry, people: readonly Assignee[] | undefined): string {
  const d = entry.detail;
  const label = (v: unknown) =>
    typeof v === 'string'
      ? ((STATUS_LABELS as Record<string, string>)[v] ??
        (CASE_STATUS_LABELS as Record<string, string>)[v] ??
        v)
      : 'none';
  switch (entry.action) {
    case 'status':
      return `Status ${label(d.from)} → ${label(d.to)}`;
    case 'assigned':
      return d.to ? `Assigned to ${nameOf(people, d.to as string)}` : 'Unassigned';
    case 'created':
      return 'Case opened';
    case 'title':
      return `Renamed “${String(d.from)}” → “${String(d.to)}”`;
    case 'description':
      return 'Description changed';
    case 'severity':
      return `Severity ${String(d.from)} → ${String(d.to)}`;
    case 'alerts-added': {
      const n = Array.isArray(d.alertIds) ? d.alertIds.length : 0;
      return `${n} ${n === 1 ? 'alert' : 'alerts'} added`;
    }
    case 'alert-removed':
      return 'An alert was taken out';
    case 'case':
      return d.to ? 'Added to a case' : 'Taken out of its case';
    default:
      return entry.action;
  }
}

/** Notes and changes, oldest first. */
export function Timeline({
  entries,
  people,
}: {
  entries: readonly ActivityEntry[];
  people?: readonly Assignee[];
}) {
  if (!entries.length) return <p className="muted small">No notes or changes yet.</p>;
  return (
    <ol className="timeline" data-testid="timeline">
      {entries.map((e) => (
        <li
          key={e.id}
          className={`timeline-item${e.action === 'note' ? ' timeline-note' : ''}`}
          data-testid="timeline-entry"
          data-action={e.action}
        >
          <div className="timeline-meta">
            <time dateTime={e.time}>{formatMoment(e.time)}</time>
            <span className="timeline-actor">{e.actor?.name ?? 'Vigil'}</span>
          </div>
          {e.action === 'note' ? (
            <p className="timeline-text" data-testid="note-text">
              {String(e.detail.text ?? '')}
            </p>
          ) : (
            <p className="timeline-text">{describe(e, people)}</p>
          )}
        </li>
      ))}
    </ol>
  );
}

/** A note form: the text is kept until the server has it. */
export function NoteForm({ onAdd, testId }: { onAdd: (text: string) => Promise<void>; testId: string }) {
  const id = useId();
  const [text, setText] = useState('');
  const { busy, error, run } = useSubmit();
  const tooLong = text.length > NOTE_MAX;
  return (
    <form
      className="note-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!text.trim() || tooLong) return;
        void run(async () => {
          await onAdd(text);
          setText('');
        });
      }}
    >
      <label htmlFor={id}>Add a note</label>
      <textarea
        id={id}
        value={text}
        rows={3}
        onChange={(e) => setText(e.target.value)}
        aria-invalid={tooLong || undefined}
        aria-describedby={`${id}-count`}
        data-testid={`${testId}-text`}
      />
      <div className="note-form-foot">
        <span id={`${id}-count`} className={`small ${tooLong ? 'field-error' : 'muted'}`}>
          {text.length} / {NOTE_MAX}
        </span>
        <button
          type="submit"
          className="button button-small button-primary"
          disabled={busy || !text.trim() || tooLong}
          data-testid={`${testId}-add`}
        >
          {busy ? 'Saving…' : 'Add note'}
        </button>
      </div>
      {error ? <Banner kind="error">{error}</Banner> : null}
      <p className="field-hint">
        Notes are kept with your name and the time, and cannot be edited or deleted.
      </p>
    </form>
  );
}
