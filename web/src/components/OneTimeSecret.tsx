/** A secret the server shows only once (a one-time password, an API token), with copy. */
import type { ReactNode } from 'react';
import { CopyButton } from './CopyButton.js';

interface OneTimeSecretProps {
  title: string;
  value: string;
  children?: ReactNode;
  onDismiss: () => void;
  testId?: string;
}

export function OneTimeSecret({ title, value, children, onDismiss, testId }: OneTimeSecretProps) {
  return (
    <section className="panel panel-highlight" aria-labelledby="one-time-secret-title">
      <h2 id="one-time-secret-title" className="panel-title">
        {title}
      </h2>
      {children}
      <div className="secret-row">
        <code className="secret" data-testid={testId}>
          {value}
        </code>
        <CopyButton text={value} />
      </div>
      <p className="muted">It will not be shown again. Hand it over through a trusted channel.</p>
      <button type="button" className="button button-primary" onClick={onDismiss}>
        Done
      </button>
    </section>
  );
}
