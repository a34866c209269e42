/**
 * Vigil for the HTTP benchmark: the server on a fresh SQLite data directory, one event in
 * the log, and an analyst API token; prints `{url, token}` on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const { validateConfig } = await import('../../src/platform/config/index.js');
const { silentLogger } = await import('../../src/platform/log/index.js');
const { startServer } = await import('../../src/server/index.js');

const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-'));
const config = validateConfig({ dataDir, server: { port: 0 } });
const server = await startServer(config, silentLogger());
const { secret } = await server.services.identity.tokens.create('bench', 'analyst');
await server.services.identity.users.ensureFirstAdmin();
process.stdout.write(`${JSON.stringify({ url: server.url, token: secret })}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
