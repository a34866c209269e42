/** The gateway's verdict as a coloured badge with a word (colour is never the only cue). */

const LOOK: Record<string, { label: string; className: string }> = {
  allow: { label: 'Allowed', className: 'badge-ok' },
  'step-up': { label: 'Step-up', className: 'badge-warning' },
  deny: { label: 'Denied', className: 'badge-danger' },
  login: { label: 'Sign-in needed', className: 'badge-muted' },
};

export const DECISION_LABELS: Record<string, string> = Object.fromEntries(
  Object.entries(LOOK).map(([kind, look]) => [kind, look.label]),
);

export function DecisionBadge({ decision }: { decision: string }) {
  const look = LOOK[decision] ?? { label: decision, className: 'badge-muted' };
  return (
    <span className={`badge ${look.className}`} data-testid="decision-badge" data-decision={decision}>
      {look.label}
    </span>
  );
}
