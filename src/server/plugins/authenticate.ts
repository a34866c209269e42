/**
 * @module server/plugins/authenticate
 * Deny by default. Before a body is even parsed, each request is matched against its route's
 * `config.access`: public routes pass; every other route needs a principal (a session cookie or
 * a bearer API token) whose sign-in is complete and whose role is allowed. Requests that change
 * state with a session cookie must carry the session's CSRF token in `X-CSRF-Token`.
 */
import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity, Principal, RequestContext } from '../../identity/index.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The raw session token from the cookie (only while the request runs; never logged). */
    sessionToken: string | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionCookie {
  name: string;
  secure: boolean;
}

export function sessionCookieFor(tls: boolean): SessionCookie {
  // The __Host- prefix pins the cookie to this origin and path / when served over TLS.
  return tls ? { name: '__Host-vigil_session', secure: true } : { name: 'vigil_session', secure: false };
}

export function requestContext(request: FastifyRequest): RequestContext {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 256) : undefined };
}

/** Finds the caller: a bearer token wins; otherwise the session cookie. */
export async function resolvePrincipal(
  identity: Identity,
  cookie: SessionCookie,
  request: FastifyRequest,
): Promise<{ principal: Principal | null; sessionToken: string | null; badBearer: boolean }> {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.length > 0) {
    const m = /^Bearer ([\x21-\x7e]{1,200})$/i.exec(header);
    const principal = m ? await identity.tokens.authenticate(m[1]!) : null;
    return { principal, sessionToken: null, badBearer: principal === null };
  }
  const token = request.cookies[cookie.name];
  if (!token) return { principal: null, sessionToken: null, badBearer: false };
  return { principal: await identity.sessions.authenticate(token), sessionToken: token, badBearer: false };
}

export function registerAuthentication(
  app: FastifyInstance,
  identity: Identity,
  cookie: SessionCookie,
): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionToken', null);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.is404) return;
    const access = request.routeOptions.config.access;
    if (access === 'public') return;
    const { principal, sessionToken, badBearer } = await resolvePrincipal(identity, cookie, request);
    if (!principal) {
      return sendError(
        reply,
        request,
        401,
        'UNAUTHENTICATED',
        badBearer ? 'The API token is invalid or revoked' : 'Sign in first',
      );
    }
    request.principal = principal;
    request.sessionToken = sessionToken;
    if (!access) return sendError(reply, request, 403, 'FORBIDDEN', 'This route admits nobody');
    if (principal.kind === 'token' && access.tokens === false) {
      return sendError(
        reply,
        request,
        403,
        'FORBIDDEN',
        'This route is for people signed in to the console, not API tokens',
      );
    }
    if (principal.state !== 'ok' && !access.partial) {
      return principal.state === 'password'
        ? sendError(reply, request, 403, 'PASSWORD_CHANGE_REQUIRED', 'Replace your one-time password first')
        : sendError(
            reply,
            request,
            403,
            'MFA_REQUIRED',
            principal.state === 'enroll' ? 'Enrol MFA first' : 'Enter your MFA code first',
          );
    }
    if (access.roles !== 'any' && !access.roles.includes(principal.role)) {
      return sendError(reply, request, 403, 'FORBIDDEN', `Your role (${principal.role}) does not allow this`);
    }
    if (principal.kind === 'session' && !SAFE_METHODS.has(request.method)) {
      const header = request.headers['x-csrf-token'];
      if (
        !sessionToken ||
        !identity.sessions.checkCsrf(sessionToken, typeof header === 'string' ? header : undefined)
      ) {
        return sendError(
          reply,
          request,
          403,
          'CSRF',
          'Missing or wrong X-CSRF-Token header; reload the page',
        );
      }
    }
  });
}
