/** The "add user" form. The server answers the new user with a one-time password to hand over. */
import type { FormEvent } from 'react';
import { useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { Field } from '../components/Field.js';
import { SelectField } from '../components/SelectField.js';
import { useSubmit } from '../hooks.js';
import { ROLES, type Role, roleLabel, type User } from '../types.js';

const ROLE_OPTIONS = ROLES.map((r) => ({ value: r, label: roleLabel(r) }));

interface UserFormProps {
  onCreated: (user: User, oneTimePassword: string) => void;
  onCancel: () => void;
}

export function UserForm({ onCreated, onCancel }: UserFormProps) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('staff');
  const { busy, error, setError, run } = useSubmit();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!username.trim() || !displayName.trim()) {
      setError('Enter a username and a display name.');
      return;
    }
    await run(async () => {
      const answer = await api.createUser({
        username: username.trim(),
        displayName: displayName.trim(),
        role,
        ...(email.trim() ? { email: email.trim() } : {}),
      });
      onCreated(answer.user, answer.oneTimePassword);
    });
  };

  return (
    <section className="panel" aria-labelledby="add-user-title">
      <h2 id="add-user-title" className="panel-title">
        Add a user
      </h2>
      {error ? <Banner kind="error">{error}</Banner> : null}
      <form className="form form-grid" onSubmit={submit} noValidate aria-busy={busy}>
        <Field
          label="Username"
          value={username}
          onValue={setUsername}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          required
          hint="Used to sign in, e.g. j.doe"
          data-testid="user-username"
        />
        <Field
          label="Display name"
          value={displayName}
          onValue={setDisplayName}
          autoComplete="off"
          required
          data-testid="user-display-name"
        />
        <Field
          label="Email (optional)"
          type="email"
          value={email}
          onValue={setEmail}
          autoComplete="off"
          data-testid="user-email"
        />
        <SelectField label="Role" value={role} options={ROLE_OPTIONS} onValue={setRole} testId="user-role" />
        <div className="button-row form-grid-full">
          <button type="submit" className="button button-primary" disabled={busy} data-testid="user-create">
            {busy ? 'Adding…' : 'Add user'}
          </button>
          <button type="button" className="button button-ghost" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
