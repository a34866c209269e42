/**
 * @module devices/findings
 * Findings the sensor's data raises, as rows and as `devices.finding.*` events: patient data in
 * cleartext, a medical device talking to a public address, a DICOM association from an AE title
 * never seen before. A finding has a stable id from its key, so it is stored and published once
 * however often the bus redelivers or the traffic recurs (later sightings only count).
 */
import { makeEvent, type VigilEvent } from '../core/index.js';
import { stableId } from './values.js';

export const FINDING_KINDS = [
  'cleartext-patient-data',
  'medical-device-public-address',
  'new-ae-title',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** A finding about to be stored. */
export interface FindingDraft {
  id: string;
  kind: FindingKind;
  key: string;
  deviceId: string | null;
  severity: 'high' | 'medium';
  summary: string;
  evidence: Record<string, unknown>;
  time: string;
  count: number;
  net: { srcIp: string; dstIp: string; dstPort: number; proto: string };
  device?: { ip?: string; mac?: string };
}

/** Builds a finding draft with its stable id. */
export function draftFinding(f: Omit<FindingDraft, 'id' | 'count'>): FindingDraft {
  return { ...f, id: stableId('fnd_', f.kind, f.key), count: 1 };
}

/** The event announcing a new finding; its id is the finding's, so republishing is harmless. */
export function findingEvent(f: FindingDraft): VigilEvent {
  const device: { id?: string; ip?: string; mac?: string } = {};
  if (f.deviceId) device.id = f.deviceId;
  if (f.device?.ip) device.ip = f.device.ip;
  if (f.device?.mac) device.mac = f.device.mac;
  return makeEvent({
    id: f.id,
    time: f.time,
    kind: `devices.finding.${f.kind}`,
    source: 'devices',
    severity: f.severity,
    ...(Object.keys(device).length ? { device } : {}),
    net: f.net,
    data: { findingId: f.id, summary: f.summary, evidence: f.evidence },
  });
}
