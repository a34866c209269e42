/**
 * Privacy officers: the vault's audit trail as FHIR AuditEvents, newest first. A filter form (who,
 * which patient, what kind of action, which days), a table that pages on with the search's next
 * link, each entry's JSON on demand, and the download of the days chosen as NDJSON. Searching the
 * trail is itself audited, so it loads only when asked.
 */
import type { FormEvent } from 'react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, describeError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { ExpandButton } from '../components/ExpandButton.js';
import { Field } from '../components/Field.js';
import { SelectField } from '../components/SelectField.js';
import { formatCount, formatMoment } from '../format.js';
import { type AuditFilter, type AuditPage, type FhirAuditEvent, roleLabel } from '../types.js';

/** Entries per page. */
const PAGE_SIZE = 50;

const ACTION_OPTIONS = [
  { value: '', label: 'All actions' },
  { value: 'C', label: 'Create' },
  { value: 'R', label: 'Read' },
  { value: 'U', label: 'Update' },
  { value: 'D', label: 'Delete or erase' },
  { value: 'E', label: 'Search, export, refusal, break-the-glass' },
] as const;
type ActionOption = (typeof ACTION_OPTIONS)[number]['value'];

/** The vault's own actions (AuditEvent.subtype), as people say them. */
const ACTION_LABELS: Record<string, string> = {
  create: 'Create',
  read: 'Read',
  vread: 'Read a version',
  search: 'Search',
  update: 'Update',
  delete: 'Delete',
  erase: 'Erase',
  export: 'Export',
  denied: 'Refused',
  'break-glass': 'Break-the-glass declared',
};

const OUTCOMES: Record<string, { label: string; className: string }> = {
  '0': { label: 'Success', className: 'badge-ok' },
  '4': { label: 'Denied', className: 'badge-warning' },
  '8': { label: 'Failed', className: 'badge-danger' },
};

const VIGIL_ACTION = 'urn:vigil:audit-action';
const PATIENT_REF = 'urn:vigil:patient-ref';
/** Entity references shown in a row before "and n more". */
const SHOWN_ENTITIES = 3;

function actionOf(e: FhirAuditEvent): string | undefined {
  return (e.subtype?.find((s) => s.system === VIGIL_ACTION) ?? e.subtype?.[0])?.code;
}

function agentOf(e: FhirAuditEvent): { id: string | undefined; role: string | undefined } {
  const a = e.agent?.find((x) => x.requestor) ?? e.agent?.[0];
  return { id: a?.who?.identifier?.value ?? a?.who?.reference, role: a?.role?.[0]?.text };
}

/** The declared reason when the entry was made under break-the-glass (purposeOfEvent ETREAT). */
function breakGlassReasonOf(e: FhirAuditEvent): string | undefined {
  const purpose = e.purposeOfEvent?.find((p) => p.coding?.some((c) => c.code === 'ETREAT'));
  return purpose ? (purpose.text ?? '') : undefined;
}

function entitiesOf(e: FhirAuditEvent): { refs: string[]; results: number; patientRef: string | undefined } {
  const refs: string[] = [];
  let results = 0;
  let patientRef: string | undefined;
  for (const x of e.entity ?? []) {
    if (x.what?.identifier?.system === PATIENT_REF) patientRef = x.what.identifier.value;
    else if (x.description === 'search result') results += 1;
    else if (x.what?.reference) refs.push(x.what.reference);
  }
  return { refs, results, patientRef };
}

function isFiltered(f: AuditFilter): boolean {
  return Boolean(f.agent || f.patient || f.action || f.from || f.to);
}

interface AuditTrailProps {
  filter: AuditFilter;
  onFilter: (filter: AuditFilter) => void;
  currentUserId: string;
}

