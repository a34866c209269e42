/**
 * Admins: which FHIR Practitioner each clinician is. The vault's care policy starts from this link:
 * a clinician inherits the practitioner's care relationships (encounters and care teams); without a
 * link they can only break the glass. Set or replace a link by id or identifier (an NPI), or remove it.
 */
import type { FormEvent } from 'react';
import { useEffect, useRef, useState } from 'react';
import { api, describeError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { Field } from '../components/Field.js';
import { formatDateTime } from '../format.js';
import { roleLabel, type StaffLink, type User } from '../types.js';
import { usePoll } from '../usePoll.js';

const NPI_EXAMPLE = 'http://hl7.org/fhir/sid/us-npi|9999974493';

interface Row {
  userId: string;
  user: User | undefined;
  link: StaffLink | undefined;
}

/** Clinicians first (by name), then any other user that still has a link. */
function rowsOf(users: readonly User[], links: readonly StaffLink[]): Row[] {
  const byUser = new Map(links.map((l) => [l.userId, l]));
  const rows: Row[] = users
    .filter((u) => u.role === 'clinician')
    .sort((a, b) => a.displayName.localeCompare(b.displayName))
    .map((u) => ({ userId: u.id, user: u, link: byUser.get(u.id) }));
  const shown = new Set(rows.map((r) => r.userId));
  for (const l of links) {
    if (!shown.has(l.userId))
      rows.push({ userId: l.userId, user: users.find((u) => u.id === l.userId), link: l });
  }
  return rows;
}

export function PractitionerLinks({ users }: { users: readonly User[] | undefined }) {
  const { data: links, error: loadError, loading, refresh } = usePoll(api.staffLinks, 0);
  const [editing, setEditing] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<string>();
  const [changed, setChanged] = useState<string>();

  const nameOf = (id: string) => users?.find((u) => u.id === id)?.username ?? id;
  const rows = users && links ? rowsOf(users, links) : undefined;

  const remove = async (row: Row) => {
    setNotice(undefined);
    setError(undefined);
    try {
      await api.unlinkStaff(row.userId);
      setNotice(`${nameOf(row.userId)} is no longer linked to a practitioner and has no care relationships.`);
      setChanged(row.userId);
      refresh();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section className="panel panel-flush" aria-labelledby="links-title" aria-busy={loading}>
      <div className="panel-head">
        <div>
          <h2 id="links-title" className="panel-title">
            Practitioner links
          </h2>
          <p className="panel-lede muted small" data-testid="links-explained">
            Link a clinician to the FHIR Practitioner they are: the clinician gets the care relationships of
            this practitioner (encounters and care teams). Without a link, a clinician can only break the
            glass.
          </p>
        </div>
      </div>

      <div className="panel-pad">
        {notice ? (
          <Banner kind="success" testId="links-notice">
            {notice}
          </Banner>
        ) : null}
        {error ? (
          <Banner kind="error" testId="links-error">
            {error}
          </Banner>
        ) : null}
        {loadError ? (
          <Banner kind="error">{links ? `Could not refresh the links: ${loadError}` : loadError}</Banner>
        ) : null}
      </div>

      {rows === undefined ? (
        <p className="empty" role="status">
          {(loading || !loadError) && users !== undefined
            ? 'Loading practitioner links…'
            : users === undefined
              ? 'Waiting for the user list…'
              : 'Practitioner links could not be loaded.'}
        </p>
      ) : rows.length === 0 ? (
        <div className="empty" data-testid="links-empty">
          <p>No clinician accounts yet.</p>
          <p className="small">
            Add a user with the Clinician role, then link them here to their practitioner in the vault.
          </p>
        </div>
      ) : (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="links-table">
            <caption className="visually-hidden">Clinicians and the practitioner each is linked to</caption>
            <thead>
              <tr>
                <th scope="col">Clinician</th>
                <th scope="col">Practitioner</th>
                <th scope="col">Linked</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <LinkRows
                  key={row.userId}
                  row={row}
                  editing={editing === row.userId}
                  highlight={changed === row.userId}
                  linkedBy={row.link ? nameOf(row.link.linkedBy) : undefined}
                  onEdit={() => {
                    setEditing(row.userId);
                    setNotice(undefined);
                    setError(undefined);
                  }}
                  onCancel={() => setEditing(undefined)}
                  onSaved={(link) => {
                    setEditing(undefined);
                    setChanged(link.userId);
                    setNotice(`${nameOf(link.userId)} is now linked to Practitioner/${link.practitionerId}.`);
                    refresh();
                  }}
                  onRemove={() => remove(row)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function LinkRows({
  row,
  editing,
  highlight,
  linkedBy,
  onEdit,
  onCancel,
  onSaved,
  onRemove,
}: {
  row: Row;
  editing: boolean;
  highlight: boolean;
  linkedBy: string | undefined;
  onEdit: () => void;
  onCancel: () => void;
  onSaved: (link: StaffLink) => void;
  onRemove: () => Promise<void>;
}) {
  const { user, link } = row;
  const name = user?.username ?? row.userId;
  const editButton = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(editing);

  // Back from the form (saved or cancelled): focus returns to the row's button.
  useEffect(() => {
    if (wasEditing.current && !editing) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  return (
    <>
      <tr
        data-testid="link-row"
        data-username={user?.username}
        data-practitioner={link?.practitionerId}
        className={editing ? 'row-open' : highlight ? 'row-new' : undefined}
      >
        <th scope="row" data-label="Clinician">
          {user ? (
            <>
              <span className="cell-title">{user.displayName}</span>
              <span className="cell-sub mono">{user.username}</span>
              {user.role !== 'clinician' ? (
                <span className="cell-sub">{roleLabel(user.role)}: the link only matters for clinicians</span>
              ) : null}
              {user.status === 'disabled' ? <span className="cell-sub muted">Disabled</span> : null}
            </>
          ) : (
            <>
              <span className="cell-title mono">{row.userId}</span>
              <span className="cell-sub muted">No such user any more</span>
            </>
          )}
        </th>
        <td data-label="Linked to">
          {link ? (
            <span className="mono" data-testid="link-practitioner">
              Practitioner/{link.practitionerId}
            </span>
          ) : (
            <span className="muted">Not linked</span>
          )}
        </td>
        <td data-label="Since">
          {link ? (
            <>
              <span className="cell-title nowrap">{formatDateTime(link.linkedAt)}</span>
              <span className="cell-sub">by {linkedBy}</span>
            </>
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td className="actions">
          {editing ? null : (
            <button
              ref={editButton}
              type="button"
              className="button button-small button-secondary"
              onClick={onEdit}
              aria-label={`${link ? 'Change the practitioner of' : 'Link a practitioner to'} ${name}`}
              data-testid="link-edit"
            >
              {link ? 'Change' : 'Link'}
            </button>
          )}
          {link ? (
            <ConfirmButton
              label="Remove"
              confirmLabel="Remove link"
              danger
              accessibleLabel={`Remove the practitioner link of ${name}`}
              onConfirm={onRemove}
              testId="link-remove"
            />
          ) : null}
        </td>
      </tr>
      {editing ? (
        <tr className="detail-row">
          <td colSpan={4}>
            <LinkForm
              userId={row.userId}
              name={name}
              current={link?.practitionerId}
              onCancel={onCancel}
              onSaved={onSaved}
            />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function LinkForm({
  userId,
  name,
  current,
  onCancel,
  onSaved,
}: {
  userId: string;
  name: string;
  current: string | undefined;
  onCancel: () => void;
  onSaved: (link: StaffLink) => void;
}) {
  const [practitioner, setPractitioner] = useState(current ? `Practitioner/${current}` : '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const box = useRef<HTMLFormElement>(null);

  useEffect(() => {
    box.current?.querySelector('input')?.focus();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = practitioner.trim();
    if (!value) {
      setError(`Enter a practitioner id, or an identifier such as ${NPI_EXAMPLE}.`);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onSaved(await api.linkStaff(userId, value));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <form
      ref={box}
      className="form form-link"
      onSubmit={submit}
      noValidate
      aria-busy={busy}
      aria-label={`Practitioner link of ${name}`}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <Field
        label={`Practitioner for ${name}`}
        value={practitioner}
        onValue={setPractitioner}
        autoComplete="off"
        spellCheck={false}
        className="mono"
        maxLength={300}
        placeholder={NPI_EXAMPLE}
        hint={
          <>
            A Practitioner id (<code>wilson</code> or <code>Practitioner/wilson</code>) or an identifier as{' '}
            <code>system|value</code>, such as the NPI <code>{NPI_EXAMPLE}</code>.
          </>
        }
        error={error}
        errorTestId="link-error"
        data-testid="link-practitioner-input"
      />
      <div className="form-link-buttons">
        <button type="submit" className="button button-primary" disabled={busy} data-testid="link-save">
          {busy ? 'Saving…' : current ? 'Replace link' : 'Save link'}
        </button>
        <button type="button" className="button button-ghost" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
