/**
 * Biomedical engineers, analysts and admins: the device inventory. Counts by criticality and by
 * type (click one to filter), filters by type, criticality, vendor, VLAN and subnet, a free-text
 * search over every identity attribute, sortable columns and paging; the filters live in the URL
 * so a view can be shared or reloaded. The inventory downloads as CSV; biomedical engineers and
 * admins import CMMS data (type, criticality, owner, location, notes) from CSV, all rows or none.
 * `/devices/<id>` opens one device.
 */
import { type FormEvent, useCallback, useId, useState } from 'react';
import { ApiError } from '../api.js';
import { Banner } from '../components/Banner.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { SelectField } from '../components/SelectField.js';
import { devicesApi } from '../devices-api.js';
import {
  CRITICALITIES,
  CRITICALITY_COLOURS,
  criticalityLabel,
  DEVICE_TYPES,
  type DeviceFilter,
  type ImportRowError,
  type ImportSummary,
  SORT_KEYS,
  type SortKey,
  typeLabel,
} from '../devices-types.js';
import { formatCount, formatDateTime } from '../format.js';
import { useDocumentTitle, useSubmit } from '../hooks.js';
import { Link, usePath } from '../router.js';
import type { SessionUser } from '../types.js';
import { usePoll } from '../usePoll.js';
import { CriticalityBadge, replaceUrl, useSearch } from './DeviceParts.js';
import { DeviceView } from './DeviceView.js';

const PAGE = 50;
const REFRESH_SECONDS = 30;

/** Who may change the inventory by hand (the server checks it too). */
export const canEditDevices = (user: SessionUser) => user.role === 'admin' || user.role === 'biomed';

/** `/devices` is the inventory; `/devices/<id>` one device. */
export function Devices({ user }: { user: SessionUser }) {
  const path = usePath();
  const rest = path.replace(/^\/devices\/?/, '').replace(/\/+$/, '');
  if (rest) return <DeviceView id={decodeURIComponent(rest)} user={user} />;
  return <Inventory user={user} />;
}

const FILTER_KEYS = ['type', 'criticality', 'vendor', 'vlan', 'subnet', 'q'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/** The inventory's filter, sort and page from the URL. */
function filterOf(search: URLSearchParams): DeviceFilter {
  const f: DeviceFilter = {};
  for (const k of FILTER_KEYS) {
    const v = search.get(k);
    if (v) f[k] = v;
  }
  const sort = search.get('sort');
  if (sort && (SORT_KEYS as readonly string[]).includes(sort)) f.sort = sort as SortKey;
  const order = search.get('order');
  if (order === 'asc' || order === 'desc') f.order = order;
  const offset = Number(search.get('offset'));
  if (Number.isInteger(offset) && offset > 0) f.offset = offset;
  return f;
}

function urlOf(f: DeviceFilter): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(f))
    if (v !== undefined && v !== '' && k !== 'limit') search.set(k, String(v));
  const text = search.toString();
  return text ? `/devices?${text}` : '/devices';
}

const COLUMNS: ReadonlyArray<{ key: SortKey | null; label: string; className?: string }> = [
  { key: 'name', label: 'Device' },
  { key: 'ip', label: 'Address' },
  { key: 'type', label: 'Type' },
  { key: 'criticality', label: 'Criticality' },
  { key: null, label: 'Vendor / model', className: 'hide-narrow' },
  { key: null, label: 'Owner / location', className: 'hide-narrow' },
  { key: 'lastSeen', label: 'Last seen' },
];

