/**
 * Analysts, admins and privacy officers: detection alerts, most recently seen first, filtered by
 * status, severity, rule and text. Analysts and admins select alerts to acknowledge, resolve or
 * mark as false positives at once, take them ("assign to me") or open a case from them. Each
 * alert opens to its ATT&CK tags, evidence, notes and history. `/alerts?id=…` opens one alert.
 */
import { useCallback, useEffect, useId, useState } from 'react';
import { describeError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { ExpandButton } from '../components/ExpandButton.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { SelectField } from '../components/SelectField.js';
import { SeverityBadge } from '../components/SeverityBadge.js';
import { detectApi } from '../detect-api.js';
import {
  type Alert,
  type AlertFilter,
  type AlertStatus,
  type Assignee,
  STATUS_LABELS,
} from '../detect-types.js';
import { formatCount, formatMoment } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link, navigate } from '../router.js';
import type { SessionUser } from '../types.js';
import { usePoll } from '../usePoll.js';
import {
  AlertStatusBadge,
  AttackTags,
  goTo,
  NoteForm,
  nameOf,
  severityOfLevel,
  Timeline,
  useQueryParam,
} from './AlertParts.js';

const REFRESH_SECONDS = 15;
const PAGE = 50;

const STATUS_OPTIONS = [
  { value: 'open', label: 'Open (new or acknowledged)' },
  { value: 'new', label: 'New' },
  { value: 'acknowledged', label: 'Acknowledged' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'false-positive', label: 'False positive' },
  { value: 'all', label: 'All statuses' },
] as const;
type StatusOption = (typeof STATUS_OPTIONS)[number]['value'];

const LEVEL_OPTIONS = [
  { value: '', label: 'All severities' },
  { value: 'critical', label: 'Critical' },
  { value: 'high', label: 'High' },
  { value: 'medium', label: 'Medium' },
  { value: 'low', label: 'Low' },
  { value: 'informational', label: 'Informational' },
] as const;
type LevelOption = (typeof LEVEL_OPTIONS)[number]['value'];

function statusParam(s: StatusOption): string | undefined {
  return s === 'all' ? undefined : s === 'open' ? 'new,acknowledged' : s;
}

