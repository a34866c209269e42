/** A disclosure toggle for a table row's details: says what it opens and whether it is open. */

interface ExpandButtonProps {
  expanded: boolean;
  onToggle: () => void;
  /** The id of the element it shows (present only while expanded). */
  controls: string;
  label: string;
  /** Names the row for screen readers, e.g. "reasons for the decision at 10:42:07". */
  accessibleLabel: string;
  testId?: string;
}

export function ExpandButton({
  expanded,
  onToggle,
  controls,
  label,
  accessibleLabel,
  testId,
}: ExpandButtonProps) {
  return (
    <button
      type="button"
      className="button button-small button-ghost expand-button"
      aria-expanded={expanded}
      aria-controls={expanded ? controls : undefined}
      aria-label={`${expanded ? 'Hide' : 'Show'} ${accessibleLabel}`}
      onClick={onToggle}
      data-testid={testId}
    >
      <span className="expand-mark" aria-hidden="true" />
      {label}
    </button>
  );
}
