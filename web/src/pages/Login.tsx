/** Sign-in with username and password. */
import type { FormEvent } from 'react';
import { useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { Field } from '../components/Field.js';
import { useSubmit } from '../hooks.js';
import { AuthLayout } from '../layout/AuthLayout.js';
import type { Session } from '../types.js';

interface LoginProps {
  onSession: (session: Session) => void;
  notice?: string | undefined;
}

export function Login({ onSession, notice }: LoginProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, setError, run } = useSubmit();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!username.trim() || !password) {
      setError('Enter your username and password.');
      return;
    }
    await run(
      async () => onSession(await api.login(username.trim(), password)),
      () => setPassword(''),
    );
  };

  return (
    <AuthLayout title="Sign in" intro={<p>Sign in with the account your Vigil administrator gave you.</p>}>
      {notice && !error ? <Banner kind="info">{notice}</Banner> : null}
      {error ? (
        <Banner kind="error" testId="login-error">
          {error}
        </Banner>
      ) : null}
      <form className="form" onSubmit={submit} noValidate aria-busy={busy}>
        <Field
          label="Username"
          value={username}
          onValue={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          data-testid="login-username"
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="current-password"
          required
          data-testid="login-password"
        />
        <button
          type="submit"
          className="button button-primary button-block"
          disabled={busy}
          data-testid="login-submit"
        >
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </AuthLayout>
  );
}
