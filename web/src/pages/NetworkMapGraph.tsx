/**
 * The network map's graph in SVG: d3-force lays the nodes out once (then it stops: nothing moves
 * on its own), React draws them. Drag the background to pan, the wheel or the buttons to zoom, a
 * node to move it; hover a node or an edge for its details; click a device (or Enter on it) to open
 * its page. A new map is a new component (the caller keys it), so moved nodes start afresh. Nodes are coloured by criticality, edges are as thick as their traffic.
 */
import {
  forceCenter,
  forceCollide,
  forceLink,
  forceManyBody,
  forceSimulation,
  forceX,
  forceY,
  type SimulationLinkDatum,
  type SimulationNodeDatum,
} from 'd3-force';
import { type PointerEvent, useEffect, useMemo, useRef, useState } from 'react';
import {
  CRITICALITY_COLOURS,
  type Criticality,
  criticalityLabel,
  type DeviceMap,
  formatBytes,
  type MapEdge,
  type MapNode,
  typeLabel,
} from '../devices-types.js';
import { formatCount } from '../format.js';
import { navigate } from '../router.js';

export type EdgeMetric = 'bytes' | 'connections';

type Pos = { x: number; y: number };
type SimNode = SimulationNodeDatum & { id: string };

const EXTERNAL_COLOUR = '#475467';
const MIN_ZOOM = 0.2;
const MAX_ZOOM = 5;

const edgeValue = (e: MapEdge, metric: EdgeMetric) =>
  metric === 'bytes' ? e.bytes : e.connections + e.observations;

function radiusOf(n: MapNode, max: number): number {
  const w = n.connections + n.observations;
  return 7 + 11 * (max > 0 ? Math.sqrt(w / max) : 0);
}

/** Positions from a force layout, computed once per map (deterministic start on a circle). */
function layout(map: DeviceMap): Map<string, Pos> {
  const count = map.nodes.length;
  const nodes: SimNode[] = map.nodes.map((n, i) => ({
    id: n.id,
    x: Math.cos((2 * Math.PI * i) / Math.max(count, 1)) * 40 * Math.sqrt(count),
    y: Math.sin((2 * Math.PI * i) / Math.max(count, 1)) * 40 * Math.sqrt(count),
  }));
  const links: Array<SimulationLinkDatum<SimNode>> = map.edges.map((e) => ({
    source: e.source,
    target: e.target,
  }));
  const sim = forceSimulation(nodes)
    .force(
      'link',
      forceLink<SimNode, SimulationLinkDatum<SimNode>>(links)
        .id((d) => d.id)
        .distance(90),
    )
    .force('charge', forceManyBody().strength(-260))
    .force('center', forceCenter(0, 0))
    // A gentle pull to the middle keeps separate groups of devices on one screen.
    .force('x', forceX(0).strength(0.07))
    .force('y', forceY(0).strength(0.07))
    .force('collide', forceCollide(26))
    .stop();
  sim.tick(Math.min(300, 80 + count * 2));
  return new Map(nodes.map((n) => [n.id, { x: n.x ?? 0, y: n.y ?? 0 }]));
}

interface Tip {
  x: number;
  y: number;
  node?: MapNode;
  edge?: MapEdge;
}

