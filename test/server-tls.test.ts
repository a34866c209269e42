/**
 * Under TLS the session cookie is `__Host-` prefixed and Secure, and HSTS is sent. The certificate
 * is made for the test with openssl (present on Debian); without it the suite says why it skips.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerFixture, serverFixture } from './support/server-fixture.js';

const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));

describe.skipIf(!OPENSSL)(
  OPENSSL ? 'TLS' : 'TLS (skipped: openssl is not installed to make a test certificate)',
  () => {
    let f: ServerFixture;
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'vigil-tls-'));
      const cert = path.join(dir, 'tls.crt');
      const key = path.join(dir, 'tls.key');
      execFileSync(
        OPENSSL!,
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
        ],
        { stdio: 'ignore' },
      );
      f = await serverFixture({ server: { tlsCertFile: cert, tlsKeyFile: key } });
    });
    afterAll(async () => {
      await f?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('sets a __Host- Secure session cookie and HSTS', async () => {
      const { oneTimePassword } = await f.services.identity.users.create({
        username: 'tls.user',
        displayName: 'x',
        role: 'staff',
      });
      const res = await f.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'tls.user', password: oneTimePassword },
      });
      expect(res.statusCode).toBe(200);
      const c = res.cookies.find((x) => x.name === '__Host-vigil_session');
      expect(c).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      const session = await f.app.inject({
        method: 'GET',
        url: '/api/auth/session',
        cookies: { '__Host-vigil_session': c!.value },
      });
      expect(session.json().state).toBe('password');
      // The plain name is not accepted under TLS.
      const plain = await f.app.inject({
        method: 'GET',
        url: '/api/auth/session',
        cookies: { vigil_session: c!.value },
      });
      expect(plain.json().state).toBe('none');
    });
  },
);
