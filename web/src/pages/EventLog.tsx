/**
 * Admins, analysts and privacy officers: the event log, newest first, filtered by kind, each event
 * expandable to its full JSON (as text). Refreshed every 10 s; open rows stay open.
 */
import { useCallback, useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { ExpandButton } from '../components/ExpandButton.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { SelectField } from '../components/SelectField.js';
import { SeverityBadge } from '../components/SeverityBadge.js';
import { formatCount, formatMoment } from '../format.js';
import { useDocumentTitle } from '../hooks.js';
import { roleLabel, type VigilEvent } from '../types.js';
import { usePoll } from '../usePoll.js';

const REFRESH_SECONDS = 10;

const KIND_OPTIONS = [
  { value: '', label: 'All kinds' },
  { value: 'auth.', label: 'auth. (console sign-in, MFA)' },
  { value: 'user.', label: 'user. (user accounts)' },
  { value: 'access.', label: 'access. (remote access gateway)' },
  { value: 'awareness.', label: 'awareness. (training, phishing)' },
  { value: 'vault.', label: 'vault. (patient-data vault)' },
  { value: 'devices.', label: 'devices. (medical devices)' },
  { value: 'detect.', label: 'detect. (detection, alerts)' },
] as const;
type KindPrefix = (typeof KIND_OPTIONS)[number]['value'];

const LIMIT_OPTIONS = [
  { value: '50', label: 'Newest 50' },
  { value: '100', label: 'Newest 100' },
  { value: '250', label: 'Newest 250' },
  { value: '500', label: 'Newest 500' },
] as const;
type LimitOption = (typeof LIMIT_OPTIONS)[number]['value'];

export function EventLog() {
  useDocumentTitle('Event log');
  const [kind, setKind] = useState<KindPrefix>('');
  const [limit, setLimit] = useState<LimitOption>('100');
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());

  const load = useCallback(
    () => api.events({ limit: Number(limit), kind: kind || undefined }),
    [kind, limit],
  );
  const {
    data: events,
    error,
    loading,
    updatedAt,
    refresh,
  } = usePoll(load, REFRESH_SECONDS * 1000, `${kind}|${limit}`);

  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Event log</h1>
          <p className="page-lede">
            What happened in Vigil, newest first: sign-ins, account changes, remote access, training and more.
          </p>
        </div>
        <RefreshStatus
          loading={loading}
          updatedAt={updatedAt}
          onRefresh={refresh}
          everySeconds={REFRESH_SECONDS}
        />
      </header>

      <section className="panel panel-compact" aria-labelledby="event-filters-title">
        <h2 id="event-filters-title" className="visually-hidden">
          Filter events
        </h2>
        <div className="filters">
          <SelectField
            label="Kind"
            value={kind}
            options={KIND_OPTIONS}
            onValue={setKind}
            testId="events-kind"
          />
          <SelectField
            label="Show"
            value={limit}
            options={LIMIT_OPTIONS}
            onValue={setLimit}
            testId="events-limit"
          />
        </div>
      </section>

      {error ? (
        <Banner kind="error" testId="events-error">
          {events ? `Could not refresh: ${error} Showing the events loaded before.` : error}
        </Banner>
      ) : null}

      <section className="panel panel-flush" aria-labelledby="events-list-title">
        <h2 id="events-list-title" className="visually-hidden">
          Events
        </h2>
        {events === undefined ? (
          <p className="empty">{loading || !error ? 'Loading events…' : 'Events could not be loaded.'}</p>
        ) : events.length === 0 ? (
          <EmptyLog kind={kind} onShowAll={() => setKind('')} />
        ) : (
          <>
            <div className="table-scroll">
              <table className="table table-stack" data-testid="events-table">
                <caption className="visually-hidden">
                  {kind ? `Events of kind ${kind}*, newest first` : 'Events, newest first'}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Severity</th>
                    <th scope="col">Kind</th>
                    <th scope="col" className="hide-narrow">
                      Source
                    </th>
                    <th scope="col">User</th>
                    <th scope="col">
                      <span className="visually-hidden">Details</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e) => (
                    <EventRows key={e.id} event={e} expanded={open.has(e.id)} onToggle={() => toggle(e.id)} />
                  ))}
                </tbody>
              </table>
            </div>
            <p className="table-foot muted small" data-testid="events-count">
              {events.length >= Number(limit)
                ? `Showing the newest ${formatCount(events.length)} events. Choose a larger number under “Show” to look further back.`
                : `${formatCount(events.length)} ${events.length === 1 ? 'event' : 'events'}: all the log holds${kind ? ` of kind ${kind}*` : ''}.`}
            </p>
          </>
        )}
      </section>
    </div>
  );
}

function EventRows({
  event,
  expanded,
  onToggle,
}: {
  event: VigilEvent;
  expanded: boolean;
  onToggle: () => void;
}) {
  const detailId = `event-${event.id}-json`;
  const user = event.user?.name ?? event.user?.id;
  return (
    <>
      <tr data-testid="event-row" data-kind={event.kind} className={expanded ? 'row-open' : undefined}>
        <td className="nowrap" data-label="Time">
          <time dateTime={event.time}>{formatMoment(event.time)}</time>
        </td>
        <td data-label="Severity">
          <SeverityBadge severity={event.severity} />
        </td>
        <th scope="row" className="mono cell-kind" data-label="Kind">
          {event.kind}
        </th>
        <td className="hide-narrow mono small">{event.source}</td>
        <td data-label="User">
          {user ? (
            <>
              <span className="cell-title">{user}</span>
              {event.user?.role ? <span className="cell-sub">{roleLabel(event.user.role)}</span> : null}
            </>
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td className="actions">
          <ExpandButton
            expanded={expanded}
            onToggle={onToggle}
            controls={detailId}
            label="JSON"
            accessibleLabel={`the JSON of ${event.kind} at ${formatMoment(event.time)}`}
            testId="event-expand"
          />
        </td>
      </tr>
      {expanded ? (
        <tr className="detail-row">
          <td colSpan={6} id={detailId}>
            <pre className="json" data-testid="event-json">
              {JSON.stringify(event, null, 2)}
            </pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}

function EmptyLog({ kind, onShowAll }: { kind: string; onShowAll: () => void }) {
  if (!kind) {
    return (
      <div className="empty" data-testid="events-empty">
        <p>No events yet.</p>
        <p className="small">
          Events appear here as people sign in, accounts change and Vigil’s parts report what they see. If
          this stays empty, check that the server is running and that Vigil can write to its data directory.
        </p>
      </div>
    );
  }
  return (
    <div className="empty" data-testid="events-empty">
      <p>
        No <code>{kind}*</code> events are in the log.
      </p>
      {kind === 'access.' ? (
        <p className="small">
          Individual gateway decisions are not kept in the event log: read them under Remote access.
        </p>
      ) : null}
      <button type="button" className="button button-small button-secondary" onClick={onShowAll}>
        Show all kinds
      </button>
    </div>
  );
}
