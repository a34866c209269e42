/**
 * @module server/console
 * Serves the built web console (dist/web): hashed assets with long caching, and index.html for
 * every other non-API GET so the console's own router handles the path.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { sendError } from './plugins/errors.js';

export const DEFAULT_CONSOLE_DIR = path.resolve(fileURLToPath(import.meta.url), '../../../dist/web');

export async function registerConsole(app: FastifyInstance, dir = DEFAULT_CONSOLE_DIR): Promise<void> {
  const built = existsSync(path.join(dir, 'index.html'));
  await app.register(async (scope) => {
    if (built) {
      // `serve: false`: no route per file; the one route below serves files and the app shell.
      await scope.register(fastifyStatic, { root: dir, serve: false });
    }
    // The console's files are public: signing in happens inside them.
    scope.get('/*', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
      const url = request.url.split('?')[0]!;
      if (url.startsWith('/api/') || url === '/api')
        return sendError(reply, request, 404, 'NOT_FOUND', `No route GET ${url}`);
      if (!built) {
        return sendError(
          reply,
          request,
          503,
          'UNAVAILABLE',
          'The console is not built. Run `npm run build` and restart Vigil.',
        );
      }
      const rel = path.posix.normalize(decodeURIComponentSafe(url)).replace(/^\/+/, '');
      if (rel && !rel.endsWith('/') && !rel.includes('..') && existsSync(path.join(dir, rel))) {
        // Vite names assets by content hash, so they never change under the same name.
        reply.header(
          'cache-control',
          rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
        return reply.sendFile(rel);
      }
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    });
  });
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
