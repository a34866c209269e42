/** Small pieces the phishing pages share: a campaign's status badge and how rates read. */
import type { CampaignStatus } from '../awareness-types.js';

const STATUS_BADGES: Record<CampaignStatus, string> = {
  scheduled: 'badge-info',
  sending: 'badge-warning',
  sent: 'badge-ok',
  cancelled: 'badge-muted',
};

export function CampaignStatusBadge({ status }: { status: CampaignStatus }) {
  return (
    <span className={`badge ${STATUS_BADGES[status]}`} data-testid="campaign-status" data-status={status}>
      {status}
    </span>
  );
}

/** A percentage as the API gives it (0–100, two decimals at most). */
export function formatRate(rate: number): string {
  return `${Math.round(rate * 10) / 10}%`;
}
