/**
 * @module access/return-url
 * Where the portal may send a person back to after signing in: only to a configured protected
 * application (host and path prefix), over http(s). Anything else (another host, `//evil`,
 * `javascript:`, backslashes, credentials in the URL) is refused: no open redirect.
 */
import { matchApp } from './apps.js';
import type { AppPolicy } from './types.js';

const MAX_LEN = 4096;

/** The normalised return URL, or null when it does not point to a protected application. */
export function safeReturnUrl(raw: unknown, apps: readonly AppPolicy[]): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_LEN) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused.
  if (/[\\\x00-\x1f\x7f]/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password) return null;
  const proto = url.protocol === 'https:' ? 'https' : 'http';
  const app = matchApp(apps, url.host, `${url.pathname}${url.search}`, proto);
  return app ? url.toString() : null;
}

/** The URL of the original request, from the proxy's headers. */
export function originalUrl(proto: string, host: string, uri: string): string {
  return `${proto}://${host}${uri}`;
}
