/**
 * Clinicians: find a patient in their care, see the patient's documents, download one, and add one
 * (drag and drop or the file picker) with upload progress. The file goes up first as a FHIR
 * Binary, streamed and encrypted by the server; then a DocumentReference points at it. The server
 * decides whom the clinician may see: searches answer only those patients, and a refusal may
 * offer break-the-glass.
 */
import type { DragEvent, FormEvent } from 'react';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { ApiError, api, binaryUrl, DOCUMENT_TYPES, describeError, fileTypeOf } from '../api.js';
import { Banner } from '../components/Banner.js';
import { Field } from '../components/Field.js';
import { SelectField } from '../components/SelectField.js';
import { formatCount, formatDateTime } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import type { FhirDocumentReference, FhirPatient } from '../types.js';
import { usePoll } from '../usePoll.js';

/** Document kinds (LOINC document ontology) offered when adding a file. */
const KINDS = [
  { value: '34109-9', label: 'Note' },
  { value: '18842-5', label: 'Discharge summary' },
  { value: '11488-4', label: 'Consult note' },
  { value: '11502-2', label: 'Laboratory report' },
  { value: '18748-4', label: 'Diagnostic imaging study' },
  { value: '64285-0', label: 'Medication history' },
  { value: '59284-0', label: 'Consent document' },
] as const;
type Kind = (typeof KINDS)[number]['value'];

const ACCEPTED = DOCUMENT_TYPES.map((t) => t.label).join(', ');
const ACCEPT_ATTR = DOCUMENT_TYPES.flatMap((t) => [t.type, ...t.extensions.map((e) => `.${e}`)]).join(',');

