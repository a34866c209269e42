/**
 * The report mailbox as the server runs it: off by default; when enabled it listens on its port
 * beside the HTTP server and stops with it; a busy port stops the start with a message naming the
 * setting to change, and leaves nothing listening.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/platform/config/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { startServer } from '../../src/server/index.js';
import { freePort, occupyPort } from '../support/processes.js';

/** The first line an SMTP server sends on connect, or the connection error's code. */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.once('data', (line: string) => {
      socket.destroy();
      resolve(line.trim());
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

describe('report mailbox in the server', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'vigil-mailbox-server-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('listens when enabled and stops with the server', async () => {
    const port = await freePort();
    const server = await startServer(
      validateConfig({
        dataDir: dataDir(),
        server: { host: '127.0.0.1', port: 0 },
        awareness: { reportMailbox: { enabled: true, port, recipients: ['Report@Hospital.example'] } },
      }),
      silentLogger(),
    );
    try {
      expect(await banner(port)).toMatch(/^220 .*Vigil report mailbox/);
    } finally {
      await server.close();
    }
    expect(await banner(port)).toBe('ECONNREFUSED');
  }, 60_000);

  it('is off by default', () => {
    expect(validateConfig({}).awareness.reportMailbox.enabled).toBe(false);
  });

  it('a busy port names the setting and leaves nothing listening', async () => {
    const { port, release } = await occupyPort();
    const httpPort = await freePort();
    try {
      await expect(
        startServer(
          validateConfig({
            dataDir: dataDir(),
            server: { host: '127.0.0.1', port: httpPort },
            awareness: { reportMailbox: { enabled: true, port } },
          }),
          silentLogger(),
        ),
      ).rejects.toThrow(/awareness\.reportMailbox\.port \(VIGIL_AWARENESS_REPORT_MAILBOX_PORT\)/);
      expect(await banner(httpPort)).toBe('ECONNREFUSED');
    } finally {
      await release();
    }
  }, 60_000);
});
