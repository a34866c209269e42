/**
 * One phishing campaign's report: click, submit and report rates and the median time to report,
 * link-scanner activity apart from people's, the breakdown per department, the result of each
 * recipient, and the timeline of events (time, address, user agent; what was typed into a landing
 * page is never stored, so never shown). The results download as CSV in GoPhish's layout.
 */
import { awarenessApi } from '../awareness-api.js';
import type { CampaignEvent } from '../awareness-types.js';
import { Banner } from '../components/Banner.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { StatCard } from '../components/StatCard.js';
import { formatCount, formatDateTime, formatMoment } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link } from '../router.js';
import { usePoll } from '../usePoll.js';
import { CampaignStatusBadge, formatRate } from './PhishingParts.js';

const REFRESH_SECONDS = 10;

const EVENT_LABELS: Record<CampaignEvent['kind'], string> = {
  sent: 'Email sent',
  error: 'Sending failed',
  open: 'Email opened',
  click: 'Clicked link',
  submit: 'Submitted form',
  report: 'Reported',
};

/** Seconds as "45 s", "12 min", "3 h 5 min". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 48) return rest ? `${hours} h ${rest} min` : `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** Newest first, each with a stable key (events carry no id; the same moment may repeat). */
function withKeys(events: CampaignEvent[]): Array<{ key: string; event: CampaignEvent }> {
  const seen = new Map<string, number>();
  return events
    .map((event) => {
      const base = `${event.recipientId}-${event.kind}-${event.time}`;
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      return { key: `${base}-${n}`, event };
    })
    .reverse();
}

