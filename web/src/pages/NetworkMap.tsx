/**
 * Biomedical engineers, analysts and admins: who talks to whom on the network over the last hour,
 * day or week. The busiest devices (up to the chosen number) as an interactive graph coloured by
 * criticality, edges as thick as their bytes or connections, addresses outside the inventory as
 * one node; the busiest connections listed below it. `?focus=<device id>` highlights a device.
 */
import { useCallback, useState } from 'react';
import { Banner } from '../components/Banner.js';
import { RefreshStatus } from '../components/RefreshStatus.js';
import { SelectField } from '../components/SelectField.js';
import { devicesApi } from '../devices-api.js';
import {
  CRITICALITIES,
  CRITICALITY_COLOURS,
  criticalityLabel,
  formatBytes,
  type Period,
  periodFrom,
} from '../devices-types.js';
import { formatCount } from '../format.js';
import { useDocumentTitle } from '../hooks.js';
import { Link } from '../router.js';
import { usePoll } from '../usePoll.js';
import { PeriodSelect, useSearch } from './DeviceParts.js';
import { type EdgeMetric, NetworkMapGraph } from './NetworkMapGraph.js';

const LIMITS = [
  { value: '50', label: '50 busiest' },
  { value: '150', label: '150 busiest' },
  { value: '300', label: '300 busiest' },
  { value: '500', label: '500 busiest' },
] as const;
type Limit = (typeof LIMITS)[number]['value'];

const METRICS = [
  { value: 'connections', label: 'Connections and messages' },
  { value: 'bytes', label: 'Bytes' },
] as const;

export function NetworkMap() {
  useDocumentTitle('Network map');
  const focus = useSearch().get('focus') ?? undefined;
  const [period, setPeriod] = useState<Period>('day');
  const [limit, setLimit] = useState<Limit>('150');
  const [metric, setMetric] = useState<EdgeMetric>('connections');
  const key = `${period}|${limit}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for period and limit.
  const load = useCallback(() => devicesApi.map(periodFrom(period), Number(limit)), [key]);
  const { data: map, error, loading, updatedAt, refresh } = usePoll(load, 0, key);
  const name = (id: string) =>
    id === 'external' ? 'External addresses' : (map?.nodes.find((n) => n.id === id)?.label ?? id);

  return (
    <div className="page" aria-busy={loading}>
      <header className="page-header">
        <div>
          <h1 tabIndex={-1}>Network map</h1>
          <p className="page-lede">
            Who talks to whom, from the sensor’s hourly communication records. Drag to pan, scroll or use the
            buttons to zoom, drag a device to move it, click one to open it.
          </p>
        </div>
        <RefreshStatus loading={loading} updatedAt={updatedAt} onRefresh={refresh} />
      </header>

      <section className="panel panel-compact" aria-label="Map settings">
        <div className="filters">
          <PeriodSelect value={period} onValue={setPeriod} testId="map-period" />
          <SelectField
            label="Edges by"
            value={metric}
            options={METRICS}
            onValue={setMetric}
            testId="map-metric"
          />
          <SelectField label="Devices" value={limit} options={LIMITS} onValue={setLimit} testId="map-limit" />
          <div className="map-legend">
            {CRITICALITIES.map((c) => (
              <span key={c}>
                <span
                  className="crit-dot"
                  style={{ backgroundColor: CRITICALITY_COLOURS[c] }}
                  aria-hidden="true"
                />{' '}
                {criticalityLabel(c)}
              </span>
            ))}
            <span>
              <span
                className="crit-dot"
                style={{ backgroundColor: '#475467', borderRadius: 2 }}
                aria-hidden="true"
              />{' '}
              External
            </span>
          </div>
        </div>
      </section>

      {error ? (
        <Banner kind="error" testId="map-error">
          {error}
        </Banner>
      ) : null}
      {map && map.omitted.nodes > 0 ? (
        <Banner kind="info" testId="map-omitted">
          Showing the {formatCount(map.nodes.length)} busiest of{' '}
          {formatCount(map.nodes.length + map.omitted.nodes)} nodes; {formatCount(map.omitted.edges)}{' '}
          connections involve the others. The <Link to="/devices">inventory</Link> lists every device.
        </Banner>
      ) : null}

      <section className="panel panel-flush" aria-labelledby="map-title">
        <h2 id="map-title" className="visually-hidden">
          The map
        </h2>
        {!map ? (
          <p className="empty" data-testid="map-loading">
            {loading || !error ? (
              <>
                <span className="spinner" aria-hidden="true" /> Laying out the map…
              </>
            ) : (
              'The map could not be loaded.'
            )}
          </p>
        ) : map.nodes.length === 0 ? (
          <div className="empty" data-testid="map-empty">
            <p>No traffic in this period.</p>
            {period !== 'all' ? (
              <p>
                <button
                  type="button"
                  className="button button-small button-secondary"
                  onClick={() => setPeriod('all')}
                >
                  Show all time
                </button>
              </p>
            ) : null}
          </div>
        ) : (
          <NetworkMapGraph key={`${key}|${updatedAt?.getTime()}`} map={map} metric={metric} focus={focus} />
        )}
      </section>

      {map && map.edges.length > 0 ? (
        <section className="panel panel-flush" aria-labelledby="map-edges-title">
          <h2 id="map-edges-title" className="panel-title panel-title-padded">
            Busiest connections
          </h2>
          <div className="table-scroll">
            <table className="table" data-testid="map-edges">
              <thead>
                <tr>
                  <th scope="col">Between</th>
                  <th scope="col">Services</th>
                  <th scope="col" className="num">
                    Connections
                  </th>
                  <th scope="col" className="num">
                    Messages
                  </th>
                  <th scope="col" className="num">
                    Bytes
                  </th>
                </tr>
              </thead>
              <tbody>
                {map.edges.slice(0, 20).map((e) => (
                  <tr key={`${e.source}|${e.target}`}>
                    <td>
                      {[e.source, e.target].map((id, i) => (
                        <span key={id}>
                          {i ? ' ↔ ' : ''}
                          {id === 'external' ? (
                            name(id)
                          ) : (
                            <Link to={`/devices/${encodeURIComponent(id)}`}>{name(id)}</Link>
                          )}
                        </span>
                      ))}
                    </td>
                    <td className="mono small">{e.services.join(', ')}</td>
                    <td className="num">{formatCount(e.connections)}</td>
                    <td className="num">{formatCount(e.observations)}</td>
                    <td className="num">{formatBytes(e.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </div>
  );
}
