/** "Updated hh:mm:ss" with a progress mark while a refresh runs, and a manual refresh button. */
import { formatClock } from '../format.js';

interface RefreshStatusProps {
  loading: boolean;
  updatedAt: Date | undefined;
  onRefresh: () => void;
  everySeconds?: number;
}

export function RefreshStatus({ loading, updatedAt, onRefresh, everySeconds }: RefreshStatusProps) {
  return (
    <div className="refresh">
      <span className="refresh-text" role="status" data-testid="updated-at">
        {loading ? <span className="spinner" aria-hidden="true" /> : null}
        {loading && !updatedAt
          ? 'Loading…'
          : updatedAt
            ? `Updated ${formatClock(updatedAt)}`
            : 'Not loaded yet'}
        {loading && updatedAt ? <span className="visually-hidden"> (refreshing)</span> : null}
      </span>
      {everySeconds ? <span className="refresh-every muted">refreshes every {everySeconds} s</span> : null}
      <button
        type="button"
        className="button button-small button-ghost"
        onClick={onRefresh}
        disabled={loading}
      >
        Refresh
      </button>
    </div>
  );
}