export function PhishingCampaign({ id }: { id: string }) {
  const { data, error, loading, updatedAt, refresh } = usePoll(
    async () => {
      const [detail, recipients, timeline] = await Promise.all([
        awarenessApi.campaign(id),
        awarenessApi.campaignRecipients(id),
        awarenessApi.campaignTimeline(id),
      ]);
      return { ...detail, recipients, timeline };
    },
    REFRESH_SECONDS * 1000,
    id,
  );
  const names = usePoll(async () => {
    const [templates, landings] = await Promise.all([
      awarenessApi.phishingTemplates(),
      awarenessApi.landings(),
    ]);
    return {
      template: new Map(templates.map((t) => [t.id, t.name])),
      landing: new Map(landings.map((l) => [l.id, l.title])),
    };
  }, 0);
  const cancel = useSubmit();
  useDocumentTitle(data?.campaign.name ?? 'Campaign');
  const c = data?.campaign;
  const overall = data?.report.overall;
  return (
    <div className="page">
      <p className="training-back">
        <Link to="/phishing">← Campaigns</Link>
      </p>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {cancel.error ? <Banner kind="error">{cancel.error}</Banner> : null}
      {!data || !c || !overall ? (
        <p className="empty">{loading ? 'Loading…' : null}</p>
      ) : (
        <>
          <header className="page-header">
            <div>
              <h1 tabIndex={-1} data-testid="campaign-name">
                {c.name}
              </h1>
              <p className="page-lede">
                <CampaignStatusBadge status={c.status} /> Template{' '}
                {names.data?.template.get(c.templateId) ?? c.templateId} · landing page{' '}
                {c.landingId ? (names.data?.landing.get(c.landingId) ?? c.landingId) : 'none'} · starts{' '}
                {formatDateTime(c.scheduledAt)} · {formatCount(c.ratePerMinute)} messages a minute
                {c.completedAt ? ` · all sent ${formatDateTime(c.completedAt)}` : ''}
              </p>
            </div>
            <RefreshStatus
              loading={loading}
              updatedAt={updatedAt}
              onRefresh={refresh}
              everySeconds={REFRESH_SECONDS}
            />
          </header>
          <div className="button-row phishing-actions">
            <a
              className="button button-secondary phishing-download"
              href={awarenessApi.campaignCsvUrl(c.id)}
              download={`phishing-results-${c.id}.csv`}
              data-testid="campaign-csv"
            >
              Download results (GoPhish CSV)
            </a>
            {c.status === 'scheduled' || c.status === 'sending' ? (
              <ConfirmButton
                label="Cancel campaign"
                confirmLabel="Stop sending"
                danger
                testId="cancel-campaign"
                onConfirm={() =>
                  cancel.run(async () => {
                    await awarenessApi.cancelCampaign(c.id);
                    refresh();
                  })
                }
              />
            ) : null}
          </div>
          <dl className="stats phishing-stats" data-testid="campaign-stats">
            <StatCard
              label="Sent"
              value={overall.sent}
              testId="stat-sent"
              detail={`of ${formatCount(overall.recipients)}${overall.errors ? `, ${formatCount(overall.errors)} failed` : ''}`}
            />
            <StatCard label="Opened" value={overall.opened} testId="stat-opened" />
            <StatCard
              label="Clicked"
              value={overall.clicked}
              testId="stat-clicked"
              detail={`click rate ${formatRate(overall.clickRate)}`}
            />
            <StatCard
              label="Submitted"
              value={overall.submitted}
              testId="stat-submitted"
              detail={`submit rate ${formatRate(overall.submitRate)}`}
            />
            <StatCard
              label="Reported"
              value={overall.reported}
              testId="stat-reported"
              detail={`report rate ${formatRate(overall.reportRate)}`}
            />
            <div className="stat">
              <dt className="stat-label">Median time to report</dt>
              <dd className="stat-value" data-testid="stat-time-to-report">
                {formatDuration(overall.medianSecondsToReport)}
              </dd>
            </div>
            <StatCard
              label="Link scanners"
              value={data.scanner.clicks}
              testId="stat-scanner-clicks"
              detail={`clicks (and ${formatCount(data.scanner.opens)} opens) by mail gateways, not counted above`}
            />
          </dl>
          <section className="panel panel-flush" aria-labelledby="departments-title">
            <h2 id="departments-title" className="panel-title panel-title-padded">
              By department
            </h2>
            {data.report.departments.length === 0 ? (
              <p className="empty">No recipients.</p>
            ) : (
              <div className="table-scroll">
                <table className="table" data-testid="campaign-departments-report">
                  <thead>
                    <tr>
                      <th scope="col">Department</th>
                      <th scope="col" className="num">
                        Sent
                      </th>
                      <th scope="col" className="num">
                        Click rate
                      </th>
                      <th scope="col" className="num">
                        Submit rate
                      </th>
                      <th scope="col" className="num">
                        Report rate
                      </th>
                      <th scope="col" className="num">
                        Median time to report
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.report.departments.map((d) => (
                      <tr
                        key={d.department ?? ''}
                        data-testid="department-row"
                        data-department={d.department ?? ''}
                      >
                        <th scope="row">{d.department ?? <span className="muted">No department</span>}</th>
                        <td className="num">{formatCount(d.sent)}</td>
                        <td className="num" data-testid="department-click-rate">
                          {formatRate(d.clickRate)}
                          <span className="cell-sub">{formatCount(d.clicked)} clicked</span>
                        </td>
                        <td className="num">
                          {formatRate(d.submitRate)}
                          <span className="cell-sub">{formatCount(d.submitted)} submitted</span>
                        </td>
                        <td className="num">
                          {formatRate(d.reportRate)}
                          <span className="cell-sub">{formatCount(d.reported)} reported</span>
                        </td>
                        <td className="num">{formatDuration(d.medianSecondsToReport)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section className="panel panel-flush" aria-labelledby="recipients-title">
            <h2 id="recipients-title" className="panel-title panel-title-padded">
              Recipients
            </h2>
            <div className="table-scroll">
              <table className="table" data-testid="campaign-recipients">
                <thead>
                  <tr>
                    <th scope="col">Recipient</th>
                    <th scope="col">Department</th>
                    <th scope="col">Result</th>
                    <th scope="col">Sent</th>
                    <th scope="col">Clicked</th>
                    <th scope="col">Reported</th>
                  </tr>
                </thead>
                <tbody>
                  {data.recipients.map((r) => (
                    <tr key={r.id} data-testid="recipient-row" data-email={r.email} data-result={r.result}>
                      <th scope="row">
                        <Link to={`/directory/${encodeURIComponent(r.personId)}`} className="cell-title">
                          {`${r.firstName} ${r.lastName}`.trim() || r.email}
                        </Link>
                        <span className="cell-sub">{r.email}</span>
                      </th>
                      <td>{r.department ?? <span className="muted">—</span>}</td>
                      <td>
                        <span
                          className={`badge ${
                            r.status === 'error'
                              ? 'badge-danger'
                              : r.submittedAt
                                ? 'badge-danger'
                                : r.clickedAt
                                  ? 'badge-warning'
                                  : r.reportedAt
                                    ? 'badge-ok'
                                    : 'badge-muted'
                          }`}
                        >
                          {r.result}
                        </span>
                        {r.reportedAt ? <span className="badge badge-ok badge-inline">reported</span> : null}
                        {r.error ? <span className="cell-sub">{r.error}</span> : null}
                      </td>
                      <td className="nowrap">{formatDateTime(r.sentAt, '—')}</td>
                      <td className="nowrap">{formatDateTime(r.clickedAt, '—')}</td>
                      <td className="nowrap">{formatDateTime(r.reportedAt, '—')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section className="panel panel-flush" aria-labelledby="timeline-title">
            <h2 id="timeline-title" className="panel-title panel-title-padded">
              Timeline
            </h2>
            {data.timeline.length === 0 ? (
              <p className="empty">Nothing has happened yet: the messages go out from the scheduled time.</p>
            ) : (
              <div className="table-scroll">
                <table className="table" data-testid="campaign-timeline">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Recipient</th>
                      <th scope="col">Event</th>
                      <th scope="col">Address</th>
                      <th scope="col">User agent</th>
                    </tr>
                  </thead>
                  <tbody>
                    {withKeys(data.timeline).map(({ key, event: t }) => (
                      <tr
                        key={key}
                        data-testid="timeline-event"
                        data-kind={t.kind}
                        data-email={t.email}
                        data-scanner={t.scanner ? 'true' : 'false'}
                      >
                        <td className="nowrap">{formatMoment(t.time)}</td>
                        <td>{t.email}</td>
                        <td>
                          {EVENT_LABELS[t.kind] ?? t.kind}
                          {t.scanner ? (
                            <span className="badge badge-muted badge-inline">link scanner</span>
                          ) : null}
                        </td>
                        <td className="nowrap">{t.ip ?? <span className="muted">—</span>}</td>
                        <td className="phishing-agent">{t.userAgent ?? <span className="muted">—</span>}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </div>
  );
}
