/**
 * A tiny browser for the access portal in tests: keeps cookies, reads the CSRF token out of the
 * page, posts forms url-encoded. Drives either `app.inject` or real HTTP (through nginx).
 */
import { generateSync } from 'otplib';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type Send = (req: {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}) => Promise<HttpAnswer>;

/** A TOTP code for the next time step (the current one may already have been used: replay protection). */
export function nextCode(secret: string, offsetSteps = 1): string {
  return generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * offsetSteps });
}

export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no csrf token in page: ${html.slice(0, 300)}`);
  return m[1]!;
}

export class PortalBrowser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly send: Send) {}

  cookieHeader(only?: readonly string[]): string {
    return [...this.cookies]
      .filter(([k]) => !only || only.includes(k))
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  }

  private keep(headers: HttpAnswer['headers']): void {
    const set = headers['set-cookie'];
    for (const line of [set ?? []].flat()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(
    method: 'GET' | 'POST',
    url: string,
    extra: Record<string, string> = {},
    form?: Record<string, string>,
  ) {
    const headers: Record<string, string> = { ...extra };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await this.send({ method, url, headers, ...(body === undefined ? {} : { body }) });
    this.keep(res.headers);
    return res;
  }

  /** Opens the portal, then signs in with password and (when asked) TOTP. Returns the last answer. */
  async signIn(
    portalPath: string,
    rd: string,
    username: string,
    password: string,
    totpSecret?: string,
    extra: Record<string, string> = {},
  ) {
    const page = await this.request('GET', `${portalPath}/login?rd=${encodeURIComponent(rd)}`, extra);
    if (page.status !== 200) throw new Error(`portal ${page.status} ${page.body.slice(0, 200)}`);
    let res = await this.request('POST', `${portalPath}/login`, extra, {
      step: 'password',
      csrf: csrfOf(page.body),
      rd,
      username,
      password,
    });
    if (res.status === 200 && res.body.includes('name="step" value="mfa"')) {
      if (!totpSecret) throw new Error('MFA asked but no secret');
      res = await this.request('POST', `${portalPath}/login`, extra, {
        step: 'mfa',
        csrf: csrfOf(res.body),
        rd,
        code: nextCode(totpSecret),
      });
    }
    return res;
  }
}
