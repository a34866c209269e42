/**
 * @module devices/manual
 * Type and criticality of a device from its evidence and what a person set by hand. Detection
 * proposes (rules over the attributes); a manual type or criticality, when set, wins and is kept
 * apart (`devices_manual`), so every re-detection derives the same answer again instead of
 * overwriting the edit. The detected classification stays visible beside the manual one. Pure.
 */
import {
  type AttributeView,
  type Classification,
  type Classifier,
  CRITICALITIES,
  type Criticality,
  criticalityOf,
  criticalityRank,
  DEVICE_TYPES,
  type DeviceType,
} from './classify.js';
import type { DeviceRow, ManualRow } from './tables.js';

/** The stored reason of a device's type: the rule, and when a person decided, what detection said. */
export interface TypeReason {
  rule: string;
  reason: string;
  evidence: AttributeView[];
  /** Present when the type was set by hand: the classification detection would give. */
  detected?: { type: string; confidence: number; rule: string; reason: string };
}

/** The columns of `devices` that type and criticality decide. */
export type Derived = Pick<
  DeviceRow,
  'type' | 'type_confidence' | 'type_reason' | 'criticality' | 'criticality_rank' | 'criticality_reason'
>;

export function isDeviceType(v: unknown): v is DeviceType {
  return typeof v === 'string' && (DEVICE_TYPES as readonly string[]).includes(v);
}

export function isCriticality(v: unknown): v is Criticality {
  return typeof v === 'string' && (CRITICALITIES as readonly string[]).includes(v);
}

function setBy(m: Pick<ManualRow, 'updated_by' | 'updated_at'>): string {
  return `set by ${m.updated_by} on ${m.updated_at.slice(0, 10)}`;
}

/** Type and criticality columns from the attributes and the manual row (if any). */
export function derive(
  attributes: readonly AttributeView[],
  manual: Pick<ManualRow, 'type' | 'criticality' | 'updated_by' | 'updated_at'> | undefined,
  classifier: Classifier,
): Derived {
  const c: Classification = classifier.classify(attributes);
  let type: DeviceType = c.type;
  let confidence = c.confidence;
  let reason: TypeReason = { rule: c.rule, reason: c.reason, evidence: c.evidence };
  if (manual && isDeviceType(manual.type)) {
    type = manual.type;
    confidence = 1;
    reason = {
      rule: 'manual',
      reason: `Type ${setBy(manual)}`,
      evidence: c.evidence,
      detected: { type: c.type, confidence: c.confidence, rule: c.rule, reason: c.reason },
    };
  }
  let crit = criticalityOf(type, attributes);
  if (manual && isCriticality(manual.criticality))
    crit = {
      level: manual.criticality,
      rank: criticalityRank(manual.criticality),
      reason: `Criticality ${setBy(manual)} (detection: ${crit.level}, ${crit.reason})`,
    };
  return {
    type,
    type_confidence: confidence,
    type_reason: JSON.stringify(reason),
    criticality: crit.level,
    criticality_rank: crit.rank,
    criticality_reason: crit.reason,
  };
}
