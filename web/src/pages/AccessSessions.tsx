/** Gateway sessions that are not revoked, each with a Revoke button (confirmed in place). */
import { useState } from 'react';
import { api, describeError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { formatDateTime } from '../format.js';
import type { GatewaySession } from '../types.js';
import type { Poll } from '../usePoll.js';

interface AccessSessionsProps {
  poll: Poll<GatewaySession[]>;
  /** User names by id, where known (the sessions API gives only the id). */
  names: ReadonlyMap<string, string>;
}

export function AccessSessions({ poll, names }: AccessSessionsProps) {
  const { data: sessions, error: loadError, loading, refresh } = poll;
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<string>();

  const revoke = async (s: GatewaySession, who: string) => {
    setNotice(undefined);
    setError(undefined);
    try {
      await api.revokeAccessSession(s.id);
      setNotice(
        `The session of ${who} is revoked: the gateway refuses it at once, and that sign-in ends in the console too.`,
      );
      refresh();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section className="panel panel-flush" aria-labelledby="gateway-sessions-title">
      <div className="panel-head">
        <div>
          <h2 id="gateway-sessions-title" className="panel-title">
            Gateway sessions
          </h2>
          <p className="panel-lede muted small">
            People signed in at the remote-access portal. Revoke a session that should not be there.
          </p>
        </div>
      </div>

      {notice || error || loadError ? (
        <div className="panel-pad">
          {notice ? <Banner kind="success">{notice}</Banner> : null}
          {error ? (
            <Banner kind="error" testId="session-error">
              {error}
            </Banner>
          ) : null}
          {loadError ? (
            <Banner kind="error">
              {sessions ? `Could not refresh the sessions: ${loadError}` : loadError}
            </Banner>
          ) : null}
        </div>
      ) : null}

      {sessions === undefined ? (
        <p className="empty">
          {loading || !loadError ? 'Loading sessions…' : 'Sessions could not be loaded.'}
        </p>
      ) : sessions.length === 0 ? (
        <div className="empty" data-testid="sessions-empty">
          <p>Nobody is signed in through the gateway.</p>
          <p className="small">
            Sessions appear here when staff sign in at the remote-access portal (<code>/access/login</code>)
            to reach a protected application.
          </p>
        </div>
      ) : (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="sessions-table">
            <caption className="visually-hidden">Gateway sessions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Source address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last MFA</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => {
                const name = names.get(s.userId);
                const who = name ?? `user ${s.userId}`;
                return (
                  <tr key={s.id} data-testid="session-row">
                    <th scope="row" data-label="User">
                      {name ? (
                        <span className="cell-title">{name}</span>
                      ) : (
                        <span className="cell-title mono" title="User id">
                          {s.userId}
                        </span>
                      )}
                    </th>
                    <td className="mono nowrap" data-label="Source">
                      {s.ip ?? <span className="muted">—</span>}
                    </td>
                    <td className="nowrap" data-label="Signed in">
                      {formatDateTime(s.createdAt)}
                    </td>
                    <td className="nowrap" data-label="Last MFA">
                      {formatDateTime(s.mfaAt, 'Not yet')}
                    </td>
                    <td className="actions">
                      <ConfirmButton
                        label="Revoke"
                        confirmLabel="Revoke"
                        danger
                        accessibleLabel={`Revoke the gateway session of ${who}`}
                        onConfirm={() => revoke(s, who)}
                        testId="session-revoke"
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
