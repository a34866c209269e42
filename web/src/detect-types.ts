/** Types of the alerts and cases API (detection), as the console uses them. */

export const ALERT_STATUSES = ['new', 'acknowledged', 'resolved', 'false-positive'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export const ALERT_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type AlertLevel = (typeof ALERT_LEVELS)[number];
export const CASE_STATUSES = ['open', 'in-progress', 'closed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export const STATUS_LABELS: Record<AlertStatus, string> = {
  new: 'New',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  'false-positive': 'False positive',
};
export const CASE_STATUS_LABELS: Record<CaseStatus, string> = {
  open: 'Open',
  'in-progress': 'In progress',
  closed: 'Closed',
};

export interface Alert {
  id: string;
  time: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  tags: string[];
  entity: string;
  eventIds: string[];
  dedupKey: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  status: AlertStatus;
  statusChangedAt: string | null;
  statusChangedBy: string | null;
  assignee: string | null;
  caseId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ActivityEntry {
  id: string;
  time: string;
  actor: { id: string; name: string } | null;
  action: string;
  detail: Record<string, unknown>;
}

export interface AlertDetail extends Alert {
  evidence: unknown[];
  timeline: ActivityEntry[];
}

export interface AlertFilter {
  /** Comma-separated statuses. */
  status?: string;
  level?: string;
  ruleId?: string;
  q?: string;
  assignee?: string;
  caseId?: string;
  limit?: number;
  offset?: number;
}

export interface Case {
  id: string;
  title: string;
  description: string;
  severity: AlertLevel;
  severityAuto: boolean;
  status: CaseStatus;
  assignee: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  alertCount: number;
}

export interface CaseDetail extends Case {
  alerts: Alert[];
  timeline: ActivityEntry[];
}

export interface Assignee {
  id: string;
  username: string;
  displayName: string;
  role: string;
}

export interface RuleCount {
  ruleId: string;
  ruleTitle: string;
  alerts: number;
}

/** The ATT&CK techniques and tactics of Sigma tags (`attack.t1110.001`, `attack.credential-access`). */
export function attackOf(tags: readonly string[]): {
  techniques: string[];
  tactics: string[];
  other: string[];
} {
  const techniques: string[] = [];
  const tactics: string[] = [];
  const other: string[] = [];
  for (const t of tags) {
    const tech = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t);
    if (tech) techniques.push(tech[1]!.toUpperCase());
    else if (/^attack\.[a-z-]+$/i.test(t)) tactics.push(t.slice(7).replace(/-/g, ' '));
    else other.push(t);
  }
  return { techniques, tactics, other };
}

/** The ATT&CK page of a technique id (T1110.001 → techniques/T1110/001). */
export function attackUrl(technique: string): string {
  return `https://attack.mitre.org/techniques/${technique.replace('.', '/')}/`;
}
