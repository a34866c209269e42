/**
 * A button for consequential actions: the first press asks for confirmation in place (no modal),
 * the second does it. Escape or "Cancel" backs out.
 */
import { useEffect, useRef, useState } from 'react';

interface ConfirmButtonProps {
  label: string;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  danger?: boolean;
  disabled?: boolean;
  testId?: string;
  /** Names the target for screen readers, e.g. "Disable nurse.jones". */
  accessibleLabel?: string;
}

export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  danger = false,
  disabled = false,
  testId,
  accessibleLabel,
}: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);

  if (!asking) {
    return (
      <button
        type="button"
        className="button button-small button-secondary"
        disabled={disabled}
        onClick={() => setAsking(true)}
        data-testid={testId}
        aria-label={accessibleLabel}
      >
        {label}
      </button>
    );
  }

  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: Escape backs out of the inline confirmation.
    <span
      className="confirm"
      onKeyDown={(e) => {
        if (e.key === 'Escape') setAsking(false);
      }}
    >
      <button
        ref={confirmRef}
        type="button"
        className={`button button-small ${danger ? 'button-danger' : 'button-primary'}`}
        onClick={confirm}
        disabled={busy}
        data-testid={testId ? `${testId}-confirm` : undefined}
      >
        {busy ? 'Working…' : confirmLabel}
      </button>
      <button
        type="button"
        className="button button-small button-ghost"
        onClick={() => setAsking(false)}
        disabled={busy}
      >
        Cancel
      </button>
    </span>
  );
}
