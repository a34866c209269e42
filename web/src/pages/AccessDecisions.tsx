/** The gateway's recent decisions: filters, a table, and each decision's reasons on demand. */
import { useState } from 'react';
import { Banner } from '../components/Banner.js';
import { DecisionBadge } from '../components/DecisionBadge.js';
import { ExpandButton } from '../components/ExpandButton.js';
import { SelectField } from '../components/SelectField.js';
import { formatCount, formatMoment } from '../format.js';
import type { AccessDecision, DecisionKind } from '../types.js';
import type { Poll } from '../usePoll.js';

export interface UserFilter {
  id: string;
  name: string;
}

const DECISION_OPTIONS: ReadonlyArray<{ value: DecisionKind | ''; label: string }> = [
  { value: '', label: 'All decisions' },
  { value: 'allow', label: 'Allowed' },
  { value: 'step-up', label: 'Step-up MFA' },
  { value: 'deny', label: 'Denied' },
  { value: 'login', label: 'Sign-in needed' },
];

const LIMIT_OPTIONS = [
  { value: '50', label: 'Newest 50' },
  { value: '100', label: 'Newest 100' },
  { value: '250', label: 'Newest 250' },
  { value: '1000', label: 'Newest 1,000' },
] as const;
type LimitOption = (typeof LIMIT_OPTIONS)[number]['value'];

interface AccessDecisionsProps {
  poll: Poll<AccessDecision[]>;
  decision: DecisionKind | '';
  onDecision: (d: DecisionKind | '') => void;
  who: UserFilter | undefined;
  onWho: (who: UserFilter | undefined) => void;
  limit: number;
  onLimit: (limit: number) => void;
}

export function AccessDecisions({
  poll,
  decision,
  onDecision,
  who,
  onWho,
  limit,
  onLimit,
}: AccessDecisionsProps) {
  const { data: decisions, error, loading } = poll;
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const filtered = decision !== '' || who !== undefined;
  const limitValue = (LIMIT_OPTIONS.find((o) => o.value === String(limit))?.value ?? '100') as LimitOption;

  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <section className="panel panel-flush" aria-labelledby="decisions-title">
      <div className="panel-head">
        <h2 id="decisions-title" className="panel-title">
          Recent decisions
        </h2>
        <div className="filters">
          <SelectField
            label="Decision"
            value={decision}
            options={DECISION_OPTIONS}
            onValue={onDecision}
            testId="decisions-filter"
          />
          <SelectField
            label="Show"
            value={limitValue}
            options={LIMIT_OPTIONS}
            onValue={(v) => onLimit(Number(v))}
            testId="decisions-limit"
          />
          {who ? (
            <div className="field">
              <span className="field-label" aria-hidden="true">
                User
              </span>
              <span className="chip" data-testid="decisions-user">
                <span className="visually-hidden">Only the decisions for </span>
                <span className="mono">{who.name}</span>
                <button
                  type="button"
                  className="chip-remove"
                  onClick={() => onWho(undefined)}
                  aria-label={`Show every user, not only ${who.name}`}
                  data-testid="decisions-user-clear"
                >
                  ×
                </button>
              </span>
            </div>
          ) : null}
        </div>
      </div>

      {error ? (
        <div className="panel-pad">
          <Banner kind="error" testId="decisions-error">
            {decisions ? `Could not refresh the decisions: ${error} Showing those loaded before.` : error}
          </Banner>
        </div>
      ) : null}

      {decisions === undefined ? (
        <p className="empty">{loading || !error ? 'Loading decisions…' : 'Decisions could not be loaded.'}</p>
      ) : decisions.length === 0 ? (
        filtered ? (
          <div className="empty" data-testid="decisions-empty">
            <p>No decisions match these filters.</p>
            <button
              type="button"
              className="button button-small button-secondary"
              onClick={() => {
                onDecision('');
                onWho(undefined);
              }}
            >
              Clear the filters
            </button>
          </div>
        ) : (
          <div className="empty" data-testid="decisions-empty">
            <p>No gateway decisions yet.</p>
            <p className="small">
              The gateway decides when a reverse proxy asks it before each request to a protected application
              (nginx <code>auth_request</code> or Traefik ForwardAuth pointed at <code>/access/check</code>).
              Once the proxy and the applications under <code>access.applications</code> are set up, every
              allow, step-up and deny shows here with its reasons.
            </p>
          </div>
        )
      ) : (
        <>
          <div className="table-scroll">
            <table className="table table-stack" data-testid="decisions-table">
              <caption className="visually-hidden">Gateway decisions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">User</th>
                  <th scope="col">Application</th>
                  <th scope="col">Decision</th>
                  <th scope="col" className="num">
                    Risk
                  </th>
                  <th scope="col">Source address</th>
                  <th scope="col">
                    <span className="visually-hidden">Reasons</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {decisions.map((d) => (
                  <DecisionRows
                    key={d.id}
                    decision={d}
                    expanded={open.has(d.id)}
                    onToggle={() => toggle(d.id)}
                    onOnlyUser={who ? undefined : onWho}
                  />
                ))}
              </tbody>
            </table>
          </div>
          <p className="table-foot muted small">
            {decisions.length >= limit
              ? `Showing the newest ${formatCount(decisions.length)}. Choose a larger number under “Show” to look further back.`
              : `${formatCount(decisions.length)} ${decisions.length === 1 ? 'decision' : 'decisions'}.`}{' '}
            Select a user name to see only that person’s decisions.
          </p>
        </>
      )}
    </section>
  );
}

