/** Second step of sign-in: a code from the authenticator app, or a recovery code. */
import type { FormEvent } from 'react';
import { useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { Field } from '../components/Field.js';
import { useSubmit } from '../hooks.js';
import { AuthLayout } from '../layout/AuthLayout.js';
import type { Session } from '../types.js';

interface VerifyMfaProps {
  onSession: (session: Session) => void;
  onCancel: () => void;
  displayName?: string | undefined;
}

export function VerifyMfa({ onSession, onCancel, displayName }: VerifyMfaProps) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [code, setCode] = useState('');
  const { busy, error, setError, run } = useSubmit();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const clean = useRecovery ? code.trim() : code.replace(/\s+/g, '');
    if (!useRecovery && !/^\d{6}$/.test(clean)) {
      setError('Enter the 6-digit code your authenticator app shows now.');
      return;
    }
    if (useRecovery && clean.length < 6) {
      setError('Enter one of your recovery codes.');
      return;
    }
    await run(
      async () => onSession(await api.verifyMfa(clean)),
      () => setCode(''),
    );
  };

  return (
    <AuthLayout
      title="Two-step sign-in"
      intro={
        <p>
          {displayName ? `Hello, ${displayName}. ` : ''}
          {useRecovery
            ? 'Enter one of the recovery codes you saved when you set up two-step sign-in. Each works once.'
            : 'Open your authenticator app and enter the 6-digit code for Vigil.'}
        </p>
      }
      footer={
        <button type="button" className="link-button" onClick={onCancel}>
          Cancel and sign out
        </button>
      }
    >
      {error ? (
        <Banner kind="error" testId="mfa-error">
          {error}
        </Banner>
      ) : null}
      <form className="form" onSubmit={submit} noValidate aria-busy={busy}>
        {useRecovery ? (
          <Field
            key="recovery"
            label="Recovery code"
            value={code}
            onValue={setCode}
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            required
            data-testid="mfa-code"
          />
        ) : (
          <Field
            key="totp"
            label="6-digit code"
            value={code}
            onValue={setCode}
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]*"
            maxLength={7}
            className="code-input"
            required
            data-testid="mfa-code"
          />
        )}
        <button
          type="submit"
          className="button button-primary button-block"
          disabled={busy}
          data-testid="mfa-submit"
        >
          {busy ? 'Checking…' : 'Verify'}
        </button>
      </form>
      <button
        type="button"
        className="link-button"
        onClick={() => {
          setUseRecovery((v) => !v);
          setCode('');
          setError(undefined);
        }}
      >
        {useRecovery ? 'Use a code from the authenticator app' : 'Lost your phone? Use a recovery code'}
      </button>
    </AuthLayout>
  );
}
