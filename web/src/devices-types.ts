/** The device inventory and communication map as the API answers them (src/devices). */

export const DEVICE_TYPES = [
  'ventilator',
  'infusion-pump',
  'patient-monitor',
  'imaging-modality',
  'pacs',
  'dicom-workstation',
  'hl7-interface-engine',
  'lab-analyser',
  'nurse-call',
  'workstation',
  'server',
  'printer',
  'network-gear',
  'iot',
  'unknown',
] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const TYPE_LABELS: Record<DeviceType, string> = {
  ventilator: 'Ventilator',
  'infusion-pump': 'Infusion pump',
  'patient-monitor': 'Patient monitor',
  'imaging-modality': 'Imaging modality',
  pacs: 'PACS / VNA',
  'dicom-workstation': 'DICOM workstation',
  'hl7-interface-engine': 'HL7 interface engine / EHR',
  'lab-analyser': 'Lab analyser',
  'nurse-call': 'Nurse call',
  workstation: 'Workstation',
  server: 'Server',
  printer: 'Printer',
  'network-gear': 'Network equipment',
  iot: 'IoT',
  unknown: 'Unknown',
};

/** Highest first. */
export const CRITICALITIES = ['life-sustaining', 'patient-care', 'clinical-support', 'business'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

export const CRITICALITY_LABELS: Record<Criticality, string> = {
  'life-sustaining': 'Life-sustaining',
  'patient-care': 'Patient care',
  'clinical-support': 'Clinical support',
  business: 'Business',
};

/** Colours of the criticality levels (map nodes and badges), readable on white. */
export const CRITICALITY_COLOURS: Record<Criticality, string> = {
  'life-sustaining': '#b42318',
  'patient-care': '#dc6803',
  'clinical-support': '#1570ef',
  business: '#667085',
};

export const typeLabel = (t: string | null | undefined): string =>
  t ? (TYPE_LABELS[t as DeviceType] ?? t) : '—';
export const criticalityLabel = (c: string | null | undefined): string =>
  c ? (CRITICALITY_LABELS[c as Criticality] ?? c) : '—';

export const SORT_KEYS = ['lastSeen', 'firstSeen', 'name', 'type', 'criticality', 'ip'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface DeviceSummary {
  id: string;
  mac: string | null;
  ip: string | null;
  name: string | null;
  vendor: string | null;
  model: string | null;
  type: string;
  typeConfidence: number;
  criticality: string;
  firstSeen: string;
  lastSeen: string;
  owner: string | null;
  location: string | null;
  manualType: boolean;
  manualCriticality: boolean;
}

export interface DeviceFilter {
  type?: string;
  criticality?: string;
  vendor?: string;
  vlan?: string;
  subnet?: string;
  q?: string;
  sort?: SortKey;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

export interface DeviceList {
  devices: DeviceSummary[];
  total: number;
  counts: {
    byType: Record<string, number>;
    byCriticality: Record<string, number>;
    byVendor: Record<string, number>;
  };
}

export interface DeviceAttribute {
  name: string;
  value: string;
  source: string;
  evidence: string;
  confidence: number;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

export interface AttributeView {
  name: string;
  value: string;
  source: string;
  evidence: string;
  confidence: number;
}

export interface DevicePeer {
  direction: 'out' | 'in';
  peerDeviceId: string | null;
  peerIp: string;
  peerName: string | null;
  peerType: string | null;
  port: number;
  transport: string;
  app: string | null;
  connections: number;
  packets: number;
  bytes: number;
  observations: number;
  firstHour: string;
  lastHour: string;
}

export interface DeviceFinding {
  id: string;
  kind: string;
  severity: string;
  summary: string;
  evidence: Record<string, unknown>;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

export interface ManualView {
  type: string | null;
  criticality: string | null;
  owner: string | null;
  location: string | null;
  notes: string | null;
  updatedBy: string;
  updatedAt: string;
}

export interface DeviceDetail extends DeviceSummary {
  key: string;
  classification: {
    type: string;
    confidence: number;
    rule: string;
    reason: string;
    evidence: AttributeView[];
    detected?: { type: string; confidence: number; rule: string; reason: string };
  };
  criticalityReason: string;
  identity: Record<string, DeviceAttribute[]>;
  protocols: { served: DeviceAttribute[]; used: DeviceAttribute[] };
  peers: DevicePeer[];
  findings: DeviceFinding[];
  manual: ManualView | null;
}

export interface ManualPatch {
  type?: string | null;
  criticality?: string | null;
  owner?: string | null;
  location?: string | null;
  notes?: string | null;
}

export interface ImportSummary {
  rows: number;
  updated: number;
  unchanged: number;
  ignoredColumns: string[];
}

export interface ImportRowError {
  row: number;
  field: string;
  message: string;
}

export interface MapTraffic {
  connections: number;
  packets: number;
  bytes: number;
  observations: number;
}

export interface MapNode extends MapTraffic {
  id: string;
  kind: 'device' | 'external';
  label: string;
  ip: string | null;
  mac: string | null;
  type: string | null;
  criticality: string | null;
  vendor: string | null;
  addresses?: Array<{ ip: string } & MapTraffic>;
  addressCount?: number;
}

export interface MapEdge extends MapTraffic {
  source: string;
  target: string;
  services: string[];
}

export interface DeviceMap {
  from: string | null;
  to: string | null;
  nodes: MapNode[];
  edges: MapEdge[];
  omitted: { nodes: number; edges: number };
}

/** The periods the pages offer, relative to now. */
export const PERIODS = [
  { value: 'hour', label: 'Last hour', ms: 3_600_000 },
  { value: 'day', label: 'Last day', ms: 86_400_000 },
  { value: 'week', label: 'Last week', ms: 7 * 86_400_000 },
  { value: 'all', label: 'All time', ms: 0 },
] as const;
export type Period = (typeof PERIODS)[number]['value'];

/** `from` for a period ending now (undefined for all time). */
export function periodFrom(period: Period, now = Date.now()): string | undefined {
  const p = PERIODS.find((x) => x.value === period);
  return p && p.ms > 0 ? new Date(now - p.ms).toISOString() : undefined;
}

/** Bytes as B, kB, MB, GB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
