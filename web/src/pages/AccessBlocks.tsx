/** Addresses blocked at the gateway from the console: a form to add one, and the list. */
import type { FormEvent } from 'react';
import { useState } from 'react';
import { ApiError, api, describeError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { Field } from '../components/Field.js';
import { formatDateTime } from '../format.js';
import type { AccessBlock } from '../types.js';
import type { Poll } from '../usePoll.js';

/** Whether the server's 400 names a field of this form (`cidr` from the domain, `body.cidr` from the schema). */
function fieldOf(err: unknown): 'cidr' | 'reason' | undefined {
  if (!(err instanceof ApiError) || err.status !== 400) return undefined;
  const field = err.details?.field;
  const name = typeof field === 'string' ? field.replace(/^body\./, '') : '';
  return name === 'cidr' || name === 'reason' ? name : undefined;
}

export function AccessBlocks({ poll }: { poll: Poll<AccessBlock[]> }) {
  const { data: blocks, error: loadError, loading, refresh } = poll;
  const [cidr, setCidr] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<{ cidr?: string; reason?: string; form?: string }>({});
  const [notice, setNotice] = useState<string>();
  const [added, setAdded] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(undefined);
    const entry = cidr.trim();
    const why = reason.trim();
    const problems: typeof errors = {};
    if (!entry) problems.cidr = 'Enter an address or range, e.g. 203.0.113.7 or 203.0.113.0/24.';
    if (!why) problems.reason = 'Say why, for the record: e.g. “password spraying against the portal”.';
    setErrors(problems);
    if (problems.cidr || problems.reason) return;
    setBusy(true);
    try {
      const block = await api.blockAddress(entry, why);
      setCidr('');
      setReason('');
      setAdded(block.id);
      setNotice(`${block.cidr} is blocked. The gateway denies requests from it from now on.`);
      refresh();
    } catch (err) {
      const field = fieldOf(err);
      setErrors(field ? { [field]: describeError(err) } : { form: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel panel-flush" aria-labelledby="blocks-title">
      <div className="panel-head">
        <div>
          <h2 id="blocks-title" className="panel-title">
            Blocked addresses
          </h2>
          <p className="panel-lede muted small">
            Requests from these addresses are denied at the gateway, whoever signs in. Blocks added here take
            effect at once.
          </p>
        </div>
      </div>

      <div className="panel-pad">
        <form className="form form-block" onSubmit={submit} noValidate aria-busy={busy}>
          <Field
            label="Address or CIDR range"
            value={cidr}
            onValue={setCidr}
            autoComplete="off"
            spellCheck={false}
            placeholder="203.0.113.0/24"
            hint="An IPv4 or IPv6 address, or a range such as 203.0.113.0/24"
            error={errors.cidr}
            errorTestId="block-cidr-error"
            data-testid="block-cidr"
            className="mono"
          />
          <Field
            label="Reason"
            value={reason}
            onValue={setReason}
            autoComplete="off"
            maxLength={500}
            hint="Kept with the block, so others know why it is there"
            error={errors.reason}
            errorTestId="block-reason-error"
            data-testid="block-reason"
          />
          <div className="form-block-submit">
            <button
              type="submit"
              className="button button-primary"
              disabled={busy}
              data-testid="block-submit"
            >
              {busy ? 'Blocking…' : 'Block'}
            </button>
          </div>
        </form>
        {errors.form ? (
          <Banner kind="error" testId="block-error">
            {errors.form}
          </Banner>
        ) : null}
        {notice ? (
          <Banner kind="success" testId="block-notice">
            {notice}
          </Banner>
        ) : null}
        {loadError ? (
          <Banner kind="error">{blocks ? `Could not refresh the blocks: ${loadError}` : loadError}</Banner>
        ) : null}
      </div>

      {blocks === undefined ? (
        <p className="empty">{loading || !loadError ? 'Loading blocks…' : 'Blocks could not be loaded.'}</p>
      ) : blocks.length === 0 ? (
        <div className="empty" data-testid="blocks-empty">
          <p>No addresses are blocked from the console.</p>
          <p className="small">
            Block an address or range above when it attacks the portal or a protected application. Lists kept
            in files (such as a Tor exit list, under <code>access.blocklistFiles</code>) also apply but are
            not shown here.
          </p>
        </div>
      ) : (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="blocks-table">
            <caption className="visually-hidden">Blocked addresses, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Address or range</th>
                <th scope="col">Reason</th>
                <th scope="col">Added by</th>
                <th scope="col">Added</th>
              </tr>
            </thead>
            <tbody>
              {blocks.map((b) => (
                <tr
                  key={b.id}
                  data-testid="block-row"
                  data-cidr={b.cidr}
                  className={b.id === added ? 'row-new' : undefined}
                >
                  <th scope="row" className="mono nowrap" data-label="Address">
                    {b.cidr}
                  </th>
                  <td data-label="Reason">{b.reason || <span className="muted">No reason given</span>}</td>
                  <td data-label="Added by">{b.createdBy ?? <span className="muted">—</span>}</td>
                  <td className="nowrap" data-label="Added">
                    {formatDateTime(b.createdAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
