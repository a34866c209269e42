/**
 * The README stays true: every error code and every configuration key is documented with the
 * values the code has.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/core/index.js';
import { configEnvNames } from '../src/platform/config/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code with its status and meaning', () => {
    for (const [code, { status, meaning }] of Object.entries(ERROR_CODES)) {
      expect(readme, code).toContain(`| \`${code}\` | ${status} | ${meaning} |`);
    }
  });

  it('documents every configuration key and its environment variable', () => {
    for (const { env, key } of configEnvNames()) expect(readme, key).toContain(`| \`${key}\` | \`${env}\``);
  });

  it('gives the two commands of the quick start', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
    expect(readme).toContain('npm run demo');
  });
});
