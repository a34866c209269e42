/**
 * @module devices/classify
 * Device type and criticality from the evidence, by explained rules. Each rule reads a device's
 * attributes, and when it matches it names the type, a confidence and the attributes that made it
 * match; the most confident match wins (the earlier rule on a tie), so a weak hint (a NIC vendor)
 * never overrides strong evidence (a DICOM modality). Criticality follows from the type, raised
 * when the device is seen carrying patient data. Pure: no I/O.
 */

/** The kinds of device the inventory tells apart. */
export const DEVICE_TYPES = [
  'imaging-modality',
  'pacs',
  'patient-monitor',
  'infusion-pump',
  'lab-analyser',
  'hl7-interface-engine',
  'workstation',
  'server',
  'network-gear',
  'unknown',
] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const CRITICALITIES = ['life-critical', 'high', 'medium', 'low'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/** Types that are medical devices (the public-address finding watches these). */
export const MEDICAL_TYPES: ReadonlySet<string> = new Set<DeviceType>([
  'imaging-modality',
  'pacs',
  'patient-monitor',
  'infusion-pump',
  'lab-analyser',
]);

/** An attribute as the rules see it. */
export interface AttributeView {
  name: string;
  value: string;
  source: string;
  evidence: string;
  confidence: number;
}

/** Why a device has its type: the rule, in words, and the attributes that matched. */
export interface Classification {
  type: DeviceType;
  confidence: number;
  rule: string;
  reason: string;
  evidence: AttributeView[];
}

export interface CriticalityView {
  level: Criticality;
  rank: number;
  reason: string;
}

interface Rule {
  id: string;
  type: DeviceType;
  confidence: number;
  /** Returns the matching attributes and a reason, or null. */
  match(a: Attrs): { evidence: AttributeView[]; reason: string } | null;
}

/** Attribute lookups for the rules. */
class Attrs {
  constructor(readonly all: readonly AttributeView[]) {}
  of(name: string): AttributeView[] {
    return this.all.filter((a) => a.name === name);
  }
  matching(names: readonly string[], re: RegExp): AttributeView[] {
    return this.all.filter((a) => names.includes(a.name) && re.test(a.value));
  }
}

/** DICOM Modality (0008,0060) values made by acquisition equipment. */
const IMAGING = new Set([
  'CR',
  'CT',
  'MR',
  'NM',
  'US',
  'XA',
  'RF',
  'DX',
  'MG',
  'IO',
  'PX',
  'PT',
  'OP',
  'OPT',
  'ES',
  'XC',
  'RG',
  'BI',
  'DG',
  'GM',
  'SM',
  'IVUS',
  'OCT',
  'ECG',
  'EPS',
  'HD',
  'BMD',
  'LS',
  'TG',
  'IVOCT',
]);
/** Modalities of derived objects, made by workstations and reporting tools. */
const DERIVED = new Set(['SC', 'SR', 'KO', 'PR', 'OT', 'DOC', 'REG', 'SEG', 'RTSTRUCT', 'PLAN']);

const ARCHIVE_SOFTWARE =
  /dcm4che|orthanc|conquest|clearcanvas|pacs|archive|\bvna\b|synapse|centricity|intelerad|enterprise imaging|impax|carestream|sectra|merge/i;
const VIEWER_SOFTWARE = /osirix|horos|radiant|weasis|ginkgo|microdicom|syngo\.via|vitrea/i;
const ENGINE =
  /mirth|rhapsody|cloverleaf|corepoint|ensemble|\biris\b|biztalk|qvera|nextgen connect|interface|engine|\bhie\b/i;
const EHR = /epic|cerner|meditech|allscripts|athena|\behr\b|\bhis\b|\bemr\b|\bris\b/i;
const MONITOR =
  /intellivue|carescape|\bdash\b|\bsolar\b|infinity|mindray|beneview|spacelabs|nihon ?kohden|patient ?monitor|\bmonitor\b|vital ?signs?/i;
const PUMP =
  /alaris|\bsigma\b|spectrum|\bplum\b|baxter|b\.? ?braun|space ?station|medfusion|hospira|icu ?medical|infusion|\bpump\b|guardrails/i;
const LAB =
  /cobas|roche|sysmex|abbott|architect|alinity|beckman|\bdxh\b|atellica|vitros|bio-?rad|radiometer|\babl\d*|\blis\b|laborator|analy[sz]er/i;
const VENDOR_MONITOR =
  /philips (medical|patient monitoring)|dr(ä|ae|a)ger|ge healthcare|datex|mindray|nihon kohden|spacelabs|welch allyn|masimo/i;
const VENDOR_PUMP =
  /baxter|carefusion|becton|hospira|icu medical|b\. ?braun|fresenius|smiths medical|zyno|moog medical/i;
const VENDOR_NETWORK =
  /cisco|juniper|aruba|hewlett packard enterprise|ubiquiti|fortinet|palo alto|extreme networks|ruckus|mikrotik|netgear|arista|brocade|allied telesis|zyxel|tp-link/i;
const SERVICES = /^(ssh|tls|http|dns|smb|rdp|ldap|krb|kerberos|ntp|dhcp|smtp|mysql|postgresql|ftp)\//i;

const HL7_NAMES = ['hl7_sending_application', 'hl7_equipment'] as const;

function distinct(list: AttributeView[]): number {
  return new Set(list.map((a) => a.value)).size;
}

/** The rules, in order of precedence on equal confidence. Each explains itself. */
export const RULES: readonly Rule[] = [
  {
    id: 'intellivue-export',
    type: 'patient-monitor',
    confidence: 0.95,
    match: (a) => {
      const ev = a.of('protocol_served').filter((x) => x.value.startsWith('intellivue/'));
      return ev.length ? { evidence: ev, reason: 'serves Philips IntelliVue data export' } : null;
    },
  },
  {
    id: 'dicom-acquisition-modality',
    type: 'imaging-modality',
    confidence: 0.9,
    match: (a) => {
      const mod = a.of('modality').filter((x) => IMAGING.has(x.value.toUpperCase()));
      const scu = a.of('dicom_role').filter((x) => x.value === 'scu');
      if (!mod.length || !scu.length) return null;
      if (distinct(a.of('dicom_peer_scu')) >= 3) return null; // an archive forwarding others' images
      return {
        evidence: [...mod, ...scu],
        reason: `DICOM SCU sending images with Modality ${[...new Set(mod.map((m) => m.value))].join(', ')}`,
      };
    },
  },
  {
    id: 'dicom-archive-many-senders',
    type: 'pacs',
    confidence: 0.9,
    match: (a) => {
      const store = a.of('dicom_storage_scp');
      const peers = a.of('dicom_peer_scu');
      return store.length && distinct(peers) >= 3
        ? {
            evidence: [...store, ...peers],
            reason: `DICOM storage SCP accepting from ${distinct(peers)} AE titles`,
          }
        : null;
    },
  },
  {
    id: 'hl7-engine-application',
    type: 'hl7-interface-engine',
    confidence: 0.8,
    match: (a) => {
      const ev = a.matching(['hl7_sending_application'], ENGINE);
      return ev.length
        ? { evidence: ev, reason: `sends HL7 as an interface engine (${ev[0]!.value})` }
        : null;
    },
  },
  {
    id: 'hl7-monitor-application',
    type: 'patient-monitor',
    confidence: 0.75,
    match: (a) => {
      const ev = a.matching(HL7_NAMES, MONITOR);
      return ev.length
        ? { evidence: ev, reason: `HL7 from a patient-monitoring system (${ev[0]!.value})` }
        : null;
    },
  },
  {
    id: 'hl7-pump-application',
    type: 'infusion-pump',
    confidence: 0.75,
    match: (a) => {
      const ev = a.matching(HL7_NAMES, PUMP);
      return ev.length ? { evidence: ev, reason: `HL7 from an infusion system (${ev[0]!.value})` } : null;
    },
  },
  {
    id: 'hl7-lab-application',
    type: 'lab-analyser',
    confidence: 0.75,
    match: (a) => {
      const ev = a.matching([...HL7_NAMES, 'manufacturer', 'model'], LAB);
      return ev.length ? { evidence: ev, reason: `laboratory system (${ev[0]!.value})` } : null;
    },
  },
  {
    id: 'l3-gateway',
    type: 'network-gear',
    confidence: 0.8,
    match: (a) => {
      const ev = a.of('l3_gateway');
      return ev.length
        ? { evidence: ev, reason: 'one MAC address carries many IP addresses: a router' }
        : null;
    },
  },
  {
    id: 'dicom-archive-software',
    type: 'pacs',
    confidence: 0.7,
    match: (a) => {
      const scp = a.of('dicom_role').filter((x) => x.value === 'scp');
      const ev = a.matching(['dicom_implementation_version', 'ae_title'], ARCHIVE_SOFTWARE);
      return scp.length && ev.length
        ? { evidence: [...ev, ...scp], reason: `DICOM SCP running archive software (${ev[0]!.value})` }
        : null;
    },
  },
  {
    id: 'hl7-many-peers',
    type: 'hl7-interface-engine',
    confidence: 0.7,
    match: (a) => {
      const sends = a.of('hl7_sending_application');
      const peers = a.of('hl7_peer');
      return sends.length && distinct(peers) >= 3
        ? { evidence: [...sends, ...peers], reason: `exchanges HL7 with ${distinct(peers)} systems` }
        : null;
    },
  },
  {
    id: 'dicom-viewer',
    type: 'workstation',
    confidence: 0.65,
    match: (a) => {
      const ev = [
        ...a.of('modality').filter((x) => DERIVED.has(x.value.toUpperCase())),
        ...a.matching(['model', 'dicom_implementation_version', 'ae_title'], VIEWER_SOFTWARE),
      ];
      const scu = a.of('dicom_role').filter((x) => x.value === 'scu');
      return ev.length && scu.length
        ? {
            evidence: [...ev, ...scu],
            reason: `DICOM workstation: viewer software or derived objects (${ev[0]!.value})`,
          }
        : null;
    },
  },
  {
    id: 'hl7-ehr-application',
    type: 'hl7-interface-engine',
    confidence: 0.6,
    match: (a) => {
      const ev = a.matching(['hl7_sending_application'], EHR);
      return ev.length ? { evidence: ev, reason: `EHR/HIS system sending HL7 (${ev[0]!.value})` } : null;
    },
  },
  {
    id: 'oui-monitor-vendor',
    type: 'patient-monitor',
    confidence: 0.5,
    match: (a) => {
      const ev = a.matching(['vendor'], VENDOR_MONITOR);
      return ev.length
        ? { evidence: ev, reason: `network card from a patient-monitor maker (${ev[0]!.value})` }
        : null;
    },
  },
  {
    id: 'oui-pump-vendor',
    type: 'infusion-pump',
    confidence: 0.5,
    match: (a) => {
      const ev = a.matching(['vendor'], VENDOR_PUMP);
      return ev.length
        ? { evidence: ev, reason: `network card from an infusion-pump maker (${ev[0]!.value})` }
        : null;
    },
  },
  {
    id: 'oui-network-vendor',
    type: 'network-gear',
    confidence: 0.5,
    match: (a) => {
      const ev = a.matching(['vendor'], VENDOR_NETWORK);
      return ev.length
        ? { evidence: ev, reason: `network card from a network-equipment maker (${ev[0]!.value})` }
        : null;
    },
  },
  {
    id: 'dicom-scp',
    type: 'pacs',
    confidence: 0.45,
    match: (a) => {
      const ev = a.of('dicom_storage_scp');
      return ev.length ? { evidence: ev, reason: 'accepts DICOM storage' } : null;
    },
  },
  {
    id: 'browser',
    type: 'workstation',
    confidence: 0.4,
    match: (a) => {
      const ev = [
        ...a.of('software_type').filter((x) => x.value === 'HTTP::BROWSER'),
        ...a.of('user_agent').filter((x) => /Mozilla|Windows NT|Macintosh/.test(x.value)),
      ];
      return ev.length ? { evidence: ev.slice(0, 3), reason: 'runs a web browser' } : null;
    },
  },
  {
    id: 'serves-it-services',
    type: 'server',
    confidence: 0.35,
    match: (a) => {
      const ev = a.all.filter((x) => x.name === 'protocol_served' && SERVICES.test(x.value));
      return ev.length
        ? {
            evidence: ev.slice(0, 5),
            reason: `serves ${ev
              .slice(0, 3)
              .map((x) => x.value)
              .join(', ')}`,
          }
        : null;
    },
  },
];

/** Classifies a device from its attributes. */
export function classify(attributes: readonly AttributeView[]): Classification {
  const a = new Attrs(attributes);
  let best: Classification | null = null;
  for (const rule of RULES) {
    if (best && rule.confidence <= best.confidence) continue;
    const m = rule.match(a);
    if (m)
      best = {
        type: rule.type,
        confidence: rule.confidence,
        rule: rule.id,
        reason: m.reason,
        evidence: m.evidence,
      };
  }
  return (
    best ?? {
      type: 'unknown',
      confidence: 0,
      rule: 'none',
      reason: 'no rule matched the evidence yet',
      evidence: [],
    }
  );
}

const BY_TYPE: Record<DeviceType, { level: Criticality; reason: string }> = {
  'patient-monitor': {
    level: 'life-critical',
    reason: 'patient monitors raise the alarms that keep patients alive',
  },
  'infusion-pump': {
    level: 'life-critical',
    reason: 'infusion pumps deliver drugs: a fault harms a patient directly',
  },
  'imaging-modality': {
    level: 'high',
    reason: 'imaging modalities: diagnosis and treatment wait when they stop',
  },
  pacs: { level: 'high', reason: 'the image archive: every radiology reading depends on it' },
  'lab-analyser': { level: 'high', reason: 'lab results drive treatment decisions' },
  'hl7-interface-engine': { level: 'high', reason: 'clinical messages between systems flow through it' },
  'network-gear': { level: 'medium', reason: 'network equipment: an outage cuts other devices off' },
  server: { level: 'medium', reason: 'an IT server' },
  workstation: { level: 'medium', reason: 'a workstation' },
  unknown: { level: 'low', reason: 'not identified yet' },
};

const RANK: Record<Criticality, number> = { 'life-critical': 4, high: 3, medium: 2, low: 1 };

/** Criticality from the type, raised to high when the device is seen sending patient data. */
export function criticalityOf(type: DeviceType, attributes: readonly AttributeView[]): CriticalityView {
  const base = BY_TYPE[type];
  const patient = attributes.filter((a) => a.name === 'patient_data_sent');
  if (RANK[base.level] < RANK.high && patient.length)
    return {
      level: 'high',
      rank: RANK.high,
      reason: `${base.reason}; sends patient data (${patient.map((p) => p.value).join(', ')})`,
    };
  return { level: base.level, rank: RANK[base.level], reason: base.reason };
}

/** Rank of a criticality (4 life-critical … 1 low). */
export function criticalityRank(level: Criticality): number {
  return RANK[level];
}
