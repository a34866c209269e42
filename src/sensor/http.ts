/**
 * @module sensor/http
 * The head of the first HTTP/1.x request and response of a connection: request line, Host,
 * User-Agent and Server. Only a bounded head is looked at (`MAX_HTTP_HEAD` bytes, `MAX_HEADERS`
 * lines); bodies are never read. Lines may end in CRLF or bare LF, as servers accept both.
 */

/** Bytes of a head the sensor waits for before giving up on finding its end. */
export const MAX_HTTP_HEAD = 8192;
const MAX_HEADERS = 100;
const MAX_VALUE = 512;

/** A request head. */
export interface HttpRequest {
  type: 'request';
  method: string;
  /**
   * The request path: the query string is dropped and path segments that look like identifiers
   * (three digits or more, or longer than 32 characters: `/Patient/12345`) become `*`, since
   * they may name a patient.
   */
  target: string;
  version: string;
  host?: string;
  userAgent?: string;
}

/** A response head. */
export interface HttpResponse {
  type: 'response';
  version: string;
  status: number;
  reason: string;
  server?: string;
}

export type HttpHead = HttpRequest | HttpResponse;

const METHODS = [
  'GET',
  'POST',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'CONNECT',
  'TRACE',
  'PROPFIND',
  'SUBSCRIBE',
  'NOTIFY',
  'M-SEARCH',
];

/** Does a connection's first payload look like the start of an HTTP/1.x request or response? */
export function looksLikeHttp(b: Buffer): boolean {
  if (b.length < 5) return false;
  const c = b[0]!;
  // Upper-case letter first: checked before the string compare so binary traffic stays cheap.
  if (c < 0x41 || c > 0x5a) return false;
  if (c === 0x48 && b.toString('latin1', 0, 5) === 'HTTP/') return true;
  const sp = b.indexOf(0x20, 0);
  if (sp < 3 || sp > 9) return false;
  return METHODS.includes(b.toString('latin1', 0, sp));
}

/** Where the head ends (the offset after the blank line), or -1 when it has not ended yet. */
export function headEnd(b: Buffer): number {
  const crlf = b.indexOf('\r\n\r\n', 0, 'latin1');
  if (crlf >= 0) return crlf + 4;
  const lf = b.indexOf('\n\n', 0, 'latin1');
  return lf >= 0 ? lf + 2 : -1;
}

/** Parses a request or response head (the bytes up to the blank line, or a bounded prefix). */
export function parseHttpHead(b: Buffer): HttpHead | string {
  const s = b.toString('latin1', 0, Math.min(b.length, MAX_HTTP_HEAD));
  const lines = s.split('\n', MAX_HEADERS + 1);
  const first = stripCr(lines[0] ?? '');
  let head: HttpHead;
  if (first.startsWith('HTTP/')) {
    const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(first);
    if (!m) return 'http-bad-status-line';
    head = { type: 'response', version: m[1]!, status: Number(m[2]), reason: (m[3] ?? '').slice(0, 64) };
  } else {
    const m = /^([A-Z-]{3,9}) (\S+) HTTP\/(\d\.\d)$/.exec(first);
    if (!m || !METHODS.includes(m[1]!)) return 'http-bad-request-line';
    const q = m[2]!.indexOf('?');
    const target = redactPath((q >= 0 ? m[2]!.slice(0, q) : m[2]!).slice(0, MAX_VALUE));
    head = { type: 'request', method: m[1]!, target, version: m[3]! };
  }
  for (let i = 1; i < lines.length && i <= MAX_HEADERS; i++) {
    const line = stripCr(lines[i]!);
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = line
      .slice(colon + 1)
      .trim()
      .slice(0, MAX_VALUE);
    if (!value) continue;
    if (head.type === 'request') {
      if (name === 'host' && head.host === undefined) head.host = value;
      else if (name === 'user-agent' && head.userAgent === undefined) head.userAgent = value;
    } else if (name === 'server' && head.server === undefined) head.server = value;
  }
  return head;
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** A path with identifier-like segments replaced by `*`. */
export function redactPath(path: string): string {
  return path
    .split('/')
    .map((seg) => {
      if (seg.length > 32) return '*';
      let digits = 0;
      for (let i = 0; i < seg.length; i++) {
        const c = seg.charCodeAt(i);
        if (c >= 0x30 && c <= 0x39 && ++digits >= 3) return '*';
      }
      return seg;
    })
    .join('/');
}
