/** Admin: the console's users; add, disable or enable, reset MFA, and link clinicians to practitioners. */
import { useState } from 'react';
import { api, describeError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { OneTimeSecret } from '../components/OneTimeSecret.js';
import { formatDateTime } from '../format.js';
import { useDocumentTitle } from '../hooks.js';
import { roleLabel, type User } from '../types.js';
import { usePoll } from '../usePoll.js';
import { PractitionerLinks } from './PractitionerLinks.js';
import { UserForm } from './UserForm.js';

interface UsersProps {
  currentUserId: string;
}

export function Users({ currentUserId }: UsersProps) {
  useDocumentTitle('Users');
  const { data: users, error: loadError, loading, refresh } = usePoll(api.users, 0);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<{ user: User; oneTimePassword: string }>();
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<string>();

  const act = async (what: () => Promise<User>, done: (u: User) => string) => {
    setError(undefined);
    setNotice(undefined);
    try {
      setNotice(done(await what()));
      refresh();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Users</h1>
          <p className="page-lede">
            People who can sign in to the Vigil console, and what their role lets them do.
          </p>
        </div>
        {!adding && !created ? (
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              setAdding(true);
              setNotice(undefined);
            }}
            data-testid="user-add"
          >
            Add user
          </button>
        ) : null}
      </header>

      {created ? (
        <OneTimeSecret
          title={`${created.user.displayName} can now sign in`}
          value={created.oneTimePassword}
          testId="user-one-time-password"
          onDismiss={() => setCreated(undefined)}
        >
          <p>
            Give <strong>{created.user.username}</strong> this one-time password. They will choose their own
            password at first sign-in
            {created.user.role === 'admin' ||
            created.user.role === 'analyst' ||
            created.user.role === 'privacy-officer'
              ? ' and set up two-step sign-in'
              : ''}
            .
          </p>
        </OneTimeSecret>
      ) : null}

      {adding ? (
        <UserForm
          onCancel={() => setAdding(false)}
          onCreated={(user, oneTimePassword) => {
            setAdding(false);
            setCreated({ user, oneTimePassword });
            refresh();
          }}
        />
      ) : null}

      {notice ? <Banner kind="success">{notice}</Banner> : null}
      {error ? <Banner kind="error">{error}</Banner> : null}
      {loadError ? <Banner kind="error">{loadError}</Banner> : null}

      <section className="panel panel-flush" aria-labelledby="users-title">
        <h2 id="users-title" className="visually-hidden">
          All users
        </h2>
        {users === undefined ? (
          <p className="empty">{loading ? 'Loading users…' : 'Users could not be loaded.'}</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="users-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Two-step</th>
                  <th scope="col">Last sign-in</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.id} data-testid="user-row" data-username={u.username}>
                    <th scope="row">
                      <span className="cell-title">{u.displayName}</span>
                      <span className="cell-sub mono">{u.username}</span>
                      {u.email ? <span className="cell-sub">{u.email}</span> : null}
                    </th>
                    <td>{roleLabel(u.role)}</td>
                    <td>
                      <span className={`badge ${u.status === 'active' ? 'badge-ok' : 'badge-muted'}`}>
                        {u.status === 'active' ? 'Active' : 'Disabled'}
                      </span>
                      {u.mustChangePassword ? <span className="cell-sub">Awaiting first sign-in</span> : null}
                    </td>
                    <td>{u.mfaEnrolled ? 'Set up' : <span className="muted">Not set up</span>}</td>
                    <td className="nowrap">{formatDateTime(u.lastLoginAt)}</td>
                    <td className="actions">
                      {u.status === 'active' ? (
                        <ConfirmButton
                          label="Disable"
                          confirmLabel="Disable"
                          danger
                          disabled={u.id === currentUserId}
                          accessibleLabel={
                            u.id === currentUserId
                              ? 'You cannot disable your own account'
                              : `Disable ${u.username}`
                          }
                          onConfirm={() =>
                            act(
                              () => api.disableUser(u.id),
                              (x) => `${x.username} is disabled and signed out.`,
                            )
                          }
                        />
                      ) : (
                        <ConfirmButton
                          label="Enable"
                          confirmLabel="Enable"
                          accessibleLabel={`Enable ${u.username}`}
                          onConfirm={() =>
                            act(
                              () => api.enableUser(u.id),
                              (x) => `${x.username} is enabled.`,
                            )
                          }
                        />
                      )}
                      {u.mfaEnrolled ? (
                        <ConfirmButton
                          label="Reset two-step"
                          confirmLabel="Reset"
                          danger
                          accessibleLabel={`Reset two-step sign-in for ${u.username}`}
                          onConfirm={() =>
                            act(
                              () => api.resetMfa(u.id),
                              (x) => `${x.username} will set up two-step sign-in again at next sign-in.`,
                            )
                          }
                        />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <PractitionerLinks users={users} />
    </div>
  );
}
