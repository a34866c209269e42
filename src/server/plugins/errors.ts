/**
 * @module server/plugins/errors
 * The one error handler. `VigilError` answers its status and safe message; schema failures and
 * malformed JSON answer 400 naming the field; everything else is a 500 with a fixed message and
 * the request id, while the details go to the log (without bodies or secrets). Under `/fhir` the
 * same errors answer as a FHIR OperationOutcome (`application/fhir+json`), chosen in `sendError`,
 * so authentication failures, parser errors and domain errors all take that shape there.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { type ErrorCode, isVigilError } from '../../core/index.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown>; requestId: string };
}

export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): FastifyReply {
  const body: ErrorBody = {
    error: { code, message, requestId: request.id, ...(details ? { details } : {}) },
  };
  const retry = details?.retryAfterSeconds;
  if (typeof retry === 'number') reply.header('retry-after', String(retry));
  if (isFhirPath(request.url)) return sendOperationOutcome(reply, request, status, code, message, details);
  return reply.status(status).type('application/json; charset=utf-8').send(body);
}

/** The OperationOutcome issue extension that says break-the-glass would allow the request. */
export const BREAK_GLASS_POSSIBLE_URL = 'urn:vigil:fhir:break-glass-possible';

/** Whether a URL is under the FHIR base `/fhir`. */
export function isFhirPath(url: string): boolean {
  return /^\/fhir(?:[/?]|$)/.test(url);
}

// FHIR issue-type codes (http://hl7.org/fhir/issue-type) per HTTP status.
const ISSUE_CODE: Record<number, string> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'deleted',
  412: 'conflict',
  413: 'too-costly',
  415: 'not-supported',
  423: 'security',
  429: 'throttled',
};

/**
 * The error as an OperationOutcome. Domain errors may refine the FHIR status (410 Gone for a
 * deleted resource, 412 for a failed If-Match) and issue code through `details.fhirStatus` and
 * `details.fhirCode`; `details.expression` names the FHIR paths. The Vigil code travels in
 * `issue.details.coding` so clients of both APIs can branch on one code.
 */
function sendOperationOutcome(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): FastifyReply {
  const fhirStatus = typeof details?.fhirStatus === 'number' ? details.fhirStatus : status;
  const issueCode =
    typeof details?.fhirCode === 'string' ? details.fhirCode : (ISSUE_CODE[fhirStatus] ?? 'exception');
  const expression = Array.isArray(details?.expression)
    ? (details.expression as unknown[]).filter((e): e is string => typeof e === 'string' && e !== '')
    : [];
  const issues = Array.isArray(details?.issues)
    ? (details.issues as Array<{ expression?: string; message?: string }>)
    : [];
  const body = {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: issueCode,
        details: { coding: [{ system: 'urn:vigil:error-code', code }], text: message },
        diagnostics: `request ${request.id}`,
        ...(expression.length ? { expression } : {}),
        // A clinician refused for want of a care relationship may declare an emergency.
        ...(details?.breakGlassPossible === true
          ? { extension: [{ url: BREAK_GLASS_POSSIBLE_URL, valueBoolean: true }] }
          : {}),
      },
      ...issues.slice(1).map((i) => ({
        severity: 'error',
        code: issueCode,
        details: { text: i.message ?? '' },
        ...(i.expression ? { expression: [i.expression] } : {}),
      })),
    ],
  };
  return reply.status(fhirStatus).type('application/fhir+json; charset=utf-8').send(body);
}

function fieldOf(instancePath: string, context: string | undefined): string {
  const parts = [context, ...instancePath.split('/').filter(Boolean)].filter(Boolean);
  return parts.join('.') || 'body';
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isVigilError(err)) {
      if (err.status >= 500) request.log.error({ err }, 'request failed');
      return sendError(reply, request, err.status, err.code, err.message, err.details);
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const field = first ? fieldOf(first.instancePath, err.validationContext) : 'body';
      const message = first ? `${field}: ${first.message}` : 'The request is invalid';
      return sendError(reply, request, 400, 'BAD_REQUEST', message, {
        field,
        problems: err.validation
          .slice(0, 20)
          .map((v) => ({ field: fieldOf(v.instancePath, err.validationContext), message: v.message })),
      });
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, request, 400, 'INVALID_JSON', 'The body is not valid JSON');
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(
          reply,
          request,
          413,
          'PAYLOAD_TOO_LARGE',
          'The body is larger than this server accepts',
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendError(reply, request, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    }
    if (err.statusCode === 429) {
      return sendError(reply, request, 429, 'RATE_LIMITED', 'Too many requests; slow down and retry shortly');
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      // A client error raised by Fastify itself (bad header, bad URL): its message is about the request.
      return sendError(reply, request, err.statusCode, 'BAD_REQUEST', 'The request is malformed');
    }
    request.log.error({ err }, 'unexpected error');
    return sendError(
      reply,
      request,
      500,
      'INTERNAL',
      'Something went wrong on the server. Quote the request id to an administrator.',
    );
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, 404, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`),
  );
}