function DecisionRows({
  decision: d,
  expanded,
  onToggle,
  onOnlyUser,
}: {
  decision: AccessDecision;
  expanded: boolean;
  onToggle: () => void;
  onOnlyUser: ((who: UserFilter) => void) | undefined;
}) {
  const detailId = `decision-${d.id}-reasons`;
  const request = [d.method, d.host ? `${d.host}${d.path ?? ''}` : d.path].filter(Boolean).join(' ');
  const name = d.username ?? d.userId;
  return (
    <>
      <tr data-testid="decision-row" data-decision={d.decision} className={expanded ? 'row-open' : undefined}>
        <td className="nowrap" data-label="Time">
          <time dateTime={d.time}>{formatMoment(d.time)}</time>
        </td>
        <th scope="row" data-label="User">
          {name && d.userId && onOnlyUser ? (
            <button
              type="button"
              className="link-button"
              onClick={() => onOnlyUser({ id: d.userId!, name })}
              aria-label={`Show only the decisions for ${name}`}
            >
              {name}
            </button>
          ) : name ? (
            <span>{name}</span>
          ) : (
            <span className="muted">Not signed in</span>
          )}
        </th>
        <td data-label="Application">
          <span className="cell-title">{d.app ?? <span className="muted">Unknown</span>}</span>
          {request ? (
            <span className="cell-sub mono cell-clip" title={request}>
              {request}
            </span>
          ) : null}
        </td>
        <td data-label="Decision">
          <DecisionBadge decision={d.decision} />
        </td>
        <td className="num" data-label="Risk">
          {formatCount(d.risk)}
        </td>
        <td className="mono nowrap" data-label="Source">
          {d.sourceIp ?? <span className="muted">—</span>}
        </td>
        <td className="actions">
          <ExpandButton
            expanded={expanded}
            onToggle={onToggle}
            controls={detailId}
            label={`Reasons (${d.reasons.length})`}
            accessibleLabel={`the reasons for the decision at ${formatMoment(d.time)}`}
            testId="decision-expand"
          />
        </td>
      </tr>
      {expanded ? (
        <tr className="detail-row">
          <td colSpan={7} id={detailId}>
            <Reasons decision={d} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function Reasons({ decision: d }: { decision: AccessDecision }) {
  if (d.reasons.length === 0) {
    return <p className="muted small">No risk signals were recorded for this decision.</p>;
  }
  const reasons = [...d.reasons].sort(
    (a, b) => Number(b.deny ?? 0) - Number(a.deny ?? 0) || b.score - a.score,
  );
  return (
    <table className="table table-inner table-stack" data-testid="decision-reasons">
      <caption className="visually-hidden">Risk signals behind this decision</caption>
      <thead>
        <tr>
          <th scope="col">Signal</th>
          <th scope="col" className="num">
            Score
          </th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {reasons.map((r) => (
          <tr key={r.signal} data-testid="decision-reason">
            <th scope="row" className="mono" data-label="Signal">
              {r.signal}
            </th>
            <td className="num" data-label="Score">
              {r.score > 0 ? `+${formatCount(r.score)}` : formatCount(r.score)}
            </td>
            <td data-label="Reason">
              {r.reason}
              {r.deny ? <span className="badge badge-danger badge-inline">Denies on its own</span> : null}
              {r.unknown ? <span className="badge badge-muted badge-inline">No data to judge</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Total risk</th>
          <td className="num" data-label="Risk">
            {formatCount(d.risk)}
          </td>
          <td />
        </tr>
      </tfoot>
    </table>
  );
}