export function Alerts({ user }: { user: SessionUser }) {
  useDocumentTitle('Alerts');
  const canTriage = user.role === 'admin' || user.role === 'analyst';
  const linked = useQueryParam('id');
  const [status, setStatus] = useState<StatusOption>(linked ? 'all' : 'open');
  const [level, setLevel] = useState<LevelOption>('');
  const [ruleId, setRuleId] = useState('');
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [mine, setMine] = useState(false);
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [openId, setOpenId] = useState<string | undefined>(linked);
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const searchId = useId();

  useEffect(() => {
    if (linked) setOpenId(linked);
  }, [linked]);

  const filter: AlertFilter = {
    status: statusParam(status),
    level: level || undefined,
    ruleId: ruleId || undefined,
    q: q || undefined,
    assignee: mine ? 'me' : undefined,
    limit: PAGE,
    offset,
  };
  const key = JSON.stringify(filter);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the filter.
  const load = useCallback(() => detectApi.alerts(filter), [key]);
  const { data, error, loading, updatedAt, refresh } = usePoll(load, REFRESH_SECONDS * 1000, key);
  const rules = usePoll(detectApi.alertRules, 0);
  const people = usePoll(detectApi.assignees, 0);

  // A new filter starts at the first page with nothing selected.
  const refilter =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setOffset(0);
      setSelected(new Set());
    };

  const alerts = data?.alerts;
  const toggle = (id: string) =>
    setSelected((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allOnPage = Boolean(alerts?.length) && alerts!.every((a) => selected.has(a.id));

  const bulk = async (
    change: { status?: AlertStatus; assignee?: string | null },
    done: (n: number) => string,
  ) => {
    setNotice(undefined);
    setActionError(undefined);
    try {
      const changed = await detectApi.bulk([...selected], change);
      setNotice(done(changed.length));
      setSelected(new Set());
      refresh();
    } catch (err) {
      setActionError(describeError(err));
    }
  };

  const ruleOptions = [
    { value: '', label: 'All rules' },
    ...(rules.data ?? []).map((r) => ({
      value: r.ruleId,
      label: `${r.ruleTitle} (${formatCount(r.alerts)})`,
    })),
  ];
  const openOutsidePage = openId && alerts && !alerts.some((a) => a.id === openId);

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Alerts</h1>
          <p className="page-lede">
            What the detection rules raised. Repeats of one rule on the same user, address or device within
            the hour are counted on one alert.
          </p>
        </div>
        <RefreshStatus
          loading={loading}
          updatedAt={updatedAt}
          onRefresh={refresh}
          everySeconds={REFRESH_SECONDS}
        />
      </header>

      <section className="panel panel-compact" aria-labelledby="alert-filters-title">
        <h2 id="alert-filters-title" className="visually-hidden">
          Filter alerts
        </h2>
        <div className="filters">
          <SelectField
            label="Status"
            value={status}
            options={STATUS_OPTIONS}
            onValue={refilter(setStatus)}
            testId="alerts-status"
          />
          <SelectField
            label="Severity"
            value={level}
            options={LEVEL_OPTIONS}
            onValue={refilter(setLevel)}
            testId="alerts-level"
          />
          <SelectField
            label="Rule"
            value={ruleId}
            options={ruleOptions}
            onValue={refilter(setRuleId)}
            testId="alerts-rule"
          />
          <form
            className="field alert-search"
            onSubmit={(e) => {
              e.preventDefault();
              refilter(setQ)(text.trim());
            }}
          >
            <label htmlFor={searchId}>Text</label>
            <div className="alert-search-row">
              <input
                id={searchId}
                type="search"
                value={text}
                maxLength={200}
                placeholder="Rule, user, address, alert id"
                onChange={(e) => {
                  setText(e.target.value);
                  if (!e.target.value) refilter(setQ)('');
                }}
                data-testid="alerts-search"
              />
              <button
                type="submit"
                className="button button-small button-secondary"
                data-testid="alerts-search-submit"
              >
                Search
              </button>
            </div>
          </form>
          <label className="check alert-mine">
            <input
              type="checkbox"
              checked={mine}
              onChange={(e) => refilter(setMine)(e.target.checked)}
              data-testid="alerts-mine"
            />
            <span>Assigned to me</span>
          </label>
          <a
            className="button button-small button-ghost alert-export"
            href={detectApi.exportUrl(filter)}
            download
            data-testid="alerts-export"
          >
            Export OCSF
          </a>
        </div>
      </section>

      {notice ? (
        <Banner kind="success" testId="alerts-notice">
          {notice}
        </Banner>
      ) : null}
      {actionError ? (
        <Banner kind="error" testId="alerts-action-error">
          {actionError}
        </Banner>
      ) : null}
      {error ? (
        <Banner kind="error" testId="alerts-error">
          {alerts ? `Could not refresh: ${error} Showing the alerts loaded before.` : error}
        </Banner>
      ) : null}

      {canTriage && selected.size > 0 ? (
        <BulkBar
          count={selected.size}
          onStatus={(s) =>
            bulk(
              { status: s },
              (n) =>
                `${formatCount(n)} ${n === 1 ? 'alert' : 'alerts'} marked ${STATUS_LABELS[s].toLowerCase()}.`,
            )
          }
          onAssignMe={() =>
            bulk(
              { assignee: user.id },
              (n) => `${formatCount(n)} ${n === 1 ? 'alert is' : 'alerts are'} now yours.`,
            )
          }
          onCase={async (title) => {
            const c = await detectApi.createCase({ title, alertIds: [...selected] });
            navigate(`/cases?id=${encodeURIComponent(c.id)}`);
          }}
          onClear={() => setSelected(new Set())}
        />
      ) : null}

      {openOutsidePage ? (
        <section className="panel" aria-label="The linked alert">
          <AlertDetailPanel
            id={openId}
            user={user}
            people={people.data}
            canTriage={canTriage}
            onChanged={refresh}
            onClose={() => {
              setOpenId(undefined);
              goTo('/alerts', { replace: true });
            }}
          />
        </section>
      ) : null}

      <section className="panel panel-flush" aria-labelledby="alerts-list-title">
        <h2 id="alerts-list-title" className="visually-hidden">
          Alerts
        </h2>
        {alerts === undefined ? (
          <p className="empty">{loading || !error ? 'Loading alerts…' : 'Alerts could not be loaded.'}</p>
        ) : alerts.length === 0 ? (
          <div className="empty" data-testid="alerts-empty">
            <p>{offset > 0 ? 'No more alerts.' : 'No alerts match these filters.'}</p>
            <p className="small">
              Alerts appear when a rule of the hospital pack (or one under the data directory’s{' '}
              <code>rules/</code>) fires on the events Vigil receives.
            </p>
          </div>
        ) : (
          <>
            <div className="table-scroll">
              <table className="table table-stack alerts-table" data-testid="alerts-table">
                <caption className="visually-hidden">Alerts, most recently seen first</caption>
                <thead>
                  <tr>
                    {canTriage ? (
                      <th scope="col" className="select-col">
                        <input
                          type="checkbox"
                          aria-label="Select every alert on this page"
                          checked={allOnPage}
                          onChange={() =>
                            setSelected(
                              allOnPage ? new Set() : new Set([...selected, ...alerts.map((a) => a.id)]),
                            )
                          }
                          data-testid="alerts-select-all"
                        />
                      </th>
                    ) : null}
                    <th scope="col">Last seen</th>
                    <th scope="col">Severity</th>
                    <th scope="col">Alert</th>
                    <th scope="col">Entity</th>
                    <th scope="col" className="num">
                      Count
                    </th>
                    <th scope="col">Status</th>
                    <th scope="col" className="hide-narrow">
                      Assignee
                    </th>
                    <th scope="col">
                      <span className="visually-hidden">Details</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {alerts.map((a) => (
                    <AlertRows
                      key={a.id}
                      alert={a}
                      user={user}
                      people={people.data}
                      canTriage={canTriage}
                      selected={selected.has(a.id)}
                      onSelect={() => toggle(a.id)}
                      open={openId === a.id}
                      onToggle={() => setOpenId(openId === a.id ? undefined : a.id)}
                      onChanged={refresh}
                    />
                  ))}
                </tbody>
              </table>
            </div>
            <div className="table-foot pager">
              <span className="muted small" data-testid="alerts-count">
                {`${formatCount(offset + 1)}–${formatCount(offset + alerts.length)} of ${formatCount(data!.total)}`}
              </span>
              <span className="button-row">
                <button
                  type="button"
                  className="button button-small button-secondary"
                  disabled={offset === 0}
                  onClick={() => setOffset(Math.max(0, offset - PAGE))}
                >
                  Newer
                </button>
                <button
                  type="button"
                  className="button button-small button-secondary"
                  disabled={offset + alerts.length >= data!.total}
                  onClick={() => setOffset(offset + PAGE)}
                  data-testid="alerts-next"
                >
                  Older
                </button>
              </span>
            </div>
          </>
        )}
      </section>
    </div>
  );
}