export function patientName(p: FhirPatient): string {
  const n = p.name?.[0];
  if (!n) return `Patient ${p.id}`;
  if (n.text) return n.text;
  return [...(n.given ?? []), n.family].filter(Boolean).join(' ') || `Patient ${p.id}`;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${formatCount(n)} bytes`;
}

function typeLabel(contentType: string | undefined): string {
  return DOCUMENT_TYPES.find((t) => t.type === contentType)?.label ?? contentType ?? '—';
}

/** The message for a failure, with what to do about a refusal the server says break-the-glass would lift. */
function ErrorBanner({ error, testId }: { error: unknown; testId?: string }) {
  const breakGlass = error instanceof ApiError && error.details?.breakGlassPossible === true;
  return (
    <Banner kind="error" testId={testId}>
      {describeError(error)}
      {breakGlass ? (
        <span className="block-line" data-testid="break-glass-hint">
          If this is an emergency, declare it (break-the-glass) for this patient to get access for a limited
          time. Your reason is recorded and reviewed by the privacy officer.
        </span>
      ) : null}
    </Banner>
  );
}

export function PatientDocuments() {
  useDocumentTitle('Patient documents');
  const [patient, setPatient] = useState<FhirPatient>();

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Patient documents</h1>
          <p className="page-lede">
            Find a patient in your care, read their documents, and add one. Files are encrypted for the
            patient, and every look is recorded.
          </p>
        </div>
      </header>
      {patient ? (
        <PatientPanel patient={patient} onChange={() => setPatient(undefined)} />
      ) : (
        <>
          <PatientSearch onPick={setPatient} />
          <EmergencyAccess onPick={setPatient} />
        </>
      )}
    </div>
  );
}

function PatientSearch({ onPick }: { onPick: (p: FhirPatient) => void }) {
  const [name, setName] = useState('');
  const [results, setResults] = useState<{ name: string; patients: FhirPatient[] }>();
  const [failure, setFailure] = useState<unknown>();
  const { busy, error, setError, run } = useSubmit();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const wanted = name.trim();
    if (!wanted) {
      setError('Enter a family or given name.');
      return;
    }
    setFailure(undefined);
    await run(async () => {
      try {
        setResults({ name: wanted, patients: await api.searchPatients(wanted) });
      } catch (err) {
        setFailure(err);
        setResults(undefined);
      }
    });
  };

  return (
    <section className="panel" aria-labelledby="patient-search-title" aria-busy={busy}>
      <h2 id="patient-search-title" className="panel-title">
        Find a patient
      </h2>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {failure ? <ErrorBanner error={failure} testId="patient-search-error" /> : null}
      <form className="form form-inline" onSubmit={submit} noValidate>
        <Field
          label="Name"
          value={name}
          onValue={setName}
          autoComplete="off"
          spellCheck={false}
          hint="A whole family or given name, e.g. Garcia"
          data-testid="patient-name"
        />
        <button type="submit" className="button button-primary" disabled={busy} data-testid="patient-search">
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      {results ? (
        results.patients.length === 0 ? (
          <p className="empty" data-testid="patient-none">
            No patient in your care is named “{results.name}”. Search matches whole names: try the family name
            alone.
          </p>
        ) : (
          <div className="table-scroll">
            <table className="table table-stack" data-testid="patient-results">
              <caption className="visually-hidden">Patients named {results.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Born</th>
                  <th scope="col">Sex</th>
                  <th scope="col" className="hide-narrow">
                    Identifier
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">Open</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {results.patients.map((p) => (
                  <tr key={p.id} data-testid="patient-row">
                    <th scope="row" data-label="Name">
                      <span className="cell-title">{patientName(p)}</span>
                    </th>
                    <td data-label="Born">{p.birthDate ?? '—'}</td>
                    <td data-label="Sex">{p.gender ?? '—'}</td>
                    <td className="hide-narrow mono small">{p.identifier?.[0]?.value ?? '—'}</td>
                    <td className="actions">
                      <button
                        type="button"
                        className="button button-small button-secondary"
                        onClick={() => onPick(p)}
                        data-testid="patient-open"
                      >
                        Documents<span className="visually-hidden"> of {patientName(p)}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </section>
  );
}

/**
 * A patient outside the clinician's care, opened by record id: the server refuses with a
 * break-the-glass hint, and the clinician may declare the emergency with a reason.
 */
function EmergencyAccess({ onPick }: { onPick: (p: FhirPatient) => void }) {
  const [patientId, setPatientId] = useState('');
  const [reason, setReason] = useState('');
  const [refused, setRefused] = useState<unknown>();
  const { busy, error, setError, run } = useSubmit();
  const needsGlass = refused instanceof ApiError && refused.details?.breakGlassPossible === true;

  const open = async (event: FormEvent) => {
    event.preventDefault();
    const id = patientId.trim().replace(/^Patient\//, '');
    if (!id) {
      setError('Enter the patient record id.');
      return;
    }
    setRefused(undefined);
    await run(async () => {
      try {
        onPick(await api.readPatient(id));
      } catch (err) {
        setRefused(err);
      }
    });
  };

  const declare = async (event: FormEvent) => {
    event.preventDefault();
    const id = patientId.trim().replace(/^Patient\//, '');
    await run(async () => {
      await api.declareBreakGlass(id, reason.trim());
      onPick(await api.readPatient(id));
    });
  };

  return (
    <section className="panel" aria-labelledby="emergency-title" aria-busy={busy}>
      <h2 id="emergency-title" className="panel-title">
        Patient not in your care
      </h2>
      <p className="field-hint">
        Open a record by its id. Outside your care you will be refused; in an emergency you may declare it
        (break-the-glass): access lasts a limited time, and your reason is recorded and reviewed.
      </p>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {refused && !needsGlass ? <ErrorBanner error={refused} testId="emergency-error" /> : null}
      <form className="form form-inline" onSubmit={open} noValidate>
        <Field
          label="Patient record id"
          value={patientId}
          onValue={(v) => {
            setPatientId(v);
            setRefused(undefined);
          }}
          autoComplete="off"
          spellCheck={false}
          data-testid="emergency-patient-id"
        />
        <button
          type="submit"
          className="button button-secondary"
          disabled={busy}
          data-testid="emergency-open"
        >
          Open
        </button>
      </form>
      {needsGlass ? (
        <form className="form" onSubmit={declare} noValidate data-testid="break-glass-form">
          <Banner kind="error" testId="break-glass-hint">
            {describeError(refused)}
          </Banner>
          <Field
            label="Reason for emergency access"
            value={reason}
            onValue={setReason}
            maxLength={500}
            hint="What the emergency is, in a sentence (10 to 500 characters). No patient identifiers."
            data-testid="break-glass-reason"
          />
          <button
            type="submit"
            className="button button-danger"
            disabled={busy}
            data-testid="break-glass-declare"
          >
            {busy ? 'Declaring…' : 'Declare emergency and open'}
          </button>
        </form>
      ) : null}
    </section>
  );
}

function PatientPanel({ patient, onChange }: { patient: FhirPatient; onChange: () => void }) {
  const load = useCallback(() => api.patientDocuments(patient.id), [patient.id]);
  const { data: docs, error, loading, refresh } = usePoll(load, 0, patient.id);
  const name = patientName(patient);

  return (
    <>
      <section className="panel panel-flush" aria-labelledby="documents-title" aria-busy={loading}>
        <div className="panel-head">
          <div>
            <h2 id="documents-title" className="panel-title" data-testid="documents-patient">
              {name}
            </h2>
            <p className="panel-lede muted small">
              {[patient.birthDate ? `Born ${patient.birthDate}` : null, patient.gender]
                .filter(Boolean)
                .join(' · ') || 'Documents'}
            </p>
          </div>
          <button
            type="button"
            className="button button-small button-secondary"
            onClick={onChange}
            data-testid="patient-change"
          >
            Other patient
          </button>
        </div>
        {error ? (
          <div className="panel-pad">
            <Banner kind="error" testId="documents-error">
              {error}
            </Banner>
          </div>
        ) : null}
        {docs === undefined ? (
          <p className="empty">
            {loading || !error ? 'Loading documents…' : 'Documents could not be loaded.'}
          </p>
        ) : docs.length === 0 ? (
          <p className="empty" data-testid="documents-empty">
            No documents yet for {name}.
          </p>
        ) : (
          <DocumentTable docs={docs} patient={name} />
        )}
      </section>
      <UploadPanel patient={patient} onAdded={refresh} />
    </>
  );
}

function DocumentTable({ docs, patient }: { docs: FhirDocumentReference[]; patient: string }) {
  return (
    <div className="table-scroll">
      <table className="table table-stack" data-testid="documents-table">
        <caption className="visually-hidden">Documents of {patient}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Document</th>
            <th scope="col">Date</th>
            <th scope="col">File</th>
            <th scope="col">
              <span className="visually-hidden">Download</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {docs.map((d) => {
            const a = d.content?.[0]?.attachment;
            const binaryId = a?.url?.startsWith('Binary/') ? a.url.slice('Binary/'.length) : undefined;
            const title =
              a?.title || d.description || d.type?.text || d.type?.coding?.[0]?.display || 'Document';
            const ext = DOCUMENT_TYPES.find((t) => t.type === a?.contentType)?.extensions[0];
            return (
              <tr key={d.id} data-testid="document-row">
                <th scope="row" data-label="Document">
                  <span className="cell-title">{title}</span>
                  <span className="cell-sub">{d.type?.text ?? d.type?.coding?.[0]?.display ?? ''}</span>
                </th>
                <td className="nowrap" data-label="Date">
                  {formatDateTime(d.date ?? d.meta?.lastUpdated, '—')}
                </td>
                <td data-label="File">
                  {typeLabel(a?.contentType)} · {formatBytes(a?.size)}
                </td>
                <td className="actions">
                  {binaryId ? (
                    <a
                      className="button button-small button-secondary"
                      href={binaryUrl(binaryId)}
                      download={ext && !title.toLowerCase().endsWith(`.${ext}`) ? `${title}.${ext}` : title}
                      data-testid="document-download"
                    >
                      Download<span className="visually-hidden"> {title}</span>
                    </a>
                  ) : (
                    <span className="muted small">No file here</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function UploadPanel({ patient, onAdded }: { patient: FhirPatient; onAdded: () => void }) {
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const cancel = useRef<AbortController | null>(null);
  const [file, setFile] = useState<File>();
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState<Kind>('34109-9');
  const [dragging, setDragging] = useState(false);
  const [uploading, setUploading] = useState(false);
  const [progress, setProgress] = useState<{ sent: number; total: number }>();
  const [failure, setFailure] = useState<unknown>();
  const [notice, setNotice] = useState<string>();

  const choose = (f: File | undefined) => {
    setFailure(undefined);
    setNotice(undefined);
    setProgress(undefined);
    if (!f) return;
    const type = fileTypeOf(f);
    if (!DOCUMENT_TYPES.some((t) => t.type === type)) {
      setFile(undefined);
      setFailure(
        new ApiError(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          `“${f.name}” is not a file type Vigil keeps (${ACCEPTED}).`,
        ),
      );
      return;
    }
    setFile(f);
    setTitle(f.name.replace(/\.[^.]{1,5}$/, ''));
  };

  // A file dropped beside the zone must not make the browser open it in place of the console.
  useEffect(() => {
    const keep = (e: globalThis.DragEvent) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    };
    window.addEventListener('dragover', keep);
    window.addEventListener('drop', keep);
    return () => {
      window.removeEventListener('dragover', keep);
      window.removeEventListener('drop', keep);
    };
  }, []);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (!uploading) choose(e.dataTransfer.files[0]);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file || uploading) return;
    const label = KINDS.find((k) => k.value === kind)!.label;
    const controller = new AbortController();
    cancel.current = controller;
    setUploading(true);
    setFailure(undefined);
    setNotice(undefined);
    setProgress({ sent: 0, total: file.size });
    try {
      const binary = await api.uploadBinary(
        file,
        patient.id,
        (sent, total) => setProgress({ sent, total }),
        controller.signal,
      );
      await api.createDocument({
        patientId: patient.id,
        binary,
        title: title.trim() || file.name,
        typeCode: kind,
        typeLabel: label,
      });
      setNotice(`Added “${title.trim() || file.name}” to ${patientName(patient)}’s documents.`);
      setFile(undefined);
      setTitle('');
      if (input.current) input.current.value = '';
      onAdded();
    } catch (err) {
      setFailure(err);
    } finally {
      cancel.current = null;
      setUploading(false);
      setProgress(undefined);
    }
  };

  const percent = progress && progress.total > 0 ? Math.floor((progress.sent / progress.total) * 100) : 0;

  return (
    <section className="panel" aria-labelledby="upload-title">
      <h2 id="upload-title" className="panel-title">
        Add a document
      </h2>
      {notice ? (
        <Banner kind="success" testId="upload-done">
          {notice}
        </Banner>
      ) : null}
      {failure ? <ErrorBanner error={failure} testId="upload-error" /> : null}
      <form className="form" onSubmit={submit} noValidate aria-busy={uploading}>
        <fieldset
          className={`dropzone${dragging ? ' dropzone-active' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
          data-testid="upload-dropzone"
        >
          <legend className="visually-hidden">The file to add</legend>
          <p className="dropzone-text">
            {file ? (
              <>
                <strong data-testid="upload-file-name">{file.name}</strong>
                <span className="muted small">
                  {' '}
                  · {typeLabel(fileTypeOf(file))} · {formatBytes(file.size)}
                </span>
              </>
            ) : (
              'Drop a file here, or'
            )}
          </p>
          <label htmlFor={inputId} className="button button-small button-secondary">
            {file ? 'Choose another file' : 'Choose a file'}
          </label>
          <input
            id={inputId}
            ref={input}
            type="file"
            className="visually-hidden"
            accept={ACCEPT_ATTR}
            disabled={uploading}
            onChange={(e) => choose(e.target.files?.[0])}
            data-testid="upload-input"
          />
          <p className="field-hint">Accepted: {ACCEPTED}.</p>
        </fieldset>
        {file ? (
          <div className="form-grid form">
            <Field
              label="Title"
              value={title}
              onValue={setTitle}
              autoComplete="off"
              maxLength={200}
              disabled={uploading}
              data-testid="upload-title"
            />
            <SelectField
              label="Kind of document"
              value={kind}
              options={KINDS}
              onValue={setKind}
              testId="upload-kind"
            />
          </div>
        ) : null}
        {progress ? (
          <div className="upload-progress" data-testid="upload-progress">
            <progress
              value={progress.sent}
              max={progress.total || 1}
              aria-labelledby={`${inputId}-progress`}
            />
            <span id={`${inputId}-progress`} className="small" aria-live="polite">
              {percent < 100
                ? `Uploading… ${percent}% (${formatBytes(progress.sent)} of ${formatBytes(progress.total)})`
                : 'Encrypting and saving…'}
            </span>
          </div>
        ) : null}
        <div className="button-row">
          <button
            type="submit"
            className="button button-primary"
            disabled={!file || uploading}
            data-testid="upload-submit"
          >
            {uploading ? 'Uploading…' : 'Upload'}
          </button>
          {uploading ? (
            <button
              type="button"
              className="button button-secondary"
              onClick={() => cancel.current?.abort()}
              data-testid="upload-cancel"
            >
              Cancel
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}
