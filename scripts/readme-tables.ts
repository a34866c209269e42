/**
 * Regenerates the README's configuration and error-code tables from the code
 * (`npm run docs`); `test/readme.test.ts` fails when they drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../src/core/index.js';
import { configEnvNames, configSchema } from '../src/platform/config/index.js';

const defaults = configSchema.parse({}) as unknown as Record<string, unknown>;
const valueAt = (key: string): unknown =>
  key
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      defaults,
    );

export function configTable(): string {
  const rows = configEnvNames().map(({ env, key }) => {
    const v = valueAt(key);
    return `| \`${key}\` | \`${env}\` | ${v === undefined ? '(unset)' : `\`${JSON.stringify(v)}\``} |`;
  });
  return ['| key | environment | default |', '|---|---|---|', ...rows].join('\n');
}

export function errorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${meaning} |`,
  );
  return ['| code | HTTP | meaning |', '|---|---|---|', ...rows].join('\n');
}

function replaceBetween(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README lacks the ${start} … ${end} markers`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

if (process.argv[1]?.endsWith('readme-tables.ts')) {
  const file = new URL('../README.md', import.meta.url);
  let text = readFileSync(file, 'utf8');
  text = replaceBetween(text, 'config-table', configTable());
  text = replaceBetween(text, 'error-table', errorTable());
  writeFileSync(file, text);
  console.log('README tables updated.');
}
