/**
 * Alerts as OCSF (Open Cybersecurity Schema Framework) 1.3 Detection Findings: class 2004 in the
 * Findings category (2). The activity follows the alert's state (Create while new, Update once
 * worked on, Close when resolved or a false positive); the status maps new → New, acknowledged →
 * In Progress, false positive → Suppressed ("benign or a false positive"), resolved → Resolved.
 * ATT&CK tags (`attack.t1110.001`, `attack.credential-access`) become `finding_info.attacks`, the
 * rule is the analytic, and kept evidence goes into `evidences[].data`. Vigil-only fields
 * (entity, tags, assignee, case) are under `unmapped`.
 */
import type { Alert, AlertDetail } from '../alerts/store.js';
import type { ProductInfo } from './types.js';

export const OCSF_VERSION = '1.3.0';

const SEVERITY: Record<string, [number, string]> = {
  informational: [1, 'Informational'],
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};
const STATUS: Record<string, [number, string]> = {
  new: [1, 'New'],
  acknowledged: [2, 'In Progress'],
  'false-positive': [3, 'Suppressed'],
  resolved: [4, 'Resolved'],
};
const ACTIVITY: Record<number, string> = { 1: 'Create', 2: 'Update', 3: 'Close' };

/** ATT&CK Enterprise and ICS tactics by their Sigma tag name (ICS ids where only ICS has the tactic). */
const TACTICS: Record<string, [string, string]> = {
  reconnaissance: ['TA0043', 'Reconnaissance'],
  'resource-development': ['TA0042', 'Resource Development'],
  'initial-access': ['TA0001', 'Initial Access'],
  execution: ['TA0002', 'Execution'],
  persistence: ['TA0003', 'Persistence'],
  'privilege-escalation': ['TA0004', 'Privilege Escalation'],
  'defense-evasion': ['TA0005', 'Defense Evasion'],
  'credential-access': ['TA0006', 'Credential Access'],
  discovery: ['TA0007', 'Discovery'],
  'lateral-movement': ['TA0008', 'Lateral Movement'],
  collection: ['TA0009', 'Collection'],
  'command-and-control': ['TA0011', 'Command and Control'],
  exfiltration: ['TA0010', 'Exfiltration'],
  impact: ['TA0040', 'Impact'],
  'inhibit-response-function': ['TA0107', 'Inhibit Response Function'],
  'impair-process-control': ['TA0106', 'Impair Process Control'],
};

/** ATT&CK techniques and tactics named by Sigma tags. */
export function attacksOf(tags: readonly string[]): Array<Record<string, unknown>> {
  const tactics = tags
    .map((t) => /^attack\.([a-z-]+)$/i.exec(t)?.[1]?.toLowerCase())
    .flatMap((t) => (t && TACTICS[t] ? [TACTICS[t]] : []));
  const techniques = tags.flatMap((t) => {
    const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t);
    return m ? [m[1]!.toUpperCase()] : [];
  });
  const tactic = tactics[0] ? { uid: tactics[0][0], name: tactics[0][1] } : undefined;
  if (!techniques.length) return tactics.map(([uid, name]) => ({ tactic: { uid, name } }));
  return techniques.map((uid) => ({
    technique: { uid, src_url: `https://attack.mitre.org/techniques/${uid.replace('.', '/')}/` },
    ...(tactic ? { tactic } : {}),
  }));
}

/** The OCSF activity of an alert's state: 1 Create (new), 2 Update (being worked), 3 Close. */
export function activityOf(alert: Pick<Alert, 'status'>): number {
  return alert.status === 'new' ? 1 : alert.status === 'acknowledged' ? 2 : 3;
}

/** One alert as an OCSF Detection Finding. */
export function toDetectionFinding(
  alert: Alert | AlertDetail,
  product: ProductInfo,
): Record<string, unknown> {
  const activity = activityOf(alert);
  const [severityId, severity] = SEVERITY[alert.level] ?? [99, alert.level];
  const [statusId, status] = STATUS[alert.status] ?? [99, alert.status];
  const ms = (iso: string) => Date.parse(iso);
  const evidence = 'evidence' in alert ? alert.evidence : [];
  const attacks = attacksOf(alert.tags);
  return {
    activity_id: activity,
    activity_name: ACTIVITY[activity],
    category_uid: 2,
    category_name: 'Findings',
    class_uid: 2004,
    class_name: 'Detection Finding',
    type_uid: 2004 * 100 + activity,
    type_name: `Detection Finding: ${ACTIVITY[activity]}`,
    severity_id: severityId,
    severity,
    status_id: statusId,
    status,
    time: ms(alert.createdAt),
    start_time: ms(alert.firstSeen),
    end_time: ms(alert.lastSeen),
    count: alert.count,
    is_alert: activity !== 3,
    message: alert.entity ? `${alert.ruleTitle} (${alert.entity})` : alert.ruleTitle,
    finding_info: {
      uid: alert.id,
      title: alert.ruleTitle,
      created_time: ms(alert.createdAt),
      modified_time: ms(alert.updatedAt),
      first_seen_time: ms(alert.firstSeen),
      last_seen_time: ms(alert.lastSeen),
      analytic: { uid: alert.ruleId, name: alert.ruleTitle, type_id: 1, type: 'Rule' },
      ...(attacks.length ? { attacks } : {}),
      related_events: alert.eventIds.map((uid) => ({ uid })),
    },
    metadata: {
      version: OCSF_VERSION,
      uid: alert.id,
      product: { name: product.name, vendor_name: product.vendor, version: product.version },
      logged_time: ms(alert.createdAt),
      modified_time: ms(alert.updatedAt),
    },
    ...(evidence.length ? { evidences: evidence.map((data) => ({ data })) } : {}),
    unmapped: {
      entity: alert.entity,
      tags: alert.tags,
      level: alert.level,
      assignee: alert.assignee,
      case_id: alert.caseId,
      dedup_key: alert.dedupKey,
    },
  };
}
