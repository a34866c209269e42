/** First sign-in: the one-time password is replaced by one only the person knows. */
import type { FormEvent } from 'react';
import { useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { Field } from '../components/Field.js';
import { useSubmit } from '../hooks.js';
import { AuthLayout } from '../layout/AuthLayout.js';
import type { Session } from '../types.js';

export const MIN_PASSWORD_LENGTH = 12;

interface ChangePasswordProps {
  onSession: (session: Session) => void;
  onCancel: () => void;
  displayName?: string | undefined;
  username?: string | undefined;
  step?: string | undefined;
}

export function ChangePassword({ onSession, onCancel, displayName, username, step }: ChangePasswordProps) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const { busy, error, setError, run } = useSubmit();

  const tooShort = next.length > 0 && next.length < MIN_PASSWORD_LENGTH;
  const mismatch = repeat.length > 0 && next !== repeat;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!current) return setError('Enter the one-time password you signed in with.');
    if (next.length < MIN_PASSWORD_LENGTH)
      return setError(`The new password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
    if (next !== repeat) return setError('The two new passwords do not match.');
    if (next === current) return setError('Choose a password different from the one-time password.');
    await run(async () => onSession(await api.changePassword(current, next)));
  };

  return (
    <AuthLayout
      title="Choose your password"
      step={step}
      intro={
        <p>
          {displayName ? `Welcome, ${displayName}. ` : ''}Replace the one-time password you were given with a
          password of your own. A long passphrase of several words is easiest to remember.
        </p>
      }
      footer={
        <button type="button" className="link-button" onClick={onCancel}>
          Cancel and sign out
        </button>
      }
    >
      {error ? <Banner kind="error">{error}</Banner> : null}
      <form className="form" onSubmit={submit} noValidate aria-busy={busy}>
        {/* Lets a password manager file the new password under the right account. */}
        <input type="text" name="username" autoComplete="username" value={username ?? ''} readOnly hidden />
        <Field
          label="One-time password"
          type="password"
          value={current}
          onValue={setCurrent}
          autoComplete="current-password"
          required
          data-testid="password-current"
        />
        <Field
          label="New password"
          type="password"
          value={next}
          onValue={setNext}
          autoComplete="new-password"
          minLength={MIN_PASSWORD_LENGTH}
          required
          invalid={tooShort}
          hint={`At least ${MIN_PASSWORD_LENGTH} characters.${tooShort ? ` ${MIN_PASSWORD_LENGTH - next.length} more to go.` : ''}`}
          data-testid="password-new"
        />
        <Field
          label="Repeat new password"
          type="password"
          value={repeat}
          onValue={setRepeat}
          autoComplete="new-password"
          required
          invalid={mismatch}
          hint={mismatch ? 'Does not match yet.' : undefined}
          data-testid="password-repeat"
        />
        <button
          type="submit"
          className="button button-primary button-block"
          disabled={busy}
          data-testid="password-submit"
        >
          {busy ? 'Saving…' : 'Save password'}
        </button>
      </form>
    </AuthLayout>
  );
}