export function AuditTrail({ filter, onFilter, currentUserId }: AuditTrailProps) {
  const [loaded, setLoaded] = useState<AuditPage>();
  const [loading, setLoading] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  // Bumped by each new search: an answer for an older one is dropped.
  const generation = useRef(0);

  const search = useCallback(async () => {
    const gen = ++generation.current;
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.auditEvents(filter, PAGE_SIZE);
      if (gen === generation.current) setLoaded(page);
    } catch (err) {
      if (gen === generation.current) setError(describeError(err));
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  }, [filter]);

  useEffect(() => {
    setLoaded(undefined);
    setOpen(new Set());
    void search();
  }, [search]);

  const loadMore = async () => {
    const next = loaded?.next;
    if (!next) return;
    const gen = generation.current;
    setLoadingMore(true);
    setError(undefined);
    try {
      const page = await api.auditEventsNext(next);
      if (gen !== generation.current) return;
      setLoaded((current) => ({ events: [...(current?.events ?? []), ...page.events], next: page.next }));
    } catch (err) {
      if (gen === generation.current) setError(describeError(err));
    } finally {
      if (gen === generation.current) setLoadingMore(false);
    }
  };

  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const events = loaded?.events;
  const filtered = isFiltered(filter);

  return (
    <section className="panel panel-flush" aria-labelledby="audit-title" aria-busy={loading || loadingMore}>
      <div className="panel-head">
        <div>
          <h2 id="audit-title" className="panel-title" tabIndex={-1}>
            Audit trail
          </h2>
          <p className="panel-lede muted small">
            Every access to patient data in the vault, newest first, as FHIR AuditEvent. Searching the trail
            is itself recorded.
          </p>
        </div>
        <div className="audit-export">
          <a
            className="button button-small button-secondary"
            href={api.auditExportUrl(filter)}
            download="AuditEvent.ndjson"
            data-testid="audit-export"
            aria-describedby="audit-export-hint"
          >
            Download NDJSON
          </a>
          <span id="audit-export-hint" className="muted small">
            {filter.from || filter.to ? 'The days chosen' : 'The whole trail'}, oldest first; the other
            filters do not apply.
          </span>
        </div>
      </div>

      <div className="panel-pad">
        <AuditFilterForm key={JSON.stringify(filter)} initial={filter} onApply={onFilter} busy={loading} />
        {error ? (
          <Banner kind="error" testId="audit-error">
            {events ? `${error} Showing the entries loaded before.` : error}
          </Banner>
        ) : null}
      </div>

      {events === undefined ? (
        <p className="empty" role="status">
          {loading || !error ? 'Searching the audit trail…' : 'The audit trail could not be searched.'}
        </p>
      ) : events.length === 0 ? (
        <div className="empty" data-testid="audit-empty">
          {filtered ? (
            <>
              <p>No audit entries match these filters.</p>
              <button
                type="button"
                className="button button-small button-secondary"
                onClick={() => onFilter({})}
              >
                Clear the filters
              </button>
            </>
          ) : (
            <p>
              No audit entries yet. Every read, change, search and export of patient data will be recorded
              here.
            </p>
          )}
        </div>
      ) : (
        <>
          <div className="table-scroll">
            <table className="table table-stack" data-testid="audit-table">
              <caption className="visually-hidden">
                Audit entries{filtered ? ' matching the filters' : ''}, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Records</th>
                  <th scope="col">Emergency access</th>
                  <th scope="col">
                    <span className="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <AuditRows
                    key={e.id}
                    event={e}
                    expanded={open.has(e.id)}
                    onToggle={() => toggle(e.id)}
                    currentUserId={currentUserId}
                    onOnlyAgent={filter.agent ? undefined : (agent) => onFilter({ ...filter, agent })}
                  />
                ))}
              </tbody>
            </table>
          </div>
          <div className="table-foot audit-foot">
            <p className="muted small" aria-live="polite" data-testid="audit-count">
              {loaded?.next
                ? `Showing the newest ${formatCount(events.length)} entries${filtered ? ' that match' : ''}.`
                : `${formatCount(events.length)} ${events.length === 1 ? 'entry' : 'entries'}${filtered ? ' match' : ''}: that is all.`}
            </p>
            {loaded?.next ? (
              <button
                type="button"
                className="button button-small button-secondary"
                onClick={loadMore}
                disabled={loadingMore}
                data-testid="audit-more"
              >
                {loadingMore ? 'Loading…' : `Load ${PAGE_SIZE} more`}
              </button>
            ) : null}
          </div>
        </>
      )}
    </section>
  );
}

function AuditFilterForm({
  initial,
  onApply,
  busy,
}: {
  initial: AuditFilter;
  onApply: (filter: AuditFilter) => void;
  busy: boolean;
}) {
  const [agent, setAgent] = useState(initial.agent ?? '');
  const [patient, setPatient] = useState(initial.patient ?? '');
  const [action, setAction] = useState<ActionOption>(
    ACTION_OPTIONS.find((o) => o.value === initial.action)?.value ?? '',
  );
  const [from, setFrom] = useState(initial.from ?? '');
  const [to, setTo] = useState(initial.to ?? '');
  const [rangeError, setRangeError] = useState<string>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (from && to && from > to) {
      setRangeError('The last day must be on or after the first day.');
      return;
    }
    setRangeError(undefined);
    const filter: AuditFilter = {
      agent: agent.trim() || undefined,
      patient: patient.trim().replace(/^Patient\//, '') || undefined,
      action: action || undefined,
      from: from || undefined,
      to: to || undefined,
    };
    // Always a new object: the same filter again searches again (for entries made since).
    onApply(filter);
  };

  return (
    <form className="form audit-filters" onSubmit={submit} noValidate aria-label="Search the audit trail">
      <Field
        label="Agent"
        value={agent}
        onValue={setAgent}
        autoComplete="off"
        spellCheck={false}
        className="mono"
        hint="A user or API token id"
        data-testid="audit-agent"
      />
      <Field
        label="Patient id"
        value={patient}
        onValue={setPatient}
        autoComplete="off"
        spellCheck={false}
        className="mono"
        hint="Finds the entries of erased patients too"
        data-testid="audit-patient"
      />
      <SelectField
        label="Action"
        value={action}
        options={ACTION_OPTIONS}
        onValue={setAction}
        testId="audit-action"
      />
      <Field
        label="From"
        type="date"
        value={from}
        onValue={setFrom}
        hint="First day (UTC)"
        data-testid="audit-from"
      />
      <Field
        label="To"
        type="date"
        value={to}
        onValue={setTo}
        hint="Last day (UTC)"
        error={rangeError}
        errorTestId="audit-range-error"
        data-testid="audit-to"
      />
      <div className="audit-filters-submit">
        <button type="submit" className="button button-primary" disabled={busy} data-testid="audit-search">
          {busy ? 'Searching…' : 'Search'}
        </button>
        {isFiltered(initial) ? (
          <button
            type="button"
            className="button button-ghost"
            onClick={() => onApply({})}
            data-testid="audit-clear"
          >
            Clear
          </button>
        ) : null}
      </div>
    </form>
  );
}