function BulkBar({
  count,
  onStatus,
  onAssignMe,
  onCase,
  onClear,
}: {
  count: number;
  onStatus: (s: AlertStatus) => Promise<void>;
  onAssignMe: () => Promise<void>;
  onCase: (title: string) => Promise<void>;
  onClear: () => void;
}) {
  const [caseTitle, setCaseTitle] = useState('');
  const [casing, setCasing] = useState(false);
  const { busy, error, run } = useSubmit();
  const titleId = useId();
  const go = (work: () => Promise<void>) => () => void run(work);
  return (
    <section
      className="panel panel-compact bulk-bar"
      aria-label="Change the selected alerts"
      data-testid="bulk-bar"
    >
      <p className="bulk-count" role="status" data-testid="bulk-count">
        {formatCount(count)} {count === 1 ? 'alert' : 'alerts'} selected
      </p>
      <div className="button-row">
        <button
          type="button"
          className="button button-small button-primary"
          disabled={busy}
          onClick={go(() => onStatus('acknowledged'))}
          data-testid="bulk-acknowledge"
        >
          Acknowledge
        </button>
        <button
          type="button"
          className="button button-small button-secondary"
          disabled={busy}
          onClick={go(() => onStatus('resolved'))}
          data-testid="bulk-resolve"
        >
          Resolve
        </button>
        <button
          type="button"
          className="button button-small button-secondary"
          disabled={busy}
          onClick={go(() => onStatus('false-positive'))}
          data-testid="bulk-false-positive"
        >
          False positive
        </button>
        <button
          type="button"
          className="button button-small button-secondary"
          disabled={busy}
          onClick={go(onAssignMe)}
          data-testid="bulk-assign-me"
        >
          Assign to me
        </button>
        <button
          type="button"
          className="button button-small button-secondary"
          disabled={busy}
          onClick={() => setCasing(!casing)}
          aria-expanded={casing}
          data-testid="bulk-case"
        >
          Open a case…
        </button>
        <button type="button" className="button button-small button-ghost" onClick={onClear}>
          Clear selection
        </button>
      </div>
      {casing ? (
        <form
          className="bulk-case-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (caseTitle.trim()) void run(() => onCase(caseTitle.trim()));
          }}
        >
          <div className="field">
            <label htmlFor={titleId}>Case title</label>
            <input
              id={titleId}
              value={caseTitle}
              maxLength={200}
              required
              onChange={(e) => setCaseTitle(e.target.value)}
              data-testid="bulk-case-title"
            />
          </div>
          <button
            type="submit"
            className="button button-small button-primary"
            disabled={busy || !caseTitle.trim()}
            data-testid="bulk-case-create"
          >
            Open the case with {formatCount(count)} {count === 1 ? 'alert' : 'alerts'}
          </button>
        </form>
      ) : null}
      {error ? (
        <Banner kind="error" testId="bulk-error">
          {error}
        </Banner>
      ) : null}
    </section>
  );
}

