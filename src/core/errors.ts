/**
 * @module core/errors
 * The one error type of Vigil. Domains throw `VigilError`; the server maps it to HTTP in one handler
 * (FHIR routes answer an OperationOutcome). `message` is safe to show to the caller: it never holds
 * internals, secrets or PHI. Anything else that escapes becomes a 500 with a fixed message.
 */

/** Every error code, its HTTP status and what it means. The README's error table is generated from this. */
export const ERROR_CODES = {
  BAD_REQUEST: {
    status: 400,
    meaning: 'The request is malformed or a field is invalid; the message names it.',
  },
  INVALID_JSON: { status: 400, meaning: 'The body is not valid JSON.' },
  UNAUTHENTICATED: { status: 401, meaning: 'No valid session or API token was presented.' },
  INVALID_CREDENTIALS: { status: 401, meaning: 'Username or password is wrong (the same answer for both).' },
  MFA_REQUIRED: { status: 403, meaning: 'The session must pass MFA (or enrol) before this route.' },
  MFA_INVALID: { status: 401, meaning: 'The one-time code or recovery code is wrong or was already used.' },
  PASSWORD_CHANGE_REQUIRED: { status: 403, meaning: 'The one-time password must be replaced first.' },
  CSRF: {
    status: 403,
    meaning: 'A state-changing request with a session cookie lacked the right X-CSRF-Token header.',
  },
  FORBIDDEN: { status: 403, meaning: 'The principal is authenticated but its role does not allow this.' },
  ACCOUNT_DISABLED: { status: 403, meaning: 'The account is disabled.' },
  ACCOUNT_LOCKED: { status: 423, meaning: 'Too many failed logins; the account is locked for a while.' },
  NOT_FOUND: { status: 404, meaning: 'No such route or resource.' },
  CONFLICT: { status: 409, meaning: 'The resource exists already or changed meanwhile.' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The body exceeds the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The content type is not accepted on this route.' },
  RATE_LIMITED: { status: 429, meaning: 'Too many requests; retry after the time given.' },
  CONFIG_INVALID: { status: 500, meaning: 'Start-up stopped: a configuration key is unknown or invalid.' },
  UNAVAILABLE: { status: 503, meaning: 'A dependency (database, bus) is not ready.' },
  INTERNAL: {
    status: 500,
    meaning: 'An unexpected error; details are in the server log, never in the answer.',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface VigilErrorOptions {
  /** Safe, structured details for the caller (a field path, a retry time). Never internals. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: VigilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VigilError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options.details;
  }
}

export function isVigilError(err: unknown): err is VigilError {
  return err instanceof VigilError;
}
