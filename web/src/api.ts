/**
 * The console's HTTP client. Same-origin JSON with the session cookie; every state-changing call
 * carries the CSRF token that the last session answer gave (kept in memory only, never stored).
 */
import type {
  AccessBlock,
  AccessDecision,
  ApiToken,
  DecisionFilter,
  EnrollConfirm,
  EnrollStart,
  EventFilter,
  GatewaySession,
  NewUser,
  Overview,
  Role,
  Session,
  User,
  VigilEvent,
} from './types.js';

/** An error answer from the server, or a network failure (`code` NETWORK). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly requestId: string | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    details?: Record<string, unknown>,
    requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }

  /** Seconds to wait before retrying, when the server said (429, 423). */
  get retryAfterSeconds(): number | undefined {
    const value = this.details?.retryAfterSeconds;
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  }
}

/** Codes after which the console must ask the server where the session stands. */
const SESSION_CODES = new Set(['UNAUTHENTICATED', 'MFA_REQUIRED', 'PASSWORD_CHANGE_REQUIRED']);

/** Fired on `window` when an API call shows that the session ended or needs a step first. */
export const SESSION_LOST_EVENT = 'vigil:session-lost';

let csrfToken: string | undefined;

function remember(session: Session): Session {
  csrfToken = session.csrfToken;
  return session;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const err = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  if (err && typeof err.message === 'string') {
    let details = isRecord(err.details) ? err.details : undefined;
    // Rate limiting may only say when to retry in the standard header.
    const retryHeader = Number(res.headers.get('retry-after'));
    if (details?.retryAfterSeconds === undefined && retryHeader > 0) {
      details = { ...details, retryAfterSeconds: retryHeader };
    }
    return new ApiError(
      res.status,
      typeof err.code === 'string' ? err.code : 'ERROR',
      err.message,
      details,
      typeof err.requestId === 'string' ? err.requestId : undefined,
    );
  }
  return new ApiError(res.status, 'HTTP_ERROR', `The server answered with an error (HTTP ${res.status}).`);
}

async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Cannot reach the Vigil server. Check the connection and try again.');
  }
  if (!res.ok) {
    const error = await toApiError(res);
    if (SESSION_CODES.has(error.code) && !path.startsWith('/api/auth/')) {
      window.dispatchEvent(new CustomEvent(SESSION_LOST_EVENT, { detail: error }));
    }
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A message fit to show a person, with the wait time when the server named one. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const wait = err.retryAfterSeconds;
    if (wait !== undefined && wait > 0) {
      const when = wait >= 90 ? `${Math.ceil(wait / 60)} minutes` : `${Math.ceil(wait)} seconds`;
      const sentence = /[.!?]$/.test(err.message) ? err.message : `${err.message}.`;
      return `${sentence} Try again in about ${when}.`;
    }
    return err.message;
  }
  return 'Something went wrong. Please try again.';
}

/** `?a=1&b=2` from the parameters that have a value ('' when none do). */
function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const api = {
  session: async (): Promise<Session> => remember(await request<Session>('GET', '/api/auth/session')),
  login: async (username: string, password: string): Promise<Session> =>
    remember(await request<Session>('POST', '/api/auth/login', { username, password })),
  changePassword: async (currentPassword: string, newPassword: string): Promise<Session> =>
    remember(await request<Session>('POST', '/api/auth/password', { currentPassword, newPassword })),
  enrollStart: (): Promise<EnrollStart> => request<EnrollStart>('POST', '/api/auth/mfa/enroll/start'),
  enrollConfirm: async (code: string): Promise<EnrollConfirm> => {
    const answer = await request<EnrollConfirm>('POST', '/api/auth/mfa/enroll/confirm', { code });
    remember(answer);
    return answer;
  },
  verifyMfa: async (code: string): Promise<Session> =>
    remember(await request<Session>('POST', '/api/auth/mfa/verify', { code })),
  logout: async (): Promise<void> => {
    try {
      await request<void>('POST', '/api/auth/logout');
    } finally {
      csrfToken = undefined;
    }
  },

  overview: (): Promise<Overview> => request<Overview>('GET', '/api/overview'),

  users: async (): Promise<User[]> => (await request<{ users: User[] }>('GET', '/api/users')).users,
  createUser: (input: NewUser): Promise<{ user: User; oneTimePassword: string }> =>
    request('POST', '/api/users', input),
  disableUser: async (id: string): Promise<User> =>
    (await request<{ user: User }>('POST', `/api/users/${encodeURIComponent(id)}/disable`)).user,
  enableUser: async (id: string): Promise<User> =>
    (await request<{ user: User }>('POST', `/api/users/${encodeURIComponent(id)}/enable`)).user,
  resetMfa: async (id: string): Promise<User> =>
    (await request<{ user: User }>('POST', `/api/users/${encodeURIComponent(id)}/reset-mfa`)).user,

  tokens: async (): Promise<ApiToken[]> =>
    (await request<{ tokens: ApiToken[] }>('GET', '/api/tokens')).tokens,
  createToken: (name: string, role: Role): Promise<{ token: ApiToken; secret: string }> =>
    request('POST', '/api/tokens', { name, role }),
  revokeToken: (id: string): Promise<void> =>
    request<void>('DELETE', `/api/tokens/${encodeURIComponent(id)}`),

  events: async (filter: EventFilter): Promise<VigilEvent[]> =>
    (
      await request<{ events: VigilEvent[] }>(
        'GET',
        `/api/events${query({ limit: filter.limit, kind: filter.kind })}`,
      )
    ).events,

  accessDecisions: async (filter: DecisionFilter): Promise<AccessDecision[]> =>
    (
      await request<{ decisions: AccessDecision[] }>(
        'GET',
        `/api/access/decisions${query({ limit: filter.limit, decision: filter.decision, userId: filter.userId })}`,
      )
    ).decisions,
  accessSessions: async (): Promise<GatewaySession[]> =>
    (await request<{ sessions: GatewaySession[] }>('GET', '/api/access/sessions')).sessions,
  revokeAccessSession: (id: string): Promise<void> =>
    request<void>('POST', `/api/access/sessions/${encodeURIComponent(id)}/revoke`),
  accessBlocks: async (): Promise<AccessBlock[]> =>
    (await request<{ blocks: AccessBlock[] }>('GET', '/api/access/blocks')).blocks,
  blockAddress: (cidr: string, reason: string): Promise<AccessBlock> =>
    request<AccessBlock>('POST', '/api/access/blocks', { cidr, reason }),
};
