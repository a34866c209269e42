/** Admin: API tokens for scripts and integrations; create (secret shown once) and revoke. */
import type { FormEvent } from 'react';
import { useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { Field } from '../components/Field.js';
import { OneTimeSecret } from '../components/OneTimeSecret.js';
import { SelectField } from '../components/SelectField.js';
import { formatDateTime } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { type ApiToken, ROLES, type Role, roleLabel } from '../types.js';
import { usePoll } from '../usePoll.js';

const ROLE_OPTIONS = ROLES.map((r) => ({ value: r, label: roleLabel(r) }));

export function Tokens() {
  useDocumentTitle('API tokens');
  const { data: tokens, error: loadError, loading, refresh } = usePoll(api.tokens, 0);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('analyst');
  const [created, setCreated] = useState<{ token: ApiToken; secret: string }>();
  const [notice, setNotice] = useState<string>();
  const { busy, error, setError, run } = useSubmit();

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) {
      setError('Give the token a name that says what uses it.');
      return;
    }
    setNotice(undefined);
    await run(async () => {
      setCreated(await api.createToken(name.trim(), role));
      setName('');
      refresh();
    });
  };

  const revoke = async (token: ApiToken) => {
    setNotice(undefined);
    await run(async () => {
      await api.revokeToken(token.id);
      setNotice(`“${token.name}” is revoked.`);
      refresh();
    });
  };

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>API tokens</h1>
          <p className="page-lede">
            Tokens let scripts and integrations call the Vigil API with a role, without a person’s session.
          </p>
        </div>
      </header>

      {created ? (
        <OneTimeSecret
          title={`Token “${created.token.name}” created`}
          value={created.secret}
          testId="token-secret"
          onDismiss={() => setCreated(undefined)}
        >
          <p>
            Send it as <code>Authorization: Bearer &lt;token&gt;</code>. Store it in the integration’s secret
            store.
          </p>
        </OneTimeSecret>
      ) : null}

      <section className="panel" aria-labelledby="new-token-title">
        <h2 id="new-token-title" className="panel-title">
          Create a token
        </h2>
        <form className="form form-grid" onSubmit={create} noValidate aria-busy={busy}>
          <Field
            label="Name"
            value={name}
            onValue={setName}
            autoComplete="off"
            hint="What uses it, e.g. “SIEM export”"
            required
            data-testid="token-name"
          />
          <SelectField
            label="Role"
            value={role}
            options={ROLE_OPTIONS}
            onValue={setRole}
            testId="token-role"
          />
          <div className="button-row form-grid-full">
            <button
              type="submit"
              className="button button-primary"
              disabled={busy}
              data-testid="token-create"
            >
              {busy ? 'Creating…' : 'Create token'}
            </button>
          </div>
        </form>
      </section>

      {notice ? <Banner kind="success">{notice}</Banner> : null}
      {error ? <Banner kind="error">{error}</Banner> : null}
      {loadError ? <Banner kind="error">{loadError}</Banner> : null}

      <section className="panel panel-flush" aria-labelledby="tokens-title">
        <h2 id="tokens-title" className="visually-hidden">
          All tokens
        </h2>
        {tokens === undefined ? (
          <p className="empty">{loading ? 'Loading tokens…' : 'Tokens could not be loaded.'}</p>
        ) : tokens.length === 0 ? (
          <p className="empty">No tokens yet.</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="tokens-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => (
                  <tr key={t.id} data-testid="token-row" className={t.revokedAt ? 'row-muted' : undefined}>
                    <th scope="row">{t.name}</th>
                    <td>{roleLabel(t.role)}</td>
                    <td className="nowrap">{formatDateTime(t.createdAt)}</td>
                    <td className="nowrap">{formatDateTime(t.lastUsedAt)}</td>
                    <td>
                      {t.revokedAt ? (
                        <span className="badge badge-muted">Revoked {formatDateTime(t.revokedAt)}</span>
                      ) : (
                        <span className="badge badge-ok">Active</span>
                      )}
                    </td>
                    <td className="actions">
                      {t.revokedAt ? null : (
                        <ConfirmButton
                          label="Revoke"
                          confirmLabel="Revoke"
                          danger
                          accessibleLabel={`Revoke ${t.name}`}
                          onConfirm={() => revoke(t)}
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