export function NetworkMapGraph({
  map,
  metric,
  focus,
}: {
  map: DeviceMap;
  metric: EdgeMetric;
  focus: string | undefined;
}) {
  const initial = useMemo(() => layout(map), [map]);
  const [moved, setMoved] = useState<Map<string, Pos>>(new Map());
  const [view, setView] = useState({ x: 0, y: 0, k: 1 });
  const [tip, setTip] = useState<Tip>();
  const [hot, setHot] = useState<string>();
  const svgRef = useRef<SVGSVGElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const drag = useRef<
    | { kind: 'pan'; start: Pos; view: { x: number; y: number; k: number } }
    | { kind: 'node'; id: string; start: Pos; from: Pos; moved: boolean }
    | undefined
  >(undefined);

  const pos = (id: string): Pos => moved.get(id) ?? initial.get(id) ?? { x: 0, y: 0 };

  const bounds = useMemo(() => {
    let [x0, y0, x1, y1] = [-420, -260, 420, 260];
    for (const p of initial.values()) {
      x0 = Math.min(x0, p.x - 60);
      y0 = Math.min(y0, p.y - 40);
      x1 = Math.max(x1, p.x + 60);
      y1 = Math.max(y1, p.y + 40);
    }
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }, [initial]);

  const maxNode = Math.max(0, ...map.nodes.map((n) => n.connections + n.observations));
  const maxEdge = Math.max(0, ...map.edges.map((e) => edgeValue(e, metric)));
  const byId = useMemo(() => new Map(map.nodes.map((n) => [n.id, n])), [map]);

  /** A pointer's position in the graph's coordinates (before pan and zoom). */
  const toGraph = (clientX: number, clientY: number): Pos => {
    const svg = svgRef.current;
    const ctm = svg?.getScreenCTM();
    if (!svg || !ctm) return { x: 0, y: 0 };
    const p = new DOMPoint(clientX, clientY).matrixTransform(ctm.inverse());
    return { x: (p.x - view.x) / view.k, y: (p.y - view.y) / view.k };
  };
  const toSvg = (clientX: number, clientY: number): Pos => {
    const ctm = svgRef.current?.getScreenCTM();
    if (!ctm) return { x: 0, y: 0 };
    const p = new DOMPoint(clientX, clientY).matrixTransform(ctm.inverse());
    return { x: p.x, y: p.y };
  };
  const tipAt = (e: PointerEvent, t: Omit<Tip, 'x' | 'y'>) => {
    const r = wrapRef.current?.getBoundingClientRect();
    if (r) setTip({ x: e.clientX - r.left + 14, y: e.clientY - r.top + 14, ...t });
  };

  const zoomBy = (factor: number, at?: Pos) => {
    setView((v) => {
      const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.k * factor));
      const c = at ?? { x: bounds.x + bounds.w / 2, y: bounds.y + bounds.h / 2 };
      // Keep the point under the pointer where it is.
      return { k, x: c.x - ((c.x - v.x) * k) / v.k, y: c.y - ((c.y - v.y) * k) / v.k };
    });
  };
  // The wheel zooms the map, not the page: a listener that may cancel the scroll (React's is passive).
  const zoomRef = useRef(zoomBy);
  zoomRef.current = zoomBy;
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const ctm = svg.getScreenCTM();
      const p = ctm ? new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse()) : undefined;
      zoomRef.current(e.deltaY < 0 ? 1.15 : 1 / 1.15, p ? { x: p.x, y: p.y } : undefined);
    };
    svg.addEventListener('wheel', onWheel, { passive: false });
    return () => svg.removeEventListener('wheel', onWheel);
  }, []);

  const onBackgroundDown = (e: PointerEvent<SVGSVGElement>) => {
    if (drag.current) return;
    drag.current = { kind: 'pan', start: toSvg(e.clientX, e.clientY), view };
    e.currentTarget.setPointerCapture(e.pointerId);
  };
  const onNodeDown = (e: PointerEvent<SVGGElement>, id: string) => {
    e.stopPropagation();
    drag.current = { kind: 'node', id, start: toGraph(e.clientX, e.clientY), from: pos(id), moved: false };
    svgRef.current?.setPointerCapture(e.pointerId);
  };
  const onMove = (e: PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (!d) return;
    if (d.kind === 'pan') {
      const p = toSvg(e.clientX, e.clientY);
      setView({ ...d.view, x: d.view.x + p.x - d.start.x, y: d.view.y + p.y - d.start.y });
    } else {
      const p = toGraph(e.clientX, e.clientY);
      const dx = p.x - d.start.x;
      const dy = p.y - d.start.y;
      if (!d.moved && Math.hypot(dx, dy) < 3) return;
      d.moved = true;
      setTip(undefined);
      setMoved((m) => new Map(m).set(d.id, { x: d.from.x + dx, y: d.from.y + dy }));
    }
  };
  const onUp = () => {
    const d = drag.current;
    drag.current = undefined;
    // A press that did not move is a click: open the device.
    if (d?.kind === 'node' && !d.moved && byId.get(d.id)?.kind === 'device')
      navigate(`/devices/${encodeURIComponent(d.id)}`);
  };

  const colour = (n: MapNode) =>
    n.kind === 'external'
      ? EXTERNAL_COLOUR
      : (CRITICALITY_COLOURS[n.criticality as Criticality] ?? CRITICALITY_COLOURS.business);

  return (
    <div className="map-wrap" ref={wrapRef}>
      <div className="map-controls">
        <button
          type="button"
          className="button button-small button-secondary"
          onClick={() => zoomBy(1.25)}
          aria-label="Zoom in"
          data-testid="map-zoom-in"
        >
          +
        </button>
        <button
          type="button"
          className="button button-small button-secondary"
          onClick={() => zoomBy(0.8)}
          aria-label="Zoom out"
          data-testid="map-zoom-out"
        >
          −
        </button>
        <button
          type="button"
          className="button button-small button-secondary"
          onClick={() => {
            setView({ x: 0, y: 0, k: 1 });
            setMoved(new Map());
          }}
          data-testid="map-reset"
        >
          Reset
        </button>
      </div>
      <svg
        ref={svgRef}
        className="map-svg"
        viewBox={`${bounds.x} ${bounds.y} ${bounds.w} ${bounds.h}`}
        role="img"
        aria-label={`Network map: ${map.nodes.length} nodes, ${map.edges.length} connections`}
        onPointerDown={onBackgroundDown}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onPointerCancel={() => {
          drag.current = undefined;
        }}
        data-testid="map-svg"
        data-zoom={view.k.toFixed(2)}
      >
        <g transform={`translate(${view.x} ${view.y}) scale(${view.k})`} data-testid="map-layer">
          {map.edges.map((e) => {
            const a = pos(e.source);
            const b = pos(e.target);
            const v = edgeValue(e, metric);
            const width = 1 + (maxEdge > 0 ? (6 * Math.log1p(v)) / Math.log1p(maxEdge) : 0);
            const isHot = hot === e.source || hot === e.target || focus === e.source || focus === e.target;
            return (
              <line
                key={`${e.source}|${e.target}`}
                x1={a.x}
                y1={a.y}
                x2={b.x}
                y2={b.y}
                className={isHot ? 'map-edge map-edge-hot' : 'map-edge'}
                strokeWidth={width}
                data-testid="map-edge"
                data-source={e.source}
                data-target={e.target}
                onPointerEnter={(ev) => tipAt(ev, { edge: e })}
                onPointerLeave={() => setTip(undefined)}
              />
            );
          })}
          {map.nodes.map((n) => {
            const p = pos(n.id);
            const r = radiusOf(n, maxNode);
            const label = n.kind === 'external' ? `External (${formatCount(n.addressCount ?? 0)})` : n.label;
            return (
              // biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>.
              <g
                key={n.id}
                className="map-node"
                transform={`translate(${p.x} ${p.y})`}
                role="button"
                tabIndex={0}
                aria-label={
                  n.kind === 'external'
                    ? `${label} addresses outside the inventory`
                    : `${n.label}, ${typeLabel(n.type)}, ${criticalityLabel(n.criticality)}: open the device`
                }
                data-testid="map-node"
                data-id={n.id}
                data-kind={n.kind}
                data-criticality={n.criticality ?? ''}
                onPointerDown={(ev) => onNodeDown(ev, n.id)}
                onPointerEnter={(ev) => {
                  setHot(n.id);
                  tipAt(ev, { node: n });
                }}
                onPointerLeave={() => {
                  setHot(undefined);
                  setTip(undefined);
                }}
                onKeyDown={(ev) => {
                  if ((ev.key === 'Enter' || ev.key === ' ') && n.kind === 'device') {
                    ev.preventDefault();
                    navigate(`/devices/${encodeURIComponent(n.id)}`);
                  }
                }}
              >
                {n.kind === 'external' ? (
                  <rect
                    className="map-node-shape"
                    x={-r}
                    y={-r}
                    width={2 * r}
                    height={2 * r}
                    rx={4}
                    fill={colour(n)}
                    stroke="#fff"
                    strokeWidth={2}
                  />
                ) : (
                  <circle
                    className="map-node-shape"
                    r={r}
                    fill={colour(n)}
                    stroke={focus === n.id ? '#101828' : '#fff'}
                    strokeWidth={focus === n.id ? 4 : 2}
                    data-testid="map-node-circle"
                  />
                )}
                <text className="map-label" y={r + 12} textAnchor="middle">
                  {label.length > 28 ? `${label.slice(0, 27)}…` : label}
                </text>
              </g>
            );
          })}
        </g>
      </svg>
      {tip ? (
        <div
          className="map-tooltip"
          style={{ left: tip.x, top: tip.y }}
          data-testid="map-tooltip"
          role="status"
        >
          {tip.node ? <NodeTip node={tip.node} /> : null}
          {tip.edge ? <EdgeTip edge={tip.edge} byId={byId} /> : null}
        </div>
      ) : null}
    </div>
  );
}