function AlertRows({
  alert: a,
  user,
  people,
  canTriage,
  selected,
  onSelect,
  open,
  onToggle,
  onChanged,
}: {
  alert: Alert;
  user: SessionUser;
  people: readonly Assignee[] | undefined;
  canTriage: boolean;
  selected: boolean;
  onSelect: () => void;
  open: boolean;
  onToggle: () => void;
  onChanged: () => void;
}) {
  const detailId = `alert-${a.id}-detail`;
  return (
    <>
      <tr
        data-testid="alert-row"
        data-id={a.id}
        data-status={a.status}
        data-level={a.level}
        data-entity={a.entity}
        className={[open ? 'row-open' : '', selected ? 'row-selected' : ''].join(' ').trim() || undefined}
      >
        {canTriage ? (
          <td className="select-col">
            <input
              type="checkbox"
              checked={selected}
              onChange={onSelect}
              aria-label={`Select “${a.ruleTitle}” on ${a.entity || 'no entity'}`}
              data-testid="alert-select"
            />
          </td>
        ) : null}
        <td className="nowrap" data-label="Last seen">
          <time dateTime={a.lastSeen}>{formatMoment(a.lastSeen)}</time>
        </td>
        <td data-label="Severity">
          <SeverityBadge severity={severityOfLevel(a.level)} />
        </td>
        <th scope="row" data-label="Alert">
          <span className="cell-title">{a.ruleTitle}</span>
          <AttackTags tags={a.tags} compact />
          {a.caseId ? (
            <Link
              className="cell-sub"
              to={`/cases?id=${encodeURIComponent(a.caseId)}`}
              data-testid="alert-case-link"
            >
              In a case
            </Link>
          ) : null}
        </th>
        <td className="mono small cell-clip" data-label="Entity" title={a.entity}>
          {a.entity || <span className="muted">—</span>}
        </td>
        <td className="num" data-label="Count" data-testid="alert-count">
          {formatCount(a.count)}
        </td>
        <td data-label="Status">
          <AlertStatusBadge status={a.status} />
        </td>
        <td className="hide-narrow" data-label="Assignee" data-testid="alert-assignee">
          {a.assignee ? (
            a.assignee === user.id ? (
              'Me'
            ) : (
              nameOf(people, a.assignee)
            )
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td className="actions">
          <ExpandButton
            expanded={open}
            onToggle={onToggle}
            controls={detailId}
            label="Open"
            accessibleLabel={`the details of “${a.ruleTitle}”`}
            testId="alert-open"
          />
        </td>
      </tr>
      {open ? (
        <tr className="detail-row">
          <td colSpan={canTriage ? 9 : 8} id={detailId}>
            <AlertDetailPanel
              id={a.id}
              user={user}
              people={people}
              canTriage={canTriage}
              onChanged={onChanged}
            />
          </td>
        </tr>
      ) : null}
    </>
  );
}

/** One alert: facts, ATT&CK tags, status actions, evidence, notes and history. */
function AlertDetailPanel({
  id,
  user,
  people,
  canTriage,
  onChanged,
  onClose,
}: {
  id: string;
  user: SessionUser;
  people: readonly Assignee[] | undefined;
  canTriage: boolean;
  onChanged: () => void;
  onClose?: () => void;
}) {
  const load = useCallback(() => detectApi.alert(id), [id]);
  const { data: a, error, refresh } = usePoll(load, 0, id);
  const { busy, error: actError, run } = useSubmit();
  const change = (c: { status?: AlertStatus; assignee?: string | null }) =>
    void run(async () => {
      await detectApi.bulk([id], c);
      refresh();
      onChanged();
    });

  if (!a) return error ? <Banner kind="error">{error}</Banner> : <p className="muted">Loading the alert…</p>;
  return (
    <div className="alert-detail" data-testid="alert-detail" data-id={a.id}>
      <div className="alert-detail-head">
        <div>
          <h3 className="panel-title">{a.ruleTitle}</h3>
          <AttackTags tags={a.tags} />
        </div>
        {onClose ? (
          <button type="button" className="button button-small button-ghost" onClick={onClose}>
            Close
          </button>
        ) : null}
      </div>
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd>
            <AlertStatusBadge status={a.status} />
            {a.statusChangedAt ? (
              <span className="cell-sub">
                {formatMoment(a.statusChangedAt)} by{' '}
                {a.statusChangedBy === user.id ? 'you' : nameOf(people, a.statusChangedBy)}
              </span>
            ) : null}
          </dd>
        </div>
        <div>
          <dt>Entity</dt>
          <dd className="mono">{a.entity || '—'}</dd>
        </div>
        <div>
          <dt>Seen</dt>
          <dd>
            {formatCount(a.count)} {a.count === 1 ? 'time' : 'times'}, {formatMoment(a.firstSeen)}
            {a.count > 1 ? ` – ${formatMoment(a.lastSeen)}` : ''}
          </dd>
        </div>
        <div>
          <dt>Assignee</dt>
          <dd data-testid="alert-detail-assignee">
            {a.assignee === user.id ? 'Me' : nameOf(people, a.assignee)}
          </dd>
        </div>
        <div>
          <dt>Rule</dt>
          <dd className="mono small">{a.ruleId}</dd>
        </div>
        <div>
          <dt>Case</dt>
          <dd>
            {a.caseId ? <Link to={`/cases?id=${encodeURIComponent(a.caseId)}`}>Open the case</Link> : 'None'}
          </dd>
        </div>
      </dl>

      {canTriage ? (
        <div className="button-row" data-testid="alert-actions">
          {a.status !== 'acknowledged' ? (
            <button
              type="button"
              className="button button-small button-primary"
              disabled={busy}
              onClick={() => change({ status: 'acknowledged' })}
              data-testid="alert-acknowledge"
            >
              {a.status === 'new' ? 'Acknowledge' : 'Reopen'}
            </button>
          ) : null}
          {a.status !== 'resolved' ? (
            <button
              type="button"
              className="button button-small button-secondary"
              disabled={busy}
              onClick={() => change({ status: 'resolved' })}
              data-testid="alert-resolve"
            >
              Resolve
            </button>
          ) : null}
          {a.status !== 'false-positive' ? (
            <button
              type="button"
              className="button button-small button-secondary"
              disabled={busy}
              onClick={() => change({ status: 'false-positive' })}
              data-testid="alert-false-positive"
            >
              False positive
            </button>
          ) : null}
          {a.assignee !== user.id ? (
            <button
              type="button"
              className="button button-small button-secondary"
              disabled={busy}
              onClick={() => change({ assignee: user.id })}
              data-testid="alert-assign-me"
            >
              Assign to me
            </button>
          ) : (
            <button
              type="button"
              className="button button-small button-ghost"
              disabled={busy}
              onClick={() => change({ assignee: null })}
            >
              Unassign
            </button>
          )}
        </div>
      ) : null}
      {actError ? <Banner kind="error">{actError}</Banner> : null}

      <div className="grid-2 alert-detail-body">
        <section aria-label="Evidence">
          <h4>Evidence</h4>
          {a.evidence.length ? (
            <>
              <p className="muted small">
                {a.evidence.length === 1
                  ? 'The event behind it'
                  : `The first ${formatCount(a.evidence.length)} events behind it`}
                , long values cut.
              </p>
              {a.evidence.map((e, i) => (
                <pre key={a.eventIds[i] ?? i} className="json evidence" data-testid="alert-evidence">
                  {JSON.stringify(e, null, 2)}
                </pre>
              ))}
            </>
          ) : (
            <p className="muted small">No event was kept with this alert.</p>
          )}
        </section>
        <section aria-label="Notes and history">
          <h4>Notes and history</h4>
          <Timeline entries={a.timeline} people={people} />
          {canTriage ? (
            <NoteForm
              testId="alert-note"
              onAdd={async (text) => {
                await detectApi.alertNote(a.id, text);
                refresh();
              }}
            />
          ) : null}
        </section>
      </div>
    </div>
  );
}