function AuditRows({
  event: e,
  expanded,
  onToggle,
  currentUserId,
  onOnlyAgent,
}: {
  event: FhirAuditEvent;
  expanded: boolean;
  onToggle: () => void;
  currentUserId: string;
  onOnlyAgent: ((agent: string) => void) | undefined;
}) {
  const detailId = `audit-${e.id}-json`;
  const action = actionOf(e);
  const agent = agentOf(e);
  const outcome = e.outcome ? OUTCOMES[e.outcome] : undefined;
  const reason = breakGlassReasonOf(e);
  const { refs, results, patientRef } = entitiesOf(e);
  const agentName = agent.id === currentUserId ? `${agent.id} (you)` : agent.id;
  return (
    <>
      <tr
        data-testid="audit-row"
        data-action={action}
        data-break-glass={reason !== undefined}
        className={expanded ? 'row-open' : undefined}
      >
        <td className="nowrap" data-label="Time">
          <time dateTime={e.recorded}>{formatMoment(e.recorded)}</time>
        </td>
        <th scope="row" data-label="Agent">
          {agent.id && onOnlyAgent ? (
            <button
              type="button"
              className="link-button mono"
              onClick={() => onOnlyAgent(agent.id!)}
              aria-label={`Show only the entries of ${agentName}`}
            >
              {agentName}
            </button>
          ) : (
            <span className="mono">{agentName ?? '—'}</span>
          )}
          {agent.role ? <span className="cell-sub">{roleLabel(agent.role)}</span> : null}
        </th>
        <td data-label="Action">
          <span className="cell-title">{action ? (ACTION_LABELS[action] ?? action) : '—'}</span>
          {e.action ? <span className="cell-sub muted nowrap">FHIR action {e.action}</span> : null}
        </td>
        <td data-label="Outcome">
          {outcome ? (
            <span className={`badge ${outcome.className}`}>{outcome.label}</span>
          ) : (
            <span className="muted">{e.outcome ?? '—'}</span>
          )}
        </td>
        <td data-label="Records" className="audit-entities">
          {refs.length === 0 && results === 0 && !patientRef ? <span className="muted">—</span> : null}
          {refs.slice(0, SHOWN_ENTITIES).map((r) => (
            <span key={r} className="cell-sub mono audit-ref">
              {r}
            </span>
          ))}
          {refs.length > SHOWN_ENTITIES ? (
            <span className="cell-sub muted">and {formatCount(refs.length - SHOWN_ENTITIES)} more</span>
          ) : null}
          {results > 0 ? (
            <span className="cell-sub">
              {formatCount(results)} search {results === 1 ? 'result' : 'results'}
            </span>
          ) : null}
          {patientRef ? (
            <span className="cell-sub muted" title={`Pseudonymous patient reference ${patientRef}`}>
              Patient ref <span className="mono">{patientRef.slice(0, 10)}…</span>
            </span>
          ) : null}
        </td>
        <td data-label="Emergency">
          {reason !== undefined ? (
            <>
              <span className="badge badge-danger" data-testid="audit-break-glass">
                Break-the-glass
              </span>
              <span className="cell-sub" data-testid="audit-break-glass-reason">
                {reason || 'No reason recorded'}
              </span>
            </>
          ) : (
            <span className="muted">
              <span aria-hidden="true">—</span>
              <span className="visually-hidden">No</span>
            </span>
          )}
        </td>
        <td className="actions">
          <ExpandButton
            expanded={expanded}
            onToggle={onToggle}
            controls={detailId}
            label="JSON"
            accessibleLabel={`the JSON of audit entry ${e.id}`}
            testId="audit-expand"
          />
        </td>
      </tr>
      {expanded ? (
        <tr className="detail-row">
          <td colSpan={7} id={detailId}>
            <pre className="json" data-testid="audit-json">
              {JSON.stringify(e, null, 2)}
            </pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}
