/**
 * Cases: alerts grouped into one incident. The list shows each case's severity, status, alerts and
 * assignee; `/cases?id=…` shows one case with its alerts, notes and timeline, where analysts and
 * admins change its status, severity, assignee and title and take alerts out. Cases are opened
 * from selected alerts on the Alerts page.
 */
import { useCallback, useId, useState } from 'react';
import { Banner } from '../components/Banner.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { SelectField } from '../components/SelectField.js';
import { SeverityBadge } from '../components/SeverityBadge.js';
import { detectApi } from '../detect-api.js';
import {
  ALERT_LEVELS,
  type Assignee,
  CASE_STATUS_LABELS,
  CASE_STATUSES,
  type CaseStatus,
} from '../detect-types.js';
import { formatCount, formatMoment } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link } from '../router.js';
import type { SessionUser } from '../types.js';
import { usePoll } from '../usePoll.js';
import {
  AlertStatusBadge,
  AttackTags,
  CaseStatusBadge,
  NoteForm,
  nameOf,
  QueryLink,
  severityOfLevel,
  Timeline,
  useQueryParam,
} from './AlertParts.js';

const STATUS_FILTER = [
  { value: '', label: 'All cases' },
  ...CASE_STATUSES.map((s) => ({ value: s, label: CASE_STATUS_LABELS[s] })),
] as const;

export function Cases({ user }: { user: SessionUser }) {
  const id = useQueryParam('id');
  return id ? <CaseView key={id} id={id} user={user} /> : <CaseList user={user} />;
}

