/**
 * One device, as a biomedical engineer checks it: what identifies it (every attribute with its
 * source, evidence, confidence and first/last seen), why it has its type and criticality, the
 * protocols it serves and uses, its peers over the last hour, day or week, and the findings the
 * sensor raised about it. Biomedical engineers and admins set type, criticality, owner, location
 * and notes by hand; detection never overwrites those.
 */
import { type FormEvent, useCallback, useEffect, useId, useState } from 'react';
import { Banner } from '../components/Banner.js';
import { SelectField } from '../components/SelectField.js';
import { SeverityBadge } from '../components/SeverityBadge.js';
import { devicesApi } from '../devices-api.js';
import {
  CRITICALITIES,
  criticalityLabel,
  DEVICE_TYPES,
  type DeviceAttribute,
  type DeviceDetail,
  formatBytes,
  type Period,
  periodFrom,
  typeLabel,
} from '../devices-types.js';
import { formatCount, formatDateTime } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link } from '../router.js';
import type { SessionUser } from '../types.js';
import { usePoll } from '../usePoll.js';
import { Confidence, CriticalityBadge, PeriodSelect } from './DeviceParts.js';

const canEdit = (user: SessionUser) => user.role === 'admin' || user.role === 'biomed';

/** Attribute names as a person reads them. */
const ATTRIBUTE_LABELS: Record<string, string> = {
  ip: 'IP address',
  vlan: 'VLAN',
  vendor: 'NIC vendor',
  hostname: 'Host name',
  ae_title: 'DICOM AE title',
  dicom_role: 'DICOM role',
  dicom_implementation_class_uid: 'DICOM implementation class UID',
  dicom_implementation_version: 'DICOM implementation version',
  dicom_storage_scp: 'DICOM storage SCP',
  manufacturer: 'Manufacturer',
  model: 'Model',
  software_version: 'Software version',
  serial_number: 'Serial number',
  modality: 'Modality',
  station_name: 'Station name',
  hl7_sending_application: 'HL7 sending application',
  hl7_sending_facility: 'HL7 sending facility',
  hl7_receiving_application: 'HL7 receiving application',
  hl7_receiving_facility: 'HL7 receiving facility',
  hl7_equipment: 'HL7 equipment',
  software: 'Software',
  software_type: 'Software type',
  user_agent: 'HTTP user agent',
  tls_server_name: 'TLS server name',
  tls_ja3: 'TLS JA3',
  tls_ja4: 'TLS JA4',
  tls_ja3s: 'TLS JA3S',
  tls_certificate: 'TLS certificate',
  ssh_banner: 'SSH banner',
  dhcp_fingerprint: 'DHCP fingerprint',
  dhcp_vendor_class: 'DHCP vendor class',
  dhcp_client_id: 'DHCP client id',
  sdc_endpoint: 'SDC endpoint',
  sdc_type: 'SDC type',
  sdc_scope: 'SDC scope',
  sdc_xaddr: 'SDC address',
  l3_gateway: 'Routes for other addresses',
  patient_data_sent: 'Sends patient data',
};
const attrLabel = (name: string) => ATTRIBUTE_LABELS[name] ?? name.replace(/_/g, ' ');

export function DeviceView({ id, user }: { id: string; user: SessionUser }) {
  const load = useCallback(() => devicesApi.device(id), [id]);
  const { data: device, error, loading, refresh } = usePoll(load, 0, id);
  useDocumentTitle(device ? (device.name ?? device.ip ?? 'Device') : 'Device');
  return (
    <div className="page" aria-busy={loading}>
      <p className="back-link">
        <Link to="/devices">← Devices</Link>
      </p>
      {error ? (
        <Banner kind="error" testId="device-error">
          {error}
        </Banner>
      ) : null}
      {!device ? (
        <p className="empty" data-testid="device-loading">
          {loading ? (
            <>
              <span className="spinner" aria-hidden="true" /> Loading the device…
            </>
          ) : null}
        </p>
      ) : (
        <DeviceBody device={device} user={user} onChanged={refresh} />
      )}
    </div>
  );
}