function Traffic({
  t,
}: {
  t: { connections: number; observations: number; bytes: number; packets: number };
}) {
  return (
    <>
      <dt>Connections</dt>
      <dd>{formatCount(t.connections)}</dd>
      <dt>Messages</dt>
      <dd>{formatCount(t.observations)}</dd>
      <dt>Traffic</dt>
      <dd>
        {formatBytes(t.bytes)}, {formatCount(t.packets)} packets
      </dd>
    </>
  );
}

function NodeTip({ node: n }: { node: MapNode }) {
  if (n.kind === 'external')
    return (
      <>
        <strong>Addresses outside the inventory</strong>
        <dl>
          <dt>Addresses</dt>
          <dd>{formatCount(n.addressCount ?? 0)}</dd>
          <Traffic t={n} />
        </dl>
        {n.addresses?.length ? (
          <p className="small">
            Busiest:{' '}
            <span className="mono">
              {n.addresses
                .slice(0, 8)
                .map((a) => a.ip)
                .join(', ')}
            </span>
            {(n.addressCount ?? 0) > 8 ? '…' : ''}
          </p>
        ) : null}
      </>
    );
  return (
    <>
      <strong>{n.label}</strong>
      <dl>
        <dt>Type</dt>
        <dd>{typeLabel(n.type)}</dd>
        <dt>Criticality</dt>
        <dd>{criticalityLabel(n.criticality)}</dd>
        <dt>Address</dt>
        <dd className="mono">{n.ip ?? '—'}</dd>
        {n.mac ? (
          <>
            <dt>MAC</dt>
            <dd className="mono">{n.mac}</dd>
          </>
        ) : null}
        {n.vendor ? (
          <>
            <dt>Vendor</dt>
            <dd>{n.vendor}</dd>
          </>
        ) : null}
        <Traffic t={n} />
      </dl>
      <p className="small muted">Click to open the device.</p>
    </>
  );
}

function EdgeTip({ edge: e, byId }: { edge: MapEdge; byId: Map<string, MapNode> }) {
  const name = (id: string) => (id === 'external' ? 'External addresses' : (byId.get(id)?.label ?? id));
  return (
    <>
      <strong>
        {name(e.source)} ↔ {name(e.target)}
      </strong>
      <dl>
        <dt>Services</dt>
        <dd className="mono">{e.services.join(', ')}</dd>
        <Traffic t={e} />
      </dl>
    </>
  );
}
