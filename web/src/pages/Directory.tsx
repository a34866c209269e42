/**
 * Administrators and analysts: the staff directory. Search people, open one person's awareness
 * record (training, quiz results, phishing timeline, risk with reasons), and (administrators)
 * import the HR export as CSV, all rows or none. Paths: /directory, /directory/:personId.
 */
import { type FormEvent, useState } from 'react';
import { ApiError } from '../api.js';
import { awarenessApi } from '../awareness-api.js';
import type { ImportSummary } from '../awareness-types.js';
import { Banner } from '../components/Banner.js';
import { formatDateTime, formatMoment } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link, usePath } from '../router.js';
import { usePoll } from '../usePoll.js';
import { StatusBadge } from './Training.js';
import '../styles/training.css';

const PAGE = 50;

export function Directory() {
  const path = usePath();
  const rest = path.replace(/^\/directory\/?/, '').replace(/\/+$/, '');
  if (rest) {
    let id = rest;
    try {
      id = decodeURIComponent(rest);
    } catch {
      id = '';
    }
    return <PersonView id={id} />;
  }
  return <PeopleList />;
}

function PeopleList() {
  useDocumentTitle('Directory');
  const [q, setQ] = useState('');
  const [search, setSearch] = useState({ q: '', department: '', offset: 0 });
  const key = JSON.stringify(search);
  const { data, error, loading, refresh } = usePoll(
    () =>
      awarenessApi.people({
        q: search.q || undefined,
        department: search.department || undefined,
        offset: search.offset,
        limit: PAGE,
      }),
    0,
    key,
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSearch({ ...search, q: q.trim(), offset: 0 });
  };
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Directory</h1>
          <p className="page-lede">Everyone the hospital trains and tests, with their training and risk.</p>
        </div>
      </header>
      <form className="form-inline panel" onSubmit={submit} aria-label="Search the directory">
        <div className="field">
          <label htmlFor="people-q">Name or email</label>
          <input
            id="people-q"
            value={q}
            maxLength={200}
            onChange={(e) => setQ(e.target.value)}
            data-testid="people-search"
          />
        </div>
        <div className="field">
          <label htmlFor="people-department">Department</label>
          <select
            id="people-department"
            value={search.department}
            onChange={(e) => setSearch({ ...search, department: e.target.value, offset: 0 })}
          >
            <option value="">All</option>
            {(data?.departments ?? []).map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button button-secondary">
          Search
        </button>
      </form>
      {error ? <Banner kind="error">{error}</Banner> : null}
      <section className="panel panel-flush" aria-labelledby="people-title">
        <h2 id="people-title" className="panel-title panel-title-padded">
          {data ? `${data.total} ${data.total === 1 ? 'person' : 'people'}` : 'People'}
        </h2>
        {data === undefined ? (
          <p className="empty">{loading ? 'Loading…' : 'The directory could not be loaded.'}</p>
        ) : data.people.length === 0 ? (
          <p className="empty">Nobody matches. Import the HR export below to fill the directory.</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="people-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Department</th>
                  <th scope="col">Job role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Console</th>
                </tr>
              </thead>
              <tbody>
                {data.people.map((p) => (
                  <tr
                    key={p.id}
                    data-testid="person-row"
                    className={p.status === 'terminated' ? 'row-muted' : ''}
                  >
                    <th scope="row">
                      <Link to={`/directory/${encodeURIComponent(p.id)}`} className="cell-title">
                        {p.name}
                      </Link>
                      <span className="cell-sub">{p.email}</span>
                    </th>
                    <td>{p.department ?? <span className="muted">—</span>}</td>
                    <td>{p.jobRole ?? <span className="muted">—</span>}</td>
                    <td>
                      <span className={`badge ${p.status === 'active' ? 'badge-ok' : 'badge-muted'}`}>
                        {p.status}
                      </span>
                    </td>
                    <td>{p.consoleUserId ? 'Linked' : <span className="muted">No account</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && data.total > PAGE ? (
          <div className="button-row pager">
            <button
              type="button"
              className="button button-small button-secondary"
              disabled={search.offset === 0}
              onClick={() => setSearch({ ...search, offset: Math.max(0, search.offset - PAGE) })}
            >
              Previous
            </button>
            <span className="muted">
              {search.offset + 1}–{Math.min(search.offset + PAGE, data.total)} of {data.total}
            </span>
            <button
              type="button"
              className="button button-small button-secondary"
              disabled={search.offset + PAGE >= data.total}
              onClick={() => setSearch({ ...search, offset: search.offset + PAGE })}
            >
              Next
            </button>
          </div>
        ) : null}
      </section>
      <ImportPanel onDone={refresh} />
    </div>
  );
}

type RowError = { row: number; field: string; message: string };

function ImportPanel({ onDone }: { onDone: () => void }) {
  const [file, setFile] = useState<File>();
  const [summary, setSummary] = useState<ImportSummary>();
  const [rowErrors, setRowErrors] = useState<RowError[]>([]);
  const { busy, error, run } = useSubmit();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setSummary(undefined);
    setRowErrors([]);
    void run(async () => {
      try {
        setSummary(await awarenessApi.importPeople(await file.text()));
        onDone();
      } catch (err) {
        const errors = err instanceof ApiError ? err.details?.errors : undefined;
        if (Array.isArray(errors)) setRowErrors(errors as RowError[]);
        throw err;
      }
    });
  };
  return (
    <section className="panel" aria-labelledby="import-title">
      <h2 id="import-title" className="panel-title">
        Import from CSV
      </h2>
      <p className="field-hint">
        Columns: email and name (or first and last name); optional department, job title, manager (their
        email), status (active, leave, terminated) and start date. People are matched by email. If any row has
        a problem, nothing is imported. Administrators only.
      </p>
      <form className="form-inline" onSubmit={submit}>
        <div className="field">
          <label htmlFor="import-file">CSV file</label>
          <input
            id="import-file"
            type="file"
            accept=".csv,text/csv"
            onChange={(e) => setFile(e.target.files?.[0])}
            data-testid="import-file"
          />
        </div>
        <button type="submit" className="button button-primary" disabled={!file || busy}>
          {busy ? 'Importing…' : 'Import'}
        </button>
      </form>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {rowErrors.length ? (
        <ul className="import-errors" data-testid="import-errors">
          {rowErrors.map((e) => (
            <li key={`${e.row}-${e.field}-${e.message}`}>
              Row {e.row}, {e.field}: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {summary ? (
        <Banner kind="success" testId="import-summary">
          Imported {summary.rows} rows: {summary.created} added, {summary.updated} updated,{' '}
          {summary.unchanged} unchanged{summary.terminated ? `, ${summary.terminated} marked terminated` : ''}
          .{summary.ignoredColumns.length ? ` Ignored columns: ${summary.ignoredColumns.join(', ')}.` : ''}
        </Banner>
      ) : null}
    </section>
  );
}

function PersonView({ id }: { id: string }) {
  const { data, error, loading } = usePoll(() => awarenessApi.person(id), 0, id);
  useDocumentTitle(data?.person.name ?? 'Person');
  return (
    <div className="page">
      <p className="training-back">
        <Link to="/directory">← Directory</Link>
      </p>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {!data ? (
        <p className="empty">{loading ? 'Loading…' : null}</p>
      ) : (
        <>
          <header className="page-header">
            <div>
              <h1 tabIndex={-1} data-testid="person-name">
                {data.person.name}
              </h1>
              <p className="page-lede">
                {[data.person.jobRole, data.person.department].filter(Boolean).join(', ')} ·{' '}
                {data.person.email} · {data.person.status}
                {data.manager ? ` · reports to ${data.manager.name}` : ''}
                {data.directReports ? ` · manages ${data.directReports}` : ''}
              </p>
            </div>
          </header>
          <section className="panel" aria-labelledby="risk-title" data-testid="person-risk">
            <h2 id="risk-title" className="panel-title">
              Awareness risk: {data.risk ? data.risk.score : 'not computed yet'}
            </h2>
            {data.risk?.reasons.length ? (
              <ul className="risk-reasons">
                {data.risk.reasons.map((r) => (
                  <li key={r.code}>
                    {r.text} ({r.points > 0 ? '+' : ''}
                    {r.points})
                  </li>
                ))}
              </ul>
            ) : (
              <p className="empty">No risk factors.</p>
            )}
          </section>
          <section className="panel panel-flush" aria-labelledby="person-training-title">
            <h2 id="person-training-title" className="panel-title panel-title-padded">
              Training
            </h2>
            {data.enrolments.length === 0 ? (
              <p className="empty">No training assigned.</p>
            ) : (
              <div className="table-scroll">
                <table className="table" data-testid="person-training">
                  <thead>
                    <tr>
                      <th scope="col">Course</th>
                      <th scope="col">Due</th>
                      <th scope="col">Status</th>
                      <th scope="col">Best score</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.enrolments.map((e) => (
                      <tr key={e.id}>
                        <th scope="row">{e.courseTitle}</th>
                        <td className="nowrap">{formatDateTime(e.dueAt)}</td>
                        <td>
                          <StatusBadge status={e.status} />
                        </td>
                        <td>{e.bestScore === null ? '—' : `${e.bestScore}%`}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section className="panel panel-flush" aria-labelledby="person-timeline-title">
            <h2 id="person-timeline-title" className="panel-title panel-title-padded">
              Phishing simulation timeline
            </h2>
            {data.timeline.length === 0 ? (
              <p className="empty">No simulated phishing activity.</p>
            ) : (
              <div className="table-scroll">
                <table className="table" data-testid="person-timeline">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">What</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...data.timeline].reverse().map((t) => (
                      <tr key={`${t.recipientId}-${t.kind}-${t.time}`}>
                        <td className="nowrap">{formatMoment(t.time)}</td>
                        <td>
                          {t.kind}
                          {t.scanner ? (
                            <span className="badge badge-muted badge-inline">link scanner</span>
                          ) : null}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </div>
  );
}
