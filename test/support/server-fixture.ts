/**
 * A Vigil app on a fresh data directory (SQLite, memory bus), driven in-process with `inject`,
 * plus helpers that sign people in through the HTTP API as a browser would (cookie + CSRF).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { generateSync } from 'otplib';
import type { Role } from '../../src/core/index.js';
import { type VigilConfig, validateConfig } from '../../src/platform/config/index.js';
import { type Logger, silentLogger } from '../../src/platform/log/index.js';
import { buildApp, createServices, type Services } from '../../src/server/index.js';

export interface ServerFixture {
  app: FastifyInstance;
  services: Services;
  routes: Array<{ method: string; url: string; access: unknown }>;
  close(): Promise<void>;
}

export async function serverFixture(
  overrides: Record<string, unknown> = {},
  logger: Logger = silentLogger(),
): Promise<ServerFixture> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-srv-'));
  const config: Readonly<VigilConfig> = validateConfig({ dataDir, ...overrides });
  const services = await createServices(config, logger);
  const sub = await services.activity.attach(services.bus);
  const routes: ServerFixture['routes'] = [];
  const app = await buildApp(services, {
    onRoute: (r) => {
      for (const m of [r.method].flat()) routes.push({ method: m, url: r.url, access: r.access });
    },
  });
  await app.ready();
  return {
    app,
    services,
    routes,
    async close() {
      await app.close();
      await sub.close();
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const STRONG_PASSWORD = 'a calm night shift in ward 7';

export interface Browser {
  cookie: string;
  csrf: string;
  username: string;
  totpSecret?: string;
}

export function sessionCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'vigil_session');
  if (!c) throw new Error(`no session cookie in answer ${res.statusCode} ${res.body}`);
  return c.value;
}

/** Creates a user and signs them in through the API: one-time password → new password → (MFA). */
export async function signIn(f: ServerFixture, username: string, role: Role): Promise<Browser> {
  const { oneTimePassword } = await f.services.identity.users.create({
    username,
    displayName: username,
    role,
  });
  let res = await f.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username, password: oneTimePassword },
  });
  if (res.statusCode !== 200) throw new Error(`login ${res.statusCode} ${res.body}`);
  let cookie = sessionCookie(res);
  let csrf = res.json<{ csrfToken: string }>().csrfToken;
  res = await f.app.inject({
    method: 'POST',
    url: '/api/auth/password',
    cookies: { vigil_session: cookie },
    headers: { 'x-csrf-token': csrf },
    payload: { currentPassword: oneTimePassword, newPassword: STRONG_PASSWORD },
  });
  if (res.statusCode !== 200) throw new Error(`password ${res.statusCode} ${res.body}`);
  cookie = sessionCookie(res);
  csrf = res.json<{ csrfToken: string; state: string }>().csrfToken;
  if (res.json<{ state: string }>().state === 'ok') return { cookie, csrf, username };
  res = await f.app.inject({
    method: 'POST',
    url: '/api/auth/mfa/enroll/start',
    cookies: { vigil_session: cookie },
    headers: { 'x-csrf-token': csrf },
  });
  const { secret } = res.json<{ secret: string }>();
  res = await f.app.inject({
    method: 'POST',
    url: '/api/auth/mfa/enroll/confirm',
    cookies: { vigil_session: cookie },
    headers: { 'x-csrf-token': csrf },
    payload: { code: generateSync({ secret }) },
  });
  if (res.statusCode !== 200) throw new Error(`enroll ${res.statusCode} ${res.body}`);
  return {
    cookie: sessionCookie(res),
    csrf: res.json<{ csrfToken: string }>().csrfToken,
    username,
    totpSecret: secret,
  };
}

export function as(b: Browser) {
  return { cookies: { vigil_session: b.cookie }, headers: { 'x-csrf-token': b.csrf } };
}
