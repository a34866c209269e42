/** The console's client for alerts and cases (same-origin JSON, CSRF token, as api.ts). */
import { request } from './api.js';
import type {
  ActivityEntry,
  Alert,
  AlertDetail,
  AlertFilter,
  AlertStatus,
  Assignee,
  Case,
  CaseDetail,
  CaseStatus,
  RuleCount,
} from './detect-types.js';

/** `?a=1&b=2` from the parameters that have a value ('' when none do). */
function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const at = (id: string) => encodeURIComponent(id);

export const detectApi = {
  alerts: (filter: AlertFilter): Promise<{ alerts: Alert[]; total: number }> =>
    request('GET', `/api/alerts${query({ ...filter })}`),
  alert: (id: string): Promise<AlertDetail> => request('GET', `/api/alerts/${at(id)}`),
  alertRules: async (): Promise<RuleCount[]> =>
    (await request<{ rules: RuleCount[] }>('GET', '/api/alerts/rules')).rules,
  assignees: async (): Promise<Assignee[]> =>
    (await request<{ people: Assignee[] }>('GET', '/api/alerts/assignees')).people,
  /** Changes many alerts at once (all or none). */
  bulk: async (ids: string[], change: { status?: AlertStatus; assignee?: string | null }): Promise<Alert[]> =>
    (await request<{ alerts: Alert[] }>('POST', '/api/alerts/bulk', { ids, ...change })).alerts,
  alertNote: async (id: string, text: string): Promise<ActivityEntry> =>
    (await request<{ note: ActivityEntry }>('POST', `/api/alerts/${at(id)}/notes`, { text })).note,
  /** Where the filtered alerts download as OCSF Detection Findings. */
  exportUrl: (filter: AlertFilter): string =>
    `/api/alerts/export.ocsf${query({ status: filter.status, level: filter.level, ruleId: filter.ruleId, q: filter.q, assignee: filter.assignee })}`,

  cases: (filter: {
    status?: CaseStatus;
    q?: string;
    limit?: number;
  }): Promise<{ cases: Case[]; total: number }> => request('GET', `/api/cases${query({ ...filter })}`),
  case: (id: string): Promise<CaseDetail> => request('GET', `/api/cases/${at(id)}`),
  createCase: (input: { title: string; alertIds?: string[]; description?: string }): Promise<CaseDetail> =>
    request('POST', '/api/cases', input),
  updateCase: (
    id: string,
    change: { title?: string; status?: CaseStatus; severity?: string; assignee?: string | null },
  ): Promise<CaseDetail> => request('PATCH', `/api/cases/${at(id)}`, change),
  removeFromCase: (id: string, alertId: string): Promise<CaseDetail> =>
    request('DELETE', `/api/cases/${at(id)}/alerts/${at(alertId)}`),
  caseNote: async (id: string, text: string): Promise<ActivityEntry> =>
    (await request<{ note: ActivityEntry }>('POST', `/api/cases/${at(id)}/notes`, { text })).note,
};
