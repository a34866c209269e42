/** A labelled form control with an optional hint and error, wired for screen readers. */
import type { InputHTMLAttributes, ReactNode } from 'react';
import { useId } from 'react';

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onChange'> {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: ReactNode;
  invalid?: boolean;
  /** What is wrong with the value; marks the field invalid and is read with it. */
  error?: ReactNode;
  errorTestId?: string;
}

export function Field({ label, value, onValue, hint, invalid, error, errorTestId, ...input }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onValue(e.target.value)}
        aria-describedby={describedBy}
        aria-invalid={invalid || Boolean(error) || undefined}
        {...input}
      />
      {error ? (
        <p className="field-error" id={errorId} data-testid={errorTestId}>
          {error}
        </p>
      ) : null}
      {hint ? (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}
