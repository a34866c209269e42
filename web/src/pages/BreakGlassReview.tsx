/**
 * Privacy officers: the break-the-glass grants of a period, newest first, for review: who, which
 * patient, why, and whether the grant is still running. Loaded on demand only (each read is audited).
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { SelectField } from '../components/SelectField.js';
import { formatCount, formatMoment } from '../format.js';
import type { BreakGlassGrant } from '../types.js';
import { usePoll } from '../usePoll.js';

const PERIODS = [
  { value: '24h', label: 'Last 24 hours', hours: 24 },
  { value: '7d', label: 'Last 7 days', hours: 24 * 7 },
  { value: '30d', label: 'Last 30 days', hours: 24 * 30 },
] as const;
type Period = (typeof PERIODS)[number]['value'];

/** Most grants asked for at once. */
const LIMIT = 500;

/** The time now, renewed every `everyMs`, so "active" badges turn off when a grant runs out. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

interface BreakGlassReviewProps {
  /** Shows the audit entries made by this grant's clinician for its patient. */
  onReview: (grant: BreakGlassGrant) => void;
}

export function BreakGlassReview({ onReview }: BreakGlassReviewProps) {
  const [period, setPeriod] = useState<Period>('7d');
  const spec = PERIODS.find((p) => p.value === period) ?? PERIODS[1];
  const load = useCallback(
    () => api.breakGlassGrants(new Date(Date.now() - spec.hours * 3_600_000).toISOString(), LIMIT),
    [spec],
  );
  const { data: grants, error, loading, refresh } = usePoll(load, 0, period);
  const now = useNow(15_000);
  const active = grants?.filter((g) => Date.parse(g.expiresAt) > now).length ?? 0;
  const periodText = spec.label.toLowerCase();

  return (
    <section className="panel panel-flush" aria-labelledby="break-glass-title" aria-busy={loading}>
      <div className="panel-head">
        <div>
          <h2 id="break-glass-title" className="panel-title">
            Emergency access (break-the-glass)
          </h2>
          <p className="panel-lede muted small">
            Clinicians declare an emergency to open the record of a patient outside their care. Each
            declaration lasts a short time and is listed here with its reason, for review.
          </p>
        </div>
        <div className="filters">
          <SelectField
            label="Period"
            value={period}
            options={PERIODS}
            onValue={setPeriod}
            testId="break-glass-period"
          />
          <button
            type="button"
            className="button button-small button-ghost"
            onClick={refresh}
            disabled={loading}
            data-testid="break-glass-refresh"
          >
            {loading ? 'Loading…' : 'Refresh'}
          </button>
        </div>
      </div>

      {error ? (
        <div className="panel-pad">
          <Banner kind="error" testId="break-glass-error">
            {grants ? `Could not refresh the grants: ${error} Showing those loaded before.` : error}
          </Banner>
        </div>
      ) : null}

      {grants === undefined ? (
        <p className="empty" role="status">
          {loading || !error ? 'Loading emergency access…' : 'Emergency access could not be loaded.'}
        </p>
      ) : grants.length === 0 ? (
        <div className="empty" data-testid="break-glass-empty">
          <p>No emergency access was declared in the {periodText}.</p>
          {period !== '30d' ? (
            <button
              type="button"
              className="button button-small button-secondary"
              onClick={() => setPeriod('30d')}
            >
              Look at the last 30 days
            </button>
          ) : null}
        </div>
      ) : (
        <>
          <div className="table-scroll">
            <table className="table table-stack" data-testid="break-glass-table">
              <caption className="visually-hidden">
                Break-the-glass grants of the {periodText}, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Declared</th>
                  <th scope="col">Clinician</th>
                  <th scope="col">Patient</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span className="visually-hidden">Audit entries</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {grants.map((g) => {
                  const live = Date.parse(g.expiresAt) > now;
                  return (
                    <tr
                      key={g.id}
                      data-testid="break-glass-row"
                      data-patient={g.patientId}
                      data-active={live}
                    >
                      <td className="nowrap" data-label="Declared">
                        <time dateTime={g.grantedAt}>{formatMoment(g.grantedAt)}</time>
                      </td>
                      <th scope="row" data-label="Clinician">
                        <span className="mono" title="User id">
                          {g.userId}
                        </span>
                      </th>
                      <td className="mono" data-label="Patient">
                        {g.patientId}
                      </td>
                      <td data-label="Reason" data-testid="break-glass-reason">
                        {g.reason}
                      </td>
                      <td data-label="Expires">
                        <time dateTime={g.expiresAt} className="nowrap">
                          {formatMoment(g.expiresAt)}
                        </time>
                        {live ? (
                          <span className="badge badge-danger badge-inline" data-testid="break-glass-active">
                            Active
                          </span>
                        ) : null}
                      </td>
                      <td className="actions">
                        <button
                          type="button"
                          className="button button-small button-secondary"
                          onClick={() => onReview(g)}
                          aria-label={`Show the audit entries of ${g.userId} for patient ${g.patientId}`}
                          data-testid="break-glass-audit"
                        >
                          Audit entries
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <p className="table-foot muted small" data-testid="break-glass-count">
            {grants.length >= LIMIT
              ? `Showing the newest ${formatCount(grants.length)} grants of the ${periodText}`
              : `${formatCount(grants.length)} ${grants.length === 1 ? 'grant' : 'grants'} in the ${periodText}`}
            {active > 0 ? `, ${formatCount(active)} still active.` : ', none still active.'} Clinicians are
            shown by user id (the user list is for administrators).
          </p>
        </>
      )}
    </section>
  );
}
