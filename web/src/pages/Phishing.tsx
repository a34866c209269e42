/**
 * Administrators and analysts: phishing simulation campaigns. The list shows each campaign's
 * status, schedule, counts and rates (clicks by link scanners shown apart from people's), with a
 * form for a new campaign and a cancel for one not yet finished. Paths: /phishing,
 * /phishing/:campaignId (the campaign's report, see PhishingCampaign).
 */
import { useState } from 'react';
import { awarenessApi } from '../awareness-api.js';
import type { CampaignListItem } from '../awareness-types.js';
import { Banner } from '../components/Banner.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { formatCount, formatDateTime } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link, usePath } from '../router.js';
import { usePoll } from '../usePoll.js';
import { PhishingCampaign } from './PhishingCampaign.js';
import { PhishingForm } from './PhishingForm.js';
import { CampaignStatusBadge, formatRate } from './PhishingParts.js';
import '../styles/training.css';
import '../styles/phishing.css';

const REFRESH_SECONDS = 15;

export function Phishing() {
  const path = usePath();
  const rest = path.replace(/^\/phishing\/?/, '').replace(/\/+$/, '');
  if (rest) {
    let id = rest;
    try {
      id = decodeURIComponent(rest);
    } catch {
      id = '';
    }
    return <PhishingCampaign id={id} />;
  }
  return <CampaignList />;
}

function CampaignList() {
  useDocumentTitle('Phishing');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<string>();
  const { data, error, loading, updatedAt, refresh } = usePoll(
    () => awarenessApi.campaigns(),
    REFRESH_SECONDS * 1000,
  );
  const cancel = useSubmit();
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Phishing simulation</h1>
          <p className="page-lede">
            Simulated phishing campaigns to staff: who opened, clicked, submitted the form or reported it.
            Clicks by mail gateways' link scanners are counted apart from people's.
          </p>
        </div>
        <RefreshStatus
          loading={loading}
          updatedAt={updatedAt}
          onRefresh={refresh}
          everySeconds={REFRESH_SECONDS}
        />
      </header>
      {created ? (
        <Banner kind="success" testId="campaign-created">
          Campaign “{created}” created. Its messages go out from its scheduled time, within its send rate.
        </Banner>
      ) : null}
      {creating ? (
        <PhishingForm
          onCancel={() => setCreating(false)}
          onCreated={(campaign) => {
            setCreating(false);
            setCreated(campaign.name);
            refresh();
          }}
        />
      ) : (
        <div className="button-row phishing-actions">
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              setCreated(undefined);
              setCreating(true);
            }}
            data-testid="new-campaign"
          >
            New campaign
          </button>
        </div>
      )}
      {error ? <Banner kind="error">{error}</Banner> : null}
      {cancel.error ? <Banner kind="error">{cancel.error}</Banner> : null}
      <section className="panel panel-flush" aria-labelledby="campaigns-title">
        <h2 id="campaigns-title" className="panel-title panel-title-padded">
          Campaigns
        </h2>
        {data === undefined ? (
          <p className="empty">{loading ? 'Loading…' : 'The campaigns could not be loaded.'}</p>
        ) : data.length === 0 ? (
          <p className="empty">No campaign yet. Create one with “New campaign”.</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="campaigns-table">
              <thead>
                <tr>
                  <th scope="col">Campaign</th>
                  <th scope="col">Status</th>
                  <th scope="col">Scheduled</th>
                  <th scope="col" className="num">
                    Sent
                  </th>
                  <th scope="col" className="num">
                    Opened
                  </th>
                  <th scope="col" className="num">
                    Clicked
                  </th>
                  <th scope="col" className="num">
                    Submitted
                  </th>
                  <th scope="col" className="num">
                    Reported
                  </th>
                  <th scope="col" className="num">
                    Scanner clicks
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.map((c) => (
                  <CampaignRow
                    key={c.id}
                    campaign={c}
                    onCancel={() =>
                      cancel.run(async () => {
                        await awarenessApi.cancelCampaign(c.id);
                        refresh();
                      })
                    }
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function CampaignRow({
  campaign: c,
  onCancel,
}: {
  campaign: CampaignListItem;
  onCancel: () => Promise<void>;
}) {
  const n = c.counts;
  const count = (value: number | undefined, rate?: number) =>
    value === undefined ? (
      '—'
    ) : (
      <>
        {formatCount(value)}
        {rate !== undefined ? <span className="cell-sub">{formatRate(rate)}</span> : null}
      </>
    );
  return (
    <tr data-testid="campaign-row" data-campaign={c.id} data-name={c.name}>
      <th scope="row">
        <Link to={`/phishing/${encodeURIComponent(c.id)}`} className="cell-title" data-testid="open-campaign">
          {c.name}
        </Link>
        <span className="cell-sub">
          {formatCount(c.recipients)} {c.recipients === 1 ? 'recipient' : 'recipients'}
          {n?.errors ? ` · ${formatCount(n.errors)} failed` : ''}
        </span>
      </th>
      <td>
        <CampaignStatusBadge status={c.status} />
      </td>
      <td className="nowrap">
        {formatDateTime(c.scheduledAt)}
        <span className="cell-sub">{formatCount(c.ratePerMinute)} / min</span>
      </td>
      <td className="num" data-testid="count-sent" data-value={n?.sent}>
        {count(n?.sent)}
      </td>
      <td className="num" data-testid="count-opened" data-value={n?.opened}>
        {count(n?.opened)}
      </td>
      <td className="num" data-testid="count-clicked" data-value={n?.clicked}>
        {count(n?.clicked, n?.clickRate)}
      </td>
      <td className="num" data-testid="count-submitted" data-value={n?.submitted}>
        {count(n?.submitted, n?.submitRate)}
      </td>
      <td className="num" data-testid="count-reported" data-value={n?.reported}>
        {count(n?.reported, n?.reportRate)}
      </td>
      <td className="num muted" data-testid="count-scanner" data-value={n?.scannerClicks}>
        {count(n?.scannerClicks)}
      </td>
      <td>
        {c.status === 'scheduled' || c.status === 'sending' ? (
          <ConfirmButton
            label="Cancel"
            confirmLabel="Cancel campaign"
            danger
            onConfirm={onCancel}
            testId="cancel-campaign"
            accessibleLabel={`Cancel ${c.name}`}
          />
        ) : null}
      </td>
    </tr>
  );
}