function CaseList({ user }: { user: SessionUser }) {
  useDocumentTitle('Cases');
  const [status, setStatus] = useState<CaseStatus | ''>('');
  const load = useCallback(() => detectApi.cases({ status: status || undefined, limit: 200 }), [status]);
  const { data, error, loading, updatedAt, refresh } = usePoll(load, 30_000, status);
  const people = usePoll(detectApi.assignees, 0);
  const cases = data?.cases;
  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Cases</h1>
          <p className="page-lede">
            Alerts grouped into one incident, with who works on it, notes and every change. Open a case from
            selected alerts on the <Link to="/alerts">Alerts</Link> page.
          </p>
        </div>
        <RefreshStatus loading={loading} updatedAt={updatedAt} onRefresh={refresh} />
      </header>
      <section className="panel panel-compact" aria-label="Filter cases">
        <div className="filters">
          <SelectField
            label="Status"
            value={status}
            options={STATUS_FILTER as ReadonlyArray<{ value: CaseStatus | ''; label: string }>}
            onValue={setStatus}
            testId="cases-status"
          />
        </div>
      </section>
      {error ? <Banner kind="error">{error}</Banner> : null}
      <section className="panel panel-flush" aria-labelledby="cases-title">
        <h2 id="cases-title" className="visually-hidden">
          Cases
        </h2>
        {cases === undefined ? (
          <p className="empty">{loading || !error ? 'Loading cases…' : 'Cases could not be loaded.'}</p>
        ) : cases.length === 0 ? (
          <div className="empty" data-testid="cases-empty">
            <p>No cases{status ? ` ${CASE_STATUS_LABELS[status].toLowerCase()}` : ''} yet.</p>
          </div>
        ) : (
          <div className="table-scroll">
            <table className="table table-stack" data-testid="cases-table">
              <caption className="visually-hidden">Cases, most recently changed first</caption>
              <thead>
                <tr>
                  <th scope="col">Case</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Alerts
                  </th>
                  <th scope="col">Assignee</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {cases.map((c) => (
                  <tr key={c.id} data-testid="case-row" data-id={c.id} data-status={c.status}>
                    <th scope="row" data-label="Case">
                      <QueryLink to={`/cases?id=${encodeURIComponent(c.id)}`} data-testid="case-link">
                        {c.title}
                      </QueryLink>
                    </th>
                    <td data-label="Severity">
                      <SeverityBadge severity={severityOfLevel(c.severity)} />
                    </td>
                    <td data-label="Status">
                      <CaseStatusBadge status={c.status} />
                    </td>
                    <td className="num" data-label="Alerts">
                      {formatCount(c.alertCount)}
                    </td>
                    <td data-label="Assignee">
                      {c.assignee === user.id ? 'Me' : nameOf(people.data, c.assignee)}
                    </td>
                    <td className="nowrap" data-label="Changed">
                      <time dateTime={c.updatedAt}>{formatMoment(c.updatedAt)}</time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

const SEVERITY_OPTIONS = [
  { value: 'auto', label: 'From its alerts' },
  ...[...ALERT_LEVELS].reverse().map((l) => ({ value: l, label: l[0]!.toUpperCase() + l.slice(1) })),
];

function CaseView({ id, user }: { id: string; user: SessionUser }) {
  const canManage = user.role === 'admin' || user.role === 'analyst';
  const load = useCallback(() => detectApi.case(id), [id]);
  const { data: c, error, loading, updatedAt, refresh } = usePoll(load, 30_000, id);
  const people = usePoll(detectApi.assignees, 0);
  const { busy, error: actError, run } = useSubmit();
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState('');
  const titleId = useId();
  useDocumentTitle(c ? `Case: ${c.title}` : 'Case');

  const update = (change: Parameters<typeof detectApi.updateCase>[1]) =>
    void run(async () => {
      await detectApi.updateCase(id, change);
      refresh();
    });

  if (!c) {
    return (
      <div className="page">
        <p>
          <QueryLink to="/cases">← All cases</QueryLink>
        </p>
        {error ? <Banner kind="error">{error}</Banner> : <p className="muted">Loading the case…</p>}
      </div>
    );
  }
  const assigneeOptions = [
    { value: '', label: 'Nobody' },
    ...(people.data ?? []).map((p: Assignee) => ({
      value: p.id,
      label: p.id === user.id ? `${p.displayName} (me)` : p.displayName,
    })),
  ];
  return (
    <div className="page" aria-busy={loading} data-testid="case-view" data-id={c.id}>
      <p className="small">
        <QueryLink to="/cases">← All cases</QueryLink>
      </p>
      <header className="page-header">
        <div>
          {renaming ? (
            <form
              className="case-rename"
              onSubmit={(e) => {
                e.preventDefault();
                if (!title.trim()) return;
                update({ title: title.trim() });
                setRenaming(false);
              }}
            >
              <label htmlFor={titleId} className="visually-hidden">
                Case title
              </label>
              <input id={titleId} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
              <button type="submit" className="button button-small button-primary">
                Save
              </button>
              <button
                type="button"
                className="button button-small button-ghost"
                onClick={() => setRenaming(false)}
              >
                Cancel
              </button>
            </form>
          ) : (
            <h1 tabIndex={-1} data-testid="case-title">
              {c.title}
            </h1>
          )}
          <p className="page-lede">
            Opened {formatMoment(c.createdAt)}
            {c.createdBy ? ` by ${c.createdBy === user.id ? 'you' : nameOf(people.data, c.createdBy)}` : ''}.
          </p>
        </div>
        <RefreshStatus loading={loading} updatedAt={updatedAt} onRefresh={refresh} />
      </header>

      <section className="panel" aria-label="About this case">
        <dl className="facts">
          <div>
            <dt>Status</dt>
            <dd>
              <CaseStatusBadge status={c.status} />
            </dd>
          </div>
          <div>
            <dt>Severity</dt>
            <dd data-testid="case-severity" data-severity={c.severity}>
              <SeverityBadge severity={severityOfLevel(c.severity)} />
              <span className="cell-sub">
                {c.severityAuto ? 'the highest of its alerts' : 'set by an analyst'}
              </span>
            </dd>
          </div>
          <div>
            <dt>Alerts</dt>
            <dd data-testid="case-alert-count">{formatCount(c.alertCount)}</dd>
          </div>
          <div>
            <dt>Assignee</dt>
            <dd>{c.assignee === user.id ? 'Me' : nameOf(people.data, c.assignee)}</dd>
          </div>
        </dl>
        {canManage ? (
          <div className="filters case-controls">
            <SelectField
              label="Status"
              value={c.status}
              options={CASE_STATUSES.map((s) => ({ value: s, label: CASE_STATUS_LABELS[s] }))}
              onValue={(s) => update({ status: s })}
              testId="case-status-select"
            />
            <SelectField
              label="Severity"
              value={c.severityAuto ? 'auto' : c.severity}
              options={SEVERITY_OPTIONS}
              onValue={(s) => update({ severity: s })}
              testId="case-severity-select"
            />
            <SelectField
              label="Assignee"
              value={c.assignee ?? ''}
              options={assigneeOptions}
              onValue={(v) => update({ assignee: v || null })}
              testId="case-assignee-select"
            />
            <div className="field">
              <span className="field-label" aria-hidden="true">
                &nbsp;
              </span>
              <span className="button-row">
                {c.assignee !== user.id ? (
                  <button
                    type="button"
                    className="button button-small button-secondary"
                    disabled={busy}
                    onClick={() => update({ assignee: user.id })}
                    data-testid="case-assign-me"
                  >
                    Assign to me
                  </button>
                ) : null}
                <button
                  type="button"
                  className="button button-small button-ghost"
                  onClick={() => {
                    setTitle(c.title);
                    setRenaming(true);
                  }}
                >
                  Rename
                </button>
              </span>
            </div>
          </div>
        ) : null}
        {actError ? <Banner kind="error">{actError}</Banner> : null}
      </section>

      <section className="panel panel-flush" aria-labelledby="case-alerts-title">
        <div className="panel-head">
          <h2 id="case-alerts-title" className="panel-title">
            Alerts in this case
          </h2>
        </div>
        {c.alerts.length === 0 ? (
          <p className="empty">No alerts. Select alerts on the Alerts page to add them to a new case.</p>
        ) : (
          <div className="table-scroll">
            <table className="table table-stack" data-testid="case-alerts">
              <thead>
                <tr>
                  <th scope="col">Last seen</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Alert</th>
                  <th scope="col">Entity</th>
                  <th scope="col" className="num">
                    Count
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {c.alerts.map((a) => (
                  <tr key={a.id} data-testid="case-alert-row" data-id={a.id}>
                    <td className="nowrap" data-label="Last seen">
                      {formatMoment(a.lastSeen)}
                    </td>
                    <td data-label="Severity">
                      <SeverityBadge severity={severityOfLevel(a.level)} />
                    </td>
                    <th scope="row" data-label="Alert">
                      <Link to={`/alerts?id=${encodeURIComponent(a.id)}`} className="cell-title">
                        {a.ruleTitle}
                      </Link>
                      <AttackTags tags={a.tags} compact />
                    </th>
                    <td className="mono small" data-label="Entity">
                      {a.entity || '—'}
                    </td>
                    <td className="num" data-label="Count">
                      {formatCount(a.count)}
                    </td>
                    <td data-label="Status">
                      <AlertStatusBadge status={a.status} />
                    </td>
                    <td className="actions">
                      {canManage ? (
                        <button
                          type="button"
                          className="button button-small button-ghost"
                          disabled={busy}
                          onClick={() =>
                            void run(async () => {
                              await detectApi.removeFromCase(c.id, a.id);
                              refresh();
                            })
                          }
                          aria-label={`Take “${a.ruleTitle}” out of this case`}
                        >
                          Take out
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="panel" aria-labelledby="case-timeline-title">
        <h2 id="case-timeline-title" className="panel-title">
          Notes and timeline
        </h2>
        <Timeline entries={c.timeline} people={people.data} />
        {canManage ? (
          <NoteForm
            testId="case-note"
            onAdd={async (text) => {
              await detectApi.caseNote(c.id, text);
              refresh();
            }}
          />
        ) : null}
      </section>
    </div>
  );
}
