/** Pieces the device pages share: the criticality badge, the period picker and the URL's query. */
import { useSyncExternalStore } from 'react';
import { SelectField } from '../components/SelectField.js';
import {
  CRITICALITY_COLOURS,
  type Criticality,
  criticalityLabel,
  PERIODS,
  type Period,
} from '../devices-types.js';
import '../styles/devices.css';

/** A criticality as a word with its colour (never colour alone). */
export function CriticalityBadge({ level, manual = false }: { level: string; manual?: boolean }) {
  const colour = CRITICALITY_COLOURS[level as Criticality] ?? CRITICALITY_COLOURS.business;
  return (
    <span className="crit-badge" data-testid="criticality" data-criticality={level}>
      <span className="crit-dot" style={{ backgroundColor: colour }} aria-hidden="true" />
      {criticalityLabel(level)}
      {manual ? (
        <span className="manual-mark" title="Set by hand">
          {' '}
          (set by hand)
        </span>
      ) : null}
    </span>
  );
}

export function PeriodSelect({
  value,
  onValue,
  testId,
}: {
  value: Period;
  onValue: (p: Period) => void;
  testId: string;
}) {
  return <SelectField label="Period" value={value} options={PERIODS} onValue={onValue} testId={testId} />;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener('vigil:navigate', onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener('vigil:navigate', onChange);
  };
}

/** The current URL's query parameters (re-read when the app navigates). */
export function useSearch(): URLSearchParams {
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return new URLSearchParams(search);
}

/** A confidence (0–1) as a percentage. */
export function Confidence({ value }: { value: number }) {
  return <span className="confidence">{Math.round(value * 100)}%</span>;
}

/** Replaces the URL (path and query) without a history entry, and tells the router. */
export function replaceUrl(to: string): void {
  if (to === `${window.location.pathname}${window.location.search}`) return;
  window.history.replaceState(null, '', to);
  window.dispatchEvent(new Event('vigil:navigate'));
}
