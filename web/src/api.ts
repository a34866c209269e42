/**
 * The console's HTTP client. Same-origin JSON with the session cookie; every state-changing call
 * carries the CSRF token that the last session answer gave (kept in memory only, never stored).
 */
import type {
  AccessBlock,
  AccessDecision,
  ApiToken,
  AuditCheckpoint,
  AuditFilter,
  AuditPage,
  BreakGlassGrant,
  DecisionFilter,
  EnrollConfirm,
  EnrollStart,
  EventFilter,
  FhirAuditEvent,
  FhirBinary,
  FhirDocumentReference,
  FhirPatient,
  GatewaySession,
  NewUser,
  Overview,
  Role,
  Session,
  StaffLink,
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

/** The extension of an OperationOutcome issue that says break-the-glass would allow the request. */
const BREAK_GLASS_POSSIBLE = 'urn:vigil:fhir:break-glass-possible';

/** The Vigil error inside a FHIR OperationOutcome (the FHIR routes answer errors so). */
function fromOperationOutcome(status: number, body: Record<string, unknown>): ApiError | undefined {
  const issue = Array.isArray(body.issue) && isRecord(body.issue[0]) ? body.issue[0] : undefined;
  const detail = issue && isRecord(issue.details) ? issue.details : undefined;
  if (!detail || typeof detail.text !== 'string') return undefined;
  const coding = Array.isArray(detail.coding) && isRecord(detail.coding[0]) ? detail.coding[0] : undefined;
  const breakGlass =
    Array.isArray(issue?.extension) &&
    issue.extension.some(
      (e: unknown) => isRecord(e) && e.url === BREAK_GLASS_POSSIBLE && e.valueBoolean === true,
    );
  const requestId =
    typeof issue?.diagnostics === 'string' ? issue.diagnostics.replace(/^request /, '') : undefined;
  return new ApiError(
    status,
    typeof coding?.code === 'string' ? coding.code : 'ERROR',
    detail.text,
    breakGlass ? { breakGlassPossible: true } : undefined,
    requestId,
  );
}

/** An error answer as an ApiError, from its parsed body (either API's shape) and Retry-After. */
function apiErrorOf(status: number, body: unknown, retryAfter: string | null): ApiError {
  if (isRecord(body) && body.resourceType === 'OperationOutcome') {
    const fhir = fromOperationOutcome(status, body);
    if (fhir) return fhir;
  }
  const err = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  if (err && typeof err.message === 'string') {
    let details = isRecord(err.details) ? err.details : undefined;
    // Rate limiting may only say when to retry in the standard header.
    const retryHeader = Number(retryAfter);
    if (details?.retryAfterSeconds === undefined && retryHeader > 0) {
      details = { ...details, retryAfterSeconds: retryHeader };
    }
    return new ApiError(
      status,
      typeof err.code === 'string' ? err.code : 'ERROR',
      err.message,
      details,
      typeof err.requestId === 'string' ? err.requestId : undefined,
    );
  }
  return new ApiError(status, 'HTTP_ERROR', `The server answered with an error (HTTP ${status}).`);
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  return apiErrorOf(res.status, body, res.headers.get('retry-after'));
}

function lostSession(error: ApiError, path: string): void {
  if (SESSION_CODES.has(error.code) && !path.startsWith('/api/auth/')) {
    window.dispatchEvent(new CustomEvent(SESSION_LOST_EVENT, { detail: error }));
  }
}

const FHIR_JSON = 'application/fhir+json';

/** One same-origin JSON request with the CSRF token (also used by detect-api.ts). */
export async function request<T>(
  method: Method,
  path: string,
  body?: unknown,
  type = 'application/json',
): Promise<T> {
  const headers: Record<string, string> = { Accept: type };
  if (body !== undefined) headers['Content-Type'] = type;
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
    lostSession(error, path);
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

/** The file types the server accepts by default, by media type, with the extensions that name them. */
export const DOCUMENT_TYPES: ReadonlyArray<{ type: string; label: string; extensions: readonly string[] }> = [
  { type: 'application/pdf', label: 'PDF', extensions: ['pdf'] },
  { type: 'image/png', label: 'PNG image', extensions: ['png'] },
  { type: 'image/jpeg', label: 'JPEG image', extensions: ['jpg', 'jpeg'] },
  { type: 'text/plain', label: 'Plain text', extensions: ['txt'] },
  { type: 'application/dicom', label: 'DICOM', extensions: ['dcm', 'dicom'] },
];

/** A file's media type: what the browser says, or from its extension (browsers know no DICOM). */
export function fileTypeOf(file: { name: string; type: string }): string {
  if (file.type) return file.type.toLowerCase();
  const ext = file.name.toLowerCase().split('.').pop() ?? '';
  return DOCUMENT_TYPES.find((t) => t.extensions.includes(ext))?.type ?? 'application/octet-stream';
}

/** Where a stored file is downloaded from (the server answers it as an attachment). */
export function binaryUrl(binaryId: string): string {
  return `/fhir/Binary/${encodeURIComponent(binaryId)}`;
}

/**
 * Uploads a file for a patient as a FHIR Binary with XMLHttpRequest, which (unlike fetch) reports
 * upload progress. The body is the file itself, streamed by the browser; `signal` cancels.
 */
function uploadBinary(
  file: File,
  patientId: string,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<FhirBinary> {
  const path = `/fhir/Binary?patient=${encodeURIComponent(patientId)}`;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Content-Type', fileTypeOf(file));
    xhr.setRequestHeader('Accept', FHIR_JSON);
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status === 201 && isRecord(body) && body.resourceType === 'Binary') {
        resolve(body as unknown as FhirBinary);
        return;
      }
      const error = apiErrorOf(xhr.status, body, xhr.getResponseHeader('retry-after'));
      lostSession(error, path);
      reject(error);
    };
    xhr.onerror = () =>
      reject(
        new ApiError(
          0,
          'NETWORK',
          'The upload was cut off. Check the connection; a very large file may also be over the server’s limit.',
        ),
      );
    xhr.onabort = () => reject(new ApiError(0, 'ABORTED', 'The upload was cancelled.'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

function entriesOf<T>(bundle: { entry?: Array<{ resource?: T }> }): T[] {
  return (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
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

/** The AuditEvent search for a filter: `date` twice for a range (ge the first day, le the last). */
function auditSearchPath(filter: AuditFilter, count: number): string {
  const search = new URLSearchParams({ _count: String(count) });
  if (filter.agent) search.set('agent', filter.agent);
  if (filter.patient) search.set('patient', filter.patient);
  if (filter.action) search.set('action', filter.action);
  if (filter.from) search.append('date', `ge${filter.from}`);
  if (filter.to) search.append('date', `le${filter.to}`);
  return `/fhir/AuditEvent?${search.toString()}`;
}

const AUDIT_SEARCH = '/fhir/AuditEvent';

/**
 * A searchset page of AuditEvents. The server writes its next link as an absolute URL (its own idea
 * of its host, which a proxy may change): only its path and query are kept, always same-origin.
 */
async function auditPage(path: string): Promise<AuditPage> {
  const bundle = await request<{
    entry?: Array<{ resource?: FhirAuditEvent }>;
    link?: Array<{ relation?: string; url?: string }>;
  }>('GET', path, undefined, FHIR_JSON);
  const link = bundle.link?.find((l) => l.relation === 'next')?.url;
  let next: string | undefined;
  if (link) {
    const url = new URL(link, window.location.origin);
    if (url.pathname === AUDIT_SEARCH) next = `${url.pathname}${url.search}`;
  }
  return { events: entriesOf(bundle), next };
}

/** The day after a YYYY-MM-DD day, or undefined when it is not a real day. */
function dayAfter(day: string): string | undefined {
  const time = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(time)) return undefined;
  return new Date(time + 86_400_000).toISOString().slice(0, 10);
}

/** Most checkpoint pages read to find the latest (1,000 each). */
const CHECKPOINT_PAGES = 20;

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

  /** Patients whose name has this whole part; the server answers only those the caller may see. */
  searchPatients: async (name: string): Promise<FhirPatient[]> =>
    entriesOf(
      await request<{ entry?: Array<{ resource?: FhirPatient }> }>(
        'GET',
        `/fhir/Patient${query({ name, _count: 50 })}`,
        undefined,
        FHIR_JSON,
      ),
    ),
  /** One patient by record id (403 with `breakGlassPossible` when outside the caller's care). */
  readPatient: (id: string): Promise<FhirPatient> =>
    request<FhirPatient>('GET', `/fhir/Patient/${encodeURIComponent(id)}`, undefined, FHIR_JSON),
  /** Declares an emergency for one patient: time-limited access, audited and reviewed. */
  declareBreakGlass: async (patientId: string, reason: string): Promise<BreakGlassGrant> =>
    (await request<{ grant: BreakGlassGrant }>('POST', '/api/vault/break-glass', { patientId, reason }))
      .grant,
  /** A patient's documents, newest first. */
  patientDocuments: async (patientId: string): Promise<FhirDocumentReference[]> =>
    entriesOf(
      await request<{ entry?: Array<{ resource?: FhirDocumentReference }> }>(
        'GET',
        `/fhir/DocumentReference${query({ patient: patientId, _sort: '-date', _count: 200 })}`,
        undefined,
        FHIR_JSON,
      ),
    ),
  uploadBinary,
  /** A document for an uploaded file; the server adds its size and hashes. */
  createDocument: (input: {
    patientId: string;
    binary: FhirBinary;
    title: string;
    typeCode: string;
    typeLabel: string;
  }): Promise<FhirDocumentReference> =>
    request<FhirDocumentReference>(
      'POST',
      '/fhir/DocumentReference',
      {
        resourceType: 'DocumentReference',
        status: 'current',
        subject: { reference: `Patient/${input.patientId}` },
        type: {
          coding: [{ system: 'http://loinc.org', code: input.typeCode, display: input.typeLabel }],
          text: input.typeLabel,
        },
        date: new Date().toISOString(),
        content: [
          {
            attachment: {
              url: `Binary/${input.binary.id}`,
              contentType: input.binary.contentType,
              title: input.title,
              creation: new Date().toISOString(),
            },
          },
        ],
      },
      FHIR_JSON,
    ),

  /** Break-the-glass grants made since `since` (ISO), newest first (privacy officers). Audited. */
  breakGlassGrants: async (since: string, limit: number): Promise<BreakGlassGrant[]> =>
    (await request<{ grants: BreakGlassGrant[] }>('GET', `/api/vault/break-glass${query({ since, limit })}`))
      .grants,
  /** The first page of the audit trail as FHIR AuditEvents, newest first (privacy officers). */
  auditEvents: (filter: AuditFilter, count = 50): Promise<AuditPage> =>
    auditPage(auditSearchPath(filter, count)),
  /** The page after, from the `next` of the page before. */
  auditEventsNext: async (next: string): Promise<AuditPage> => {
    if (!next.startsWith(`${AUDIT_SEARCH}?`)) throw new ApiError(0, 'BAD_REQUEST', 'Not an audit search.');
    return auditPage(next);
  },
  /** Where the audit trail downloads as NDJSON for the days from..to (UTC, both inclusive). */
  auditExportUrl: (filter: Pick<AuditFilter, 'from' | 'to'>): string =>
    `/api/vault/audit/export${query({ since: filter.from, until: filter.to ? dayAfter(filter.to) : undefined })}`,
  /** Where the public key that verifies the signed checkpoints downloads (PEM). */
  auditPublicKeyUrl: '/api/vault/audit/public-key',
  /** How many signed audit checkpoints there are and the latest (read page by page, oldest first). */
  auditSignatures: async (): Promise<{ keyId: string; count: number; latest?: AuditCheckpoint }> => {
    let after: number | undefined;
    let count = 0;
    let keyId = '';
    let latest: AuditCheckpoint | undefined;
    for (let page = 0; page < CHECKPOINT_PAGES; page++) {
      const answer = await request<{ keyId: string; checkpoints: AuditCheckpoint[]; next: number | null }>(
        'GET',
        `/api/vault/audit/checkpoints${query({ after, limit: 1000 })}`,
      );
      keyId = answer.keyId;
      count += answer.checkpoints.length;
      latest = answer.checkpoints.at(-1) ?? latest;
      if (answer.next === null) break;
      after = answer.next;
    }
    return { keyId, count, latest };
  },

  /** Which practitioner each console user is (admins). */
  staffLinks: async (): Promise<StaffLink[]> =>
    (await request<{ links: StaffLink[] }>('GET', '/api/vault/staff-links')).links,
  /** Links a user to a practitioner: an id, Practitioner/<id>, or an identifier system|value (NPI). */
  linkStaff: async (userId: string, practitioner: string): Promise<StaffLink> =>
    (
      await request<{ link: StaffLink }>('PUT', `/api/vault/staff-links/${encodeURIComponent(userId)}`, {
        practitioner,
      })
    ).link,
  unlinkStaff: (userId: string): Promise<void> =>
    request<void>('DELETE', `/api/vault/staff-links/${encodeURIComponent(userId)}`),
};
