/**
 * @module server/access-check
 * `GET /access/check`, the forward-auth decision asked before every request to a protected
 * application: the answer (status, headers, body) of a decision, shared by the Fastify route and
 * by the fast path the server's HTTP listener takes for this one URL. The fast path skips the
 * framework's per-request work (routing, hooks, request logger, reply object), which at thousands
 * of checks a second costs more than the decision itself. The route stays for everything that
 * does not come through the listener (`inject` in tests); both give the same answer.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCESS_COOKIES, type Access, type CheckOutcome } from '../access/index.js';
import type { Logger } from '../platform/log/index.js';
import { securityHeaders } from './plugins/security-headers.js';

export interface CheckAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the proxy gets for a decision: 200 with the user, a login or step-up answer, or 403. */
export function checkAnswer(out: CheckOutcome): CheckAnswer {
  const d = out.decision;
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'x-vigil-decision': d.decision,
    'x-vigil-risk': String(d.risk),
  };
  if (d.decision === 'allow' && d.user) {
    headers['x-vigil-user'] = d.user.name;
    headers['x-vigil-roles'] = d.user.roles.join(',');
    return { status: 200, headers, body: '' };
  }
  const text = (status: number, body: string): CheckAnswer => {
    headers['content-type'] = 'text/plain; charset=utf-8';
    return { status, headers, body };
  };
  if (d.decision === 'login' || d.decision === 'step-up') {
    if (out.flavour === 'traefik' && out.loginUrl) {
      headers.location = out.loginUrl;
      return { status: 302, headers, body: '' };
    }
    // nginx cannot redirect from auth_request; it reads this header (auth_request_set) for its 401 page.
    if (out.loginUrl) headers['x-vigil-login'] = out.loginUrl;
    return text(401, d.decision === 'login' ? 'sign-in needed' : 'step-up needed');
  }
  return text(403, 'access denied');
}

const PATH = '/access/check';

/**
 * The listener's fast path: answers `GET`/`HEAD /access/check[?…]` and says true, or says false
 * and leaves the request to Fastify. A failure answers 500 without details and is logged.
 */
export function fastAccessCheck(deps: {
  access: Access;
  logger: Logger;
  /** The cookie plugin's parser (`app.parseCookie`), so both paths read cookies alike. */
  parseCookie: (header: string) => Record<string, string | undefined>;
  tls: boolean;
  isClosing: () => boolean;
}): (req: IncomingMessage, res: ServerResponse) => boolean {
  // The security headers but the request id, as name/value pairs: the same on every answer.
  const fixed = Object.entries(securityHeaders(deps.tls, '')).filter(([name]) => name !== 'x-request-id');
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(PATH) || (url.length > PATH.length && url[PATH.length] !== '?')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const requestId = randomUUID();
    const send = (a: CheckAnswer) => {
      const headers: string[] = [];
      for (const [name, value] of fixed) headers.push(name, value);
      headers.push('x-request-id', requestId);
      for (const name in a.headers) headers.push(name, a.headers[name]!);
      headers.push('content-length', String(Buffer.byteLength(a.body)));
      res.writeHead(a.status, headers);
      res.end(req.method === 'HEAD' ? undefined : a.body);
    };
    if (deps.isClosing()) {
      res.setHeader('connection', 'close');
      send({ status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'shutting down' });
      return true;
    }
    const cookies = req.headers.cookie ? deps.parseCookie(req.headers.cookie) : {};
    deps.access.gateway
      .check(req.headers, req.socket.remoteAddress ?? '', {
        sessionToken: cookies[ACCESS_COOKIES.session],
        deviceCookie: cookies[ACCESS_COOKIES.device],
      })
      .then((out) => send(checkAnswer(out)))
      .catch((err: unknown) => {
        // The decision or its answer failed: 500 without details (or, when the answer had begun,
        // the connection closed), never an unhandled rejection.
        deps.logger.error({ err: (err as Error).message, requestId }, 'access check failed');
        if (res.headersSent) return void res.destroy();
        try {
          send({
            status: 500,
            headers: { 'content-type': 'text/plain; charset=utf-8' },
            body: `The decision failed on the server; quote request id ${requestId} to an administrator.`,
          });
        } catch {
          res.destroy();
        }
      });
    return true;
  };
}
