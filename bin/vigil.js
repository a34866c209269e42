#!/usr/bin/env node
// The `vigil` command: runs the compiled CLI (npm run build writes dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('vigil: the program is not built yet. Run `npm run build` (or `npm start`) first.');
  process.exit(1);
}
const { main } = await import(entry);
const code = await main(process.argv);
if (code !== 0) process.exit(code);
