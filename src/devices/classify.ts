/**
 * @module devices/classify
 * Device type and criticality from the evidence, by explained rules. The rules are data
 * (content/devices/classification.yml and a user file, loaded by classification-file.ts); each
 * reads a device's attributes and, when it matches, names the type, a confidence and the
 * attributes that made it match. The most confident match wins (the earlier rule on a tie), so a
 * weak hint (a NIC vendor) never overrides strong evidence (a DICOM modality). Criticality follows
 * from the type, raised when the device is seen carrying patient data. Pure: no I/O.
 */

/** The kinds of device the inventory tells apart. */
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

/** From the highest: keeps a patient alive; cares for patients; supports care; business only. */
export const CRITICALITIES = ['life-sustaining', 'patient-care', 'clinical-support', 'business'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/** Types that are medical devices (the public-address finding watches these). */
export const MEDICAL_TYPES: ReadonlySet<string> = new Set<DeviceType>([
  'ventilator',
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

/** A rule ready to run: it returns the matching attributes and a reason, or null. */
export interface CompiledRule {
  id: string;
  type: DeviceType;
  confidence: number;
  match(all: readonly AttributeView[]): { evidence: AttributeView[]; reason: string } | null;
}

/** Classifies devices with a list of rules, in order of precedence on equal confidence. */
export class Classifier {
  constructor(readonly rules: readonly CompiledRule[]) {}

  /** The most confident matching rule's type (the earlier rule on a tie), or `unknown`. */
  classify(attributes: readonly AttributeView[]): Classification {
    let best: Classification | null = null;
    for (const rule of this.rules) {
      if (best && rule.confidence <= best.confidence) continue;
      const m = rule.match(attributes);
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
}

/** Criticality of each type, with the reason shown beside it. */
export const CRITICALITY_BY_TYPE: Readonly<Record<DeviceType, { level: Criticality; reason: string }>> = {
  ventilator: {
    level: 'life-sustaining',
    reason: 'ventilators breathe for patients: a fault harms a patient within minutes',
  },
  'infusion-pump': {
    level: 'life-sustaining',
    reason: 'infusion pumps deliver drugs: a fault harms a patient directly',
  },
  'patient-monitor': {
    level: 'life-sustaining',
    reason: 'patient monitors raise the alarms that keep patients alive',
  },
  'imaging-modality': {
    level: 'patient-care',
    reason: 'imaging modalities: diagnosis and treatment wait when they stop',
  },
  pacs: { level: 'patient-care', reason: 'the image archive: every radiology reading depends on it' },
  'dicom-workstation': {
    level: 'patient-care',
    reason: 'DICOM workstations: where images are read and reported',
  },
  'lab-analyser': { level: 'patient-care', reason: 'lab results drive treatment decisions' },
  'hl7-interface-engine': {
    level: 'patient-care',
    reason: 'HL7 engines and EHR servers: clinical messages and records flow through them',
  },
  'nurse-call': { level: 'patient-care', reason: 'nurse call: how patients and alarms reach the staff' },
  'network-gear': {
    level: 'clinical-support',
    reason: 'network equipment: an outage cuts clinical devices off',
  },
  server: { level: 'clinical-support', reason: 'an IT server: clinical services may run on it' },
  workstation: {
    level: 'clinical-support',
    reason: 'a workstation: rated as used clinically until a person says it is an office one',
  },
  printer: { level: 'business', reason: 'a printer: care goes on without it' },
  iot: { level: 'business', reason: 'an IoT device (camera, speaker, building sensor): not part of care' },
  unknown: { level: 'business', reason: 'not identified yet' },
};

const RANK: Record<Criticality, number> = {
  'life-sustaining': 4,
  'patient-care': 3,
  'clinical-support': 2,
  business: 1,
};

/** Criticality from the type, raised to patient-care when the device is seen sending patient data. */
export function criticalityOf(type: DeviceType, attributes: readonly AttributeView[]): CriticalityView {
  const base = CRITICALITY_BY_TYPE[type];
  const patient = attributes.filter((a) => a.name === 'patient_data_sent');
  if (RANK[base.level] < RANK['patient-care'] && patient.length)
    return {
      level: 'patient-care',
      rank: RANK['patient-care'],
      reason: `${base.reason}; sends patient data (${patient.map((p) => p.value).join(', ')})`,
    };
  return { level: base.level, rank: RANK[base.level], reason: base.reason };
}

/** Rank of a criticality (4 life-sustaining … 1 business). */
export function criticalityRank(level: Criticality): number {
  return RANK[level];
}
