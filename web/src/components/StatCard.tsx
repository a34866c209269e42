/** One headline figure with a label and a line of context. */
import type { ReactNode } from 'react';
import { formatCount } from '../format.js';

interface StatCardProps {
  label: string;
  value: number | undefined;
  detail?: ReactNode;
  testId?: string;
}

export function StatCard({ label, value, detail, testId }: StatCardProps) {
  return (
    <div className="stat">
      <dt className="stat-label">{label}</dt>
      <dd className="stat-value" data-testid={testId} data-value={value}>
        {value === undefined ? '—' : formatCount(value)}
      </dd>
      {detail ? <dd className="stat-detail">{detail}</dd> : null}
    </div>
  );
}
