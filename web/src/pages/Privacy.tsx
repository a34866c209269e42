/**
 * Privacy officers: the review of emergency access (break-the-glass), the vault's audit trail, and
 * the signed checkpoints of that trail. Nothing refreshes on its own: every list read here is itself
 * recorded in the audit trail, so it is read only when the officer asks.
 */
import { useState } from 'react';
import { api } from '../api.js';
import { Banner } from '../components/Banner.js';
import { formatCount, formatDateTime } from '../format.js';
import { useDocumentTitle } from '../hooks.js';
import type { AuditFilter, BreakGlassGrant, SessionUser } from '../types.js';
import { usePoll } from '../usePoll.js';
import { AuditTrail } from './AuditTrail.js';
import { BreakGlassReview } from './BreakGlassReview.js';

export function Privacy({ user }: { user: SessionUser }) {
  useDocumentTitle('Privacy');
  const [filter, setFilter] = useState<AuditFilter>({});

  // A grant's review: what its clinician did with its patient, from the day it was declared.
  const review = (grant: BreakGlassGrant) => {
    setFilter({ agent: grant.userId, patient: grant.patientId, from: grant.grantedAt.slice(0, 10) });
    window.requestAnimationFrame(() => document.getElementById('audit-title')?.focus());
  };

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Privacy</h1>
          <p className="page-lede">
            Who reached which patient’s records, and why: emergency access to review, and the vault’s audit
            trail.
          </p>
        </div>
      </header>

      <BreakGlassReview onReview={review} />
      <AuditTrail filter={filter} onFilter={setFilter} currentUserId={user.id} />
      <AuditSignatures />
    </div>
  );
}

/** The latest signed checkpoint of the audit chain and the key that verifies it. */
function AuditSignatures() {
  const { data, error, loading, refresh } = usePoll(api.auditSignatures, 0);
  const latest = data?.latest;
  return (
    <section className="panel" aria-labelledby="signatures-title" aria-busy={loading}>
      <h2 id="signatures-title" className="panel-title">
        Audit trail signatures
      </h2>
      <p className="muted small">
        The audit entries form a hash chain. At regular intervals Vigil signs a checkpoint of the chain
        (Ed25519), so that anyone holding the public key can check that no entry up to it was changed or
        removed.
      </p>
      {error ? (
        <Banner kind="error" testId="signatures-error">
          {error}
        </Banner>
      ) : null}
      {data === undefined ? (
        <p className="muted" role="status">
          {loading || !error
            ? 'Loading the signed checkpoints…'
            : 'The signed checkpoints could not be loaded.'}
        </p>
      ) : latest ? (
        <dl className="facts" data-testid="signatures">
          <div>
            <dt>Latest checkpoint</dt>
            <dd data-testid="signatures-latest">
              Entries 1 to {formatCount(latest.uptoSeq)}, signed {formatDateTime(latest.createdAt)}
            </dd>
          </div>
          <div>
            <dt>Checkpoints</dt>
            <dd>{formatCount(data.count)}</dd>
          </div>
          <div>
            <dt>Signing key</dt>
            <dd className="mono">{latest.keyId}</dd>
          </div>
        </dl>
      ) : (
        <p data-testid="signatures-empty">
          No checkpoint is signed yet: the first is made once the trail holds enough entries (1,000 by
          default, <code>vault.auditCheckpointEvery</code>).
        </p>
      )}
      <div className="button-row">
        <a
          className="button button-small button-secondary"
          href={api.auditPublicKeyUrl}
          download="vigil-audit.pem"
        >
          Download the public key (PEM)
        </a>
        <button
          type="button"
          className="button button-small button-ghost"
          onClick={refresh}
          disabled={loading}
        >
          Refresh
        </button>
      </div>
    </section>
  );
}