function Inventory({ user }: { user: SessionUser }) {
  useDocumentTitle('Devices');
  const search = useSearch();
  const filter = filterOf(search);
  const key = urlOf(filter);
  const setFilter = (next: DeviceFilter) => replaceUrl(urlOf(next));
  /** A new filter value starts again at the first page. */
  const refilter = (k: FilterKey, v: string | undefined) =>
    setFilter({ ...filter, [k]: v || undefined, offset: undefined });
  const [text, setText] = useState(filter.q ?? '');
  const [netText, setNetText] = useState({ vlan: filter.vlan ?? '', subnet: filter.subnet ?? '' });
  const searchId = useId();
  const vlanId = useId();
  const subnetId = useId();

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the filter.
  const load = useCallback(() => devicesApi.list({ ...filter, limit: PAGE }), [key]);
  const { data, error, loading, updatedAt, refresh } = usePoll(load, REFRESH_SECONDS * 1000, key);
  const offset = filter.offset ?? 0;
  const devices = data?.devices;
  const counts = data?.counts;
  const filtered = FILTER_KEYS.some((k) => filter[k]);

  const sortBy = (k: SortKey) => {
    const current = filter.sort ?? 'lastSeen';
    const defaultOrder = k === 'name' || k === 'ip' ? 'asc' : 'desc';
    const currentOrder = filter.order ?? (current === 'name' || current === 'ip' ? 'asc' : 'desc');
    const order = current === k ? (currentOrder === 'asc' ? 'desc' : 'asc') : defaultOrder;
    setFilter({ ...filter, sort: k, order, offset: undefined });
  };
  const ariaSort = (k: SortKey | null) => {
    if (!k || (filter.sort ?? 'lastSeen') !== k) return undefined;
    const order = filter.order ?? (k === 'name' || k === 'ip' ? 'asc' : 'desc');
    return order === 'asc' ? 'ascending' : 'descending';
  };

  const vendorOptions = [
    { value: '', label: 'All vendors' },
    ...Object.entries(counts?.byVendor ?? {}).map(([v, n]) => ({
      value: v,
      label: `${v} (${formatCount(n)})`,
    })),
  ];
  if (filter.vendor && !vendorOptions.some((o) => o.value === filter.vendor))
    vendorOptions.push({ value: filter.vendor, label: filter.vendor });

  const applyNet = (e: FormEvent) => {
    e.preventDefault();
    setFilter({
      ...filter,
      vlan: netText.vlan.trim() || undefined,
      subnet: netText.subnet.trim() || undefined,
      offset: undefined,
    });
  };

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Devices</h1>
          <p className="page-lede">
            Every device the sensor has seen on the network, with what identifies it and how critical it is to
            patient care. <Link to="/network-map">Open the network map</Link>.
          </p>
        </div>
        <RefreshStatus
          loading={loading}
          updatedAt={updatedAt}
          onRefresh={refresh}
          everySeconds={REFRESH_SECONDS}
        />
      </header>

      <section className="panel panel-compact" aria-labelledby="device-counts-title">
        <h2 id="device-counts-title" className="visually-hidden">
          Devices by criticality and type
        </h2>
        <div className="device-counts">
          <div className="count-group">
            <h3>By criticality</h3>
            <div className="count-buttons" data-testid="counts-criticality">
              {CRITICALITIES.map((c) => (
                <button
                  key={c}
                  type="button"
                  className="count-button"
                  aria-pressed={filter.criticality === c}
                  onClick={() => refilter('criticality', filter.criticality === c ? undefined : c)}
                  data-testid={`count-criticality-${c}`}
                >
                  <span
                    className="crit-dot"
                    style={{ backgroundColor: CRITICALITY_COLOURS[c] }}
                    aria-hidden="true"
                  />
                  {criticalityLabel(c)}{' '}
                  <span className="count-n">{counts ? formatCount(counts.byCriticality[c] ?? 0) : '…'}</span>
                </button>
              ))}
            </div>
          </div>
          <div className="count-group">
            <h3>By type</h3>
            <div className="count-buttons" data-testid="counts-type">
              {DEVICE_TYPES.filter((t) => counts?.byType[t]).map((t) => (
                <button
                  key={t}
                  type="button"
                  className="count-button"
                  aria-pressed={filter.type === t}
                  onClick={() => refilter('type', filter.type === t ? undefined : t)}
                  data-testid={`count-type-${t}`}
                >
                  {typeLabel(t)} <span className="count-n">{formatCount(counts?.byType[t] ?? 0)}</span>
                </button>
              ))}
              {counts && Object.keys(counts.byType).length === 0 ? (
                <span className="muted small">No devices yet.</span>
              ) : null}
            </div>
          </div>
        </div>
      </section>

      <section className="panel panel-compact" aria-labelledby="device-filters-title">
        <h2 id="device-filters-title" className="visually-hidden">
          Filter devices
        </h2>
        <div className="filters">
          <SelectField
            label="Type"
            value={filter.type ?? ''}
            options={[
              { value: '', label: 'All types' },
              ...DEVICE_TYPES.map((t) => ({ value: t, label: typeLabel(t) })),
            ]}
            onValue={(v) => refilter('type', v)}
            testId="devices-type"
          />
          <SelectField
            label="Criticality"
            value={filter.criticality ?? ''}
            options={[
              { value: '', label: 'All criticalities' },
              ...CRITICALITIES.map((c) => ({ value: c, label: criticalityLabel(c) })),
            ]}
            onValue={(v) => refilter('criticality', v)}
            testId="devices-criticality"
          />
          <SelectField
            label="Vendor"
            value={filter.vendor ?? ''}
            options={vendorOptions}
            onValue={(v) => refilter('vendor', v)}
            testId="devices-vendor"
          />
          <form className="field device-filter-wide" onSubmit={applyNet}>
            <label htmlFor={subnetId}>Subnet / VLAN</label>
            <div className="device-search-row">
              <input
                id={subnetId}
                value={netText.subnet}
                maxLength={64}
                placeholder="10.20.0.0/16"
                aria-label="Subnet (IPv4 CIDR)"
                onChange={(e) => setNetText({ ...netText, subnet: e.target.value })}
                data-testid="devices-subnet"
              />
              <input
                id={vlanId}
                value={netText.vlan}
                inputMode="numeric"
                maxLength={4}
                placeholder="VLAN"
                aria-label="VLAN id"
                className="vlan-input"
                onChange={(e) => setNetText({ ...netText, vlan: e.target.value })}
                data-testid="devices-vlan"
              />
              <button
                type="submit"
                className="button button-small button-secondary"
                data-testid="devices-net-apply"
              >
                Apply
              </button>
            </div>
          </form>
          <form
            className="field device-filter-wide"
            onSubmit={(e) => {
              e.preventDefault();
              refilter('q', text.trim());
            }}
          >
            <label htmlFor={searchId}>Search</label>
            <div className="device-search-row">
              <input
                id={searchId}
                type="search"
                value={text}
                maxLength={200}
                placeholder="Name, address, MAC, AE title, owner…"
                onChange={(e) => {
                  setText(e.target.value);
                  if (!e.target.value && filter.q) refilter('q', '');
                }}
                data-testid="devices-search"
              />
              <button
                type="submit"
                className="button button-small button-secondary"
                data-testid="devices-search-submit"
              >
                Search
              </button>
            </div>
          </form>
          {filtered ? (
            <button
              type="button"
              className="button button-small button-ghost"
              onClick={() => {
                setText('');
                setNetText({ vlan: '', subnet: '' });
                setFilter({ sort: filter.sort, order: filter.order });
              }}
              data-testid="devices-clear"
            >
              Clear filters
            </button>
          ) : null}
          <a
            className="button button-small button-ghost"
            href={devicesApi.exportUrl}
            download
            data-testid="devices-export"
          >
            Export CSV
          </a>
        </div>
      </section>

      {error ? (
        <Banner kind="error" testId="devices-error">
          {devices ? `Could not refresh: ${error} Showing the devices loaded before.` : error}
        </Banner>
      ) : null}

      <section className="panel panel-flush" aria-labelledby="devices-list-title">
        <h2 id="devices-list-title" className="visually-hidden">
          Devices
        </h2>
        {devices === undefined ? (
          <p className="empty" data-testid="devices-loading">
            {loading || !error ? (
              <>
                <span className="spinner" aria-hidden="true" /> Loading devices…
              </>
            ) : (
              'Devices could not be loaded.'
            )}
          </p>
        ) : devices.length === 0 ? (
          <div className="empty" data-testid="devices-empty">
            {filtered || offset > 0 ? (
              <p>No devices match these filters.</p>
            ) : (
              <>
                <p>No devices yet.</p>
                <p className="small">
                  Devices appear as the sensor sees traffic: <code>vigil sensor read capture.pcap</code>,{' '}
                  <code>vigil sensor live --interface eth1</code> or <code>vigil sensor zeek logs/</code>.
                </p>
              </>
            )}
          </div>
        ) : (
          <>
            <div className="table-scroll">
              <table className="table" data-testid="devices-table">
                <caption className="visually-hidden">Devices; select a column heading to sort</caption>
                <thead>
                  <tr>
                    {COLUMNS.map((c) => (
                      <th key={c.label} scope="col" className={c.className} aria-sort={ariaSort(c.key)}>
                        {c.key ? (
                          <button
                            type="button"
                            className="sort-button"
                            onClick={() => sortBy(c.key!)}
                            data-testid={`sort-${c.key}`}
                          >
                            {c.label}
                            {ariaSort(c.key) ? (ariaSort(c.key) === 'ascending' ? ' ▲' : ' ▼') : ''}
                          </button>
                        ) : (
                          c.label
                        )}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {devices.map((d) => (
                    <tr
                      key={d.id}
                      data-testid="device-row"
                      data-id={d.id}
                      data-ip={d.ip ?? ''}
                      data-criticality={d.criticality}
                    >
                      <td>
                        <Link
                          to={`/devices/${encodeURIComponent(d.id)}`}
                          className="cell-title"
                          data-testid="device-link"
                        >
                          {d.name ?? d.ip ?? d.mac ?? d.id}
                        </Link>
                        {d.mac ? <div className="cell-sub mono small">{d.mac}</div> : null}
                      </td>
                      <td className="mono">{d.ip ?? '—'}</td>
                      <td>
                        {typeLabel(d.type)}
                        {d.manualType ? <span className="manual-mark"> (set by hand)</span> : null}
                      </td>
                      <td>
                        <CriticalityBadge level={d.criticality} manual={d.manualCriticality} />
                      </td>
                      <td className="hide-narrow">
                        {d.vendor ?? '—'}
                        {d.model ? <div className="cell-sub small">{d.model}</div> : null}
                      </td>
                      <td className="hide-narrow">
                        {d.owner ?? '—'}
                        {d.location ? <div className="cell-sub small">{d.location}</div> : null}
                      </td>
                      <td className="nowrap">{formatDateTime(d.lastSeen)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="table-foot pager">
              <span className="muted small" data-testid="devices-count">
                {`${formatCount(offset + 1)}–${formatCount(offset + devices.length)} of ${formatCount(data!.total)}`}
              </span>
              <span className="button-row">
                <button
                  type="button"
                  className="button button-small button-secondary"
                  disabled={offset === 0}
                  onClick={() => setFilter({ ...filter, offset: Math.max(0, offset - PAGE) || undefined })}
                  data-testid="devices-prev"
                >
                  Previous
                </button>
                <button
                  type="button"
                  className="button button-small button-secondary"
                  disabled={offset + devices.length >= data!.total}
                  onClick={() => setFilter({ ...filter, offset: offset + PAGE })}
                  data-testid="devices-next"
                >
                  Next
                </button>
              </span>
            </div>
          </>
        )}
      </section>

      {canEditDevices(user) ? <ImportPanel onDone={refresh} /> : null}
    </div>
  );
}

function ImportPanel({ onDone }: { onDone: () => void }) {
  const [file, setFile] = useState<File>();
  const [summary, setSummary] = useState<ImportSummary>();
  const [rowErrors, setRowErrors] = useState<ImportRowError[]>([]);
  const { busy, error, run } = useSubmit();
  const fileId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setSummary(undefined);
    setRowErrors([]);
    void run(async () => {
      try {
        setSummary(await devicesApi.importCsv(await file.text()));
        onDone();
      } catch (err) {
        const errors = err instanceof ApiError ? err.details?.errors : undefined;
        if (Array.isArray(errors)) setRowErrors(errors as ImportRowError[]);
        throw err;
      }
    });
  };
  return (
    <section className="panel" aria-labelledby="device-import-title">
      <h2 id="device-import-title" className="panel-title">
        Import from a CMMS (CSV)
      </h2>
      <p className="field-hint">
        Each row names a device by <code>id</code>, <code>mac</code> or <code>ip</code> and sets any of{' '}
        <code>type</code> (or <code>manual_type</code>), <code>criticality</code> (or{' '}
        <code>manual_criticality</code>), <code>owner</code>, <code>location</code> and <code>notes</code>. An
        empty cell clears the value (type and criticality go back to detection); a column left out changes
        nothing. This page’s export imports back unchanged. If any row has a problem, nothing is imported.
      </p>
      <form className="form-inline" onSubmit={submit}>
        <div className="field">
          <label htmlFor={fileId}>CSV file</label>
          <input
            id={fileId}
            type="file"
            accept=".csv,text/csv"
            onChange={(e) => setFile(e.target.files?.[0])}
            data-testid="devices-import-file"
          />
        </div>
        <button
          type="submit"
          className="button button-primary"
          disabled={!file || busy}
          data-testid="devices-import-submit"
        >
          {busy ? 'Importing…' : 'Import'}
        </button>
      </form>
      {error ? (
        <Banner kind="error" testId="devices-import-error">
          {error}
        </Banner>
      ) : null}
      {rowErrors.length ? (
        <ul className="import-errors" data-testid="devices-import-errors">
          {rowErrors.map((e) => (
            <li key={`${e.row}-${e.field}-${e.message}`}>
              Row {e.row}, {e.field}: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {summary ? (
        <Banner kind="success" testId="devices-import-summary">
          Imported {formatCount(summary.rows)} rows: {formatCount(summary.updated)} devices changed,{' '}
          {formatCount(summary.unchanged)} unchanged.
          {summary.ignoredColumns.length ? ` Ignored columns: ${summary.ignoredColumns.join(', ')}.` : ''}
        </Banner>
      ) : null}
    </section>
  );
}
