/** The landing page: people, sessions, the last day's events and the event bus, refreshed every 10 s. */
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { BarList } from '../components/BarList.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { StatCard } from '../components/StatCard.js';
import { formatCount, formatDateTime } from '../format.js';
import { useDocumentTitle } from '../hooks.js';
import { roleLabel } from '../types.js';
import { usePoll } from '../usePoll.js';

const REFRESH_SECONDS = 10;

export function Overview() {
  useDocumentTitle('Overview');
  const { data, error, loading, updatedAt, refresh } = usePoll(api.overview, REFRESH_SECONDS * 1000);

  const byRole = data
    ? Object.entries(data.users.byRole)
        .map(([role, count]) => ({ name: roleLabel(role), count }))
        .sort((a, b) => b.count - a.count)
    : [];
  const byKind = data
    ? [...data.events24h.byKind]
        .sort((a, b) => b.count - a.count)
        .map((k) => ({ name: k.kind, count: k.count }))
    : [];

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Overview</h1>
          <p className="page-lede">How Vigil and its people stand right now.</p>
        </div>
        <RefreshStatus
          loading={loading}
          updatedAt={updatedAt}
          onRefresh={refresh}
          everySeconds={REFRESH_SECONDS}
        />
      </header>

      {error ? (
        <Banner kind="error" testId="overview-error">
          {data
            ? `Could not refresh: ${error} Showing the figures from ${formatDateTime(data.generatedAt)}.`
            : error}
        </Banner>
      ) : null}

      {!data && loading ? <div className="skeleton" aria-hidden="true" /> : null}

      {data ? (
        <>
          <dl className="stats" data-testid="overview-stats">
            <StatCard
              label="Users"
              value={data.users.total}
              testId="stat-users-total"
              detail={`${formatCount(data.users.active)} active · ${formatCount(data.users.disabled)} disabled`}
            />
            <StatCard
              label="Active sessions"
              value={data.sessions.active}
              testId="stat-sessions-active"
              detail="signed in to the console"
            />
            <StatCard
              label="Events, last 24 h"
              value={data.events24h.total}
              testId="stat-events-total"
              detail={`${formatCount(data.events24h.byKind.length)} kinds`}
            />
            <StatCard
              label="Bus queue"
              value={data.bus.queued}
              testId="stat-bus-queued"
              detail={`${data.bus.kind} · ${formatCount(data.bus.published)} published · ${formatCount(data.bus.delivered)} delivered`}
            />
          </dl>

          <div className="grid-2">
            <section className="panel" aria-labelledby="events-title">
              <h2 id="events-title" className="panel-title">
                Events by kind, last 24 hours
              </h2>
              <BarList
                caption="Events by kind in the last 24 hours"
                nameHeader="Kind"
                rows={byKind}
                empty="No events in the last 24 hours."
                testId="events-by-kind"
                rowTestId="event-kind-row"
                mono
              />
            </section>
            <section className="panel" aria-labelledby="roles-title">
              <h2 id="roles-title" className="panel-title">
                Users by role
              </h2>
              <BarList
                caption="Users by role"
                nameHeader="Role"
                rows={byRole}
                empty="No users yet."
                testId="users-by-role"
              />
            </section>
          </div>
          <p className="muted small">Figures generated {formatDateTime(data.generatedAt)}.</p>
        </>
      ) : null}
    </div>
  );
}
