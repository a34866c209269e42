/**
 * Builds the console into dist/web, which the server serves with a strict CSP
 * (scripts and styles only from files of its own origin: no inline code is emitted).
 * `vite --config web/vite.config.ts` serves it for development and forwards /api to a local server.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const apiTarget = process.env.CONSOLE_DEV_API_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Keep every asset a file of its own; nothing is inlined into the HTML.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: { '/api': { target: apiTarget, changeOrigin: false } },
  },
});
