/** An event's severity as a badge; events without one say so quietly. */

const LOOK: Record<string, { label: string; className: string }> = {
  info: { label: 'Info', className: 'badge-muted' },
  low: { label: 'Low', className: 'badge-info' },
  medium: { label: 'Medium', className: 'badge-warning' },
  high: { label: 'High', className: 'badge-danger' },
  critical: { label: 'Critical', className: 'badge-critical' },
};

export function SeverityBadge({ severity }: { severity: string | undefined }) {
  if (!severity) return <span className="muted small">None</span>;
  const look = LOOK[severity] ?? { label: severity, className: 'badge-muted' };
  return (
    <span className={`badge ${look.className}`} data-testid="severity-badge" data-severity={severity}>
      {look.label}
    </span>
  );
}