function DeviceBody({
  device: d,
  user,
  onChanged,
}: {
  device: DeviceDetail;
  user: SessionUser;
  onChanged: () => void;
}) {
  const identity = Object.entries(d.identity).sort(([a], [b]) => attrLabel(a).localeCompare(attrLabel(b)));
  return (
    <>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1} data-testid="device-name">
            {d.name ?? d.ip ?? d.mac ?? d.id}
          </h1>
          <p className="page-lede" data-testid="device-lede">
            <span data-testid="device-type" data-type={d.type}>
              {typeLabel(d.type)}
            </span>{' '}
            · <CriticalityBadge level={d.criticality} manual={d.manualCriticality} />
            {d.ip ? (
              <>
                {' '}
                · <span className="mono">{d.ip}</span>
              </>
            ) : null}
            {d.mac ? (
              <>
                {' '}
                · <span className="mono">{d.mac}</span>
              </>
            ) : null}
            {d.vendor ? ` · ${d.vendor}` : ''}
            {d.model ? ` ${d.model}` : ''}
          </p>
          <p className="muted small">
            First seen {formatDateTime(d.firstSeen)} · last seen {formatDateTime(d.lastSeen)} ·{' '}
            <Link to={`/network-map?focus=${encodeURIComponent(d.id)}`}>Show on the network map</Link>
          </p>
        </div>
      </header>

      <div className="grid-2">
        <section className="panel" aria-labelledby="classification-title" data-testid="device-classification">
          <h2 id="classification-title" className="panel-title">
            Why this type and criticality
          </h2>
          <dl className="device-facts">
            <dt>Type</dt>
            <dd>
              {typeLabel(d.classification.type)} <Confidence value={d.classification.confidence} /> ·{' '}
              {d.classification.reason}
              {d.classification.rule !== 'manual' ? (
                <span className="muted small"> (rule {d.classification.rule})</span>
              ) : null}
            </dd>
            {d.classification.detected ? (
              <>
                <dt>Detection says</dt>
                <dd data-testid="device-detected">
                  {typeLabel(d.classification.detected.type)}{' '}
                  <Confidence value={d.classification.detected.confidence} /> ·{' '}
                  {d.classification.detected.reason}
                </dd>
              </>
            ) : null}
            <dt>Criticality</dt>
            <dd>
              {criticalityLabel(d.criticality)}: {d.criticalityReason}
            </dd>
          </dl>
          {d.classification.evidence.length ? (
            <>
              <h3 className="small muted">Evidence</h3>
              <ul className="evidence-list small" data-testid="classification-evidence">
                {d.classification.evidence.map((e) => (
                  <li key={`${e.name}-${e.value}`}>
                    <span className="attr-name">{attrLabel(e.name)}</span> {e.value}{' '}
                    <span className="muted">
                      ({e.source}: {e.evidence}, <Confidence value={e.confidence} />)
                    </span>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </section>

        {canEdit(user) ? (
          <EditPanel device={d} onSaved={onChanged} />
        ) : (
          <section className="panel" aria-labelledby="manual-title">
            <h2 id="manual-title" className="panel-title">
              Set by hand
            </h2>
            {d.manual ? (
              <dl className="device-facts" data-testid="device-manual">
                <dt>Owner</dt>
                <dd>{d.manual.owner ?? '—'}</dd>
                <dt>Location</dt>
                <dd>{d.manual.location ?? '—'}</dd>
                <dt>Notes</dt>
                <dd className="pre-wrap">{d.manual.notes ?? '—'}</dd>
                <dt>Changed</dt>
                <dd>
                  by {d.manual.updatedBy}, {formatDateTime(d.manual.updatedAt)}
                </dd>
              </dl>
            ) : (
              <p className="empty">Nothing was set by hand. Biomedical engineers and admins can.</p>
            )}
          </section>
        )}
      </div>

      <section className="panel panel-flush" aria-labelledby="identity-title">
        <h2 id="identity-title" className="panel-title panel-title-padded">
          Identity and evidence
        </h2>
        {identity.length === 0 ? (
          <p className="empty">No identity attributes yet.</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="device-identity">
              <caption className="visually-hidden">
                Identity attributes with their source and evidence
              </caption>
              <thead>
                <tr>
                  <th scope="col">Attribute</th>
                  <th scope="col">Value</th>
                  <th scope="col">Source and evidence</th>
                  <th scope="col" className="num">
                    Confidence
                  </th>
                  <th scope="col">First seen</th>
                  <th scope="col">Last seen</th>
                  <th scope="col" className="num">
                    Seen
                  </th>
                </tr>
              </thead>
              <tbody>
                {identity.flatMap(([name, values]) =>
                  values.map((a, i) => <AttributeRow key={`${name}-${a.value}`} attr={a} first={i === 0} />),
                )}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="panel" aria-labelledby="protocols-title" data-testid="device-protocols">
        <h2 id="protocols-title" className="panel-title">
          Protocols
        </h2>
        <div className="grid-2">
          <ProtocolList title="Serves" list={d.protocols.served} />
          <ProtocolList title="Uses" list={d.protocols.used} />
        </div>
      </section>

      <Peers device={d} />

      <section className="panel" aria-labelledby="findings-title" data-testid="device-findings">
        <h2 id="findings-title" className="panel-title">
          Findings
        </h2>
        {d.findings.length === 0 ? (
          <p className="empty">The sensor raised no findings for this device.</p>
        ) : (
          <ul className="evidence-list">
            {d.findings.map((f) => (
              <li key={f.id} data-testid="device-finding" data-kind={f.kind}>
                <SeverityBadge severity={f.severity} /> {f.summary}{' '}
                <span className="muted small">
                  ({formatCount(f.count)}×, {formatDateTime(f.firstSeen)} – {formatDateTime(f.lastSeen)})
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function AttributeRow({ attr: a, first }: { attr: DeviceAttribute; first: boolean }) {
  return (
    <tr data-testid="identity-row" data-name={a.name}>
      <td className="attr-name">{first ? attrLabel(a.name) : ''}</td>
      <td className="mono cell-clip" title={a.value}>
        {a.value}
      </td>
      <td className="small">
        <span className="badge badge-muted">{a.source}</span> {a.evidence}
      </td>
      <td className="num">
        <Confidence value={a.confidence} />
      </td>
      <td className="nowrap small">{formatDateTime(a.firstSeen)}</td>
      <td className="nowrap small">{formatDateTime(a.lastSeen)}</td>
      <td className="num">{formatCount(a.count)}</td>
    </tr>
  );
}

function ProtocolList({ title, list }: { title: string; list: DeviceAttribute[] }) {
  return (
    <div>
      <h3 className="small muted">{title}</h3>
      {list.length === 0 ? (
        <p className="muted small">None seen.</p>
      ) : (
        <ul className="evidence-list small">
          {list.map((p) => (
            <li key={p.value}>
              <span className="mono">{p.value}</span>{' '}
              <span className="muted">
                ({p.evidence}; {formatCount(p.count)}×, last {formatDateTime(p.lastSeen)})
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Peers({ device }: { device: DeviceDetail }) {
  const [period, setPeriod] = useState<Period>('week');
  const key = `${device.id}|${period}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the device and period.
  const load = useCallback(() => devicesApi.peers(device.id, periodFrom(period)), [key]);
  const { data: peers, error, loading } = usePoll(load, 0, key);
  return (
    <section className="panel panel-flush" aria-labelledby="peers-title" aria-busy={loading}>
      <div className="panel-head">
        <h2 id="peers-title" className="panel-title">
          Peers
        </h2>
        <PeriodSelect value={period} onValue={setPeriod} testId="peers-period" />
      </div>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {peers === undefined ? (
        <p className="empty">{loading ? 'Loading peers…' : null}</p>
      ) : peers.length === 0 ? (
        <p className="empty" data-testid="peers-empty">
          No traffic with other addresses in this period.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="table" data-testid="device-peers">
            <caption className="visually-hidden">Who this device talked to, busiest first</caption>
            <thead>
              <tr>
                <th scope="col">Direction</th>
                <th scope="col">Peer</th>
                <th scope="col">Service</th>
                <th scope="col" className="num">
                  Connections
                </th>
                <th scope="col" className="num">
                  Messages
                </th>
                <th scope="col" className="num">
                  Bytes
                </th>
                <th scope="col">Hours</th>
              </tr>
            </thead>
            <tbody>
              {peers.map((p) => (
                <tr
                  key={`${p.direction}-${p.peerIp}-${p.port}-${p.transport}-${p.app}`}
                  data-testid="peer-row"
                  data-peer-ip={p.peerIp}
                >
                  <td>{p.direction === 'out' ? '→ to' : '← from'}</td>
                  <td>
                    {p.peerDeviceId ? (
                      <Link to={`/devices/${encodeURIComponent(p.peerDeviceId)}`}>
                        {p.peerName ?? p.peerIp}
                      </Link>
                    ) : (
                      <span>{p.peerIp}</span>
                    )}
                    <div className="cell-sub small">
                      <span className="mono">{p.peerIp}</span>
                      {p.peerType ? ` · ${typeLabel(p.peerType)}` : p.peerDeviceId ? '' : ' · external'}
                    </div>
                  </td>
                  <td className="mono">
                    {p.app ?? '?'}/{p.transport}/{p.port}
                  </td>
                  <td className="num">{formatCount(p.connections)}</td>
                  <td className="num">{formatCount(p.observations)}</td>
                  <td className="num">{formatBytes(p.bytes)}</td>
                  <td className="nowrap small">
                    {formatDateTime(p.firstHour)}
                    {p.lastHour !== p.firstHour ? ` – ${formatDateTime(p.lastHour)}` : ''}
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

function EditPanel({ device: d, onSaved }: { device: DeviceDetail; onSaved: () => void }) {
  const initial = () => ({
    type: d.manual?.type ?? '',
    criticality: d.manual?.criticality ?? '',
    owner: d.manual?.owner ?? '',
    location: d.manual?.location ?? '',
    notes: d.manual?.notes ?? '',
  });
  const [form, setForm] = useState(initial);
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useSubmit();
  const ownerId = useId();
  const locationId = useId();
  const notesId = useId();
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the stored values change.
  useEffect(() => setForm(initial()), [d.id, d.manual?.updatedAt]);
  const detected = d.classification.detected?.type ?? d.type;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    void run(async () => {
      await devicesApi.update(d.id, {
        type: form.type || null,
        criticality: form.criticality || null,
        owner: form.owner.trim() || null,
        location: form.location.trim() || null,
        notes: form.notes.trim() || null,
      });
      setSaved(true);
      onSaved();
    });
  };
  return (
    <section className="panel device-edit" aria-labelledby="edit-title">
      <h2 id="edit-title" className="panel-title">
        Set by hand
      </h2>
      <form className="form" onSubmit={submit} data-testid="device-edit">
        <SelectField
          label="Type"
          value={form.type}
          options={[
            { value: '', label: `As detected (${typeLabel(detected)})` },
            ...DEVICE_TYPES.map((t) => ({ value: t, label: typeLabel(t) })),
          ]}
          onValue={(v) => setForm({ ...form, type: v })}
          testId="edit-type"
        />
        <SelectField
          label="Criticality"
          value={form.criticality}
          options={[
            { value: '', label: 'From the type' },
            ...CRITICALITIES.map((c) => ({ value: c, label: criticalityLabel(c) })),
          ]}
          onValue={(v) => setForm({ ...form, criticality: v })}
          testId="edit-criticality"
        />
        <div className="field">
          <label htmlFor={ownerId}>Owner</label>
          <input
            id={ownerId}
            value={form.owner}
            maxLength={200}
            onChange={(e) => setForm({ ...form, owner: e.target.value })}
            data-testid="edit-owner"
          />
        </div>
        <div className="field">
          <label htmlFor={locationId}>Location</label>
          <input
            id={locationId}
            value={form.location}
            maxLength={200}
            onChange={(e) => setForm({ ...form, location: e.target.value })}
            data-testid="edit-location"
          />
        </div>
        <div className="field">
          <label htmlFor={notesId}>Notes</label>
          <textarea
            id={notesId}
            value={form.notes}
            maxLength={4000}
            onChange={(e) => setForm({ ...form, notes: e.target.value })}
            data-testid="edit-notes"
          />
        </div>
        <p className="field-hint">
          Kept when the sensor sees the device again. Leave type or criticality on the first choice to let
          detection decide.
        </p>
        <div className="button-row">
          <button type="submit" className="button button-primary" disabled={busy} data-testid="edit-save">
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
        {error ? (
          <Banner kind="error" testId="edit-error">
            {error}
          </Banner>
        ) : null}
        {saved && !busy ? (
          <Banner kind="success" testId="edit-saved">
            Saved.
          </Banner>
        ) : null}
        {d.manual ? (
          <p className="muted small" data-testid="edit-changed">
            Last changed by {d.manual.updatedBy}, {formatDateTime(d.manual.updatedAt)}.
          </p>
        ) : null}
      </form>
    </section>
  );
}
