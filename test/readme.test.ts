/**
 * The README stays true: its configuration and error tables are exactly what the code has
 * (`npm run docs` regenerates them), and it gives the quick start's commands.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable, errorTable } from '../scripts/readme-tables.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code with its status and meaning (npm run docs)', () => {
    expect(readme).toContain(`<!-- error-table:start -->\n${errorTable()}\n<!-- error-table:end -->`);
  });

  it('documents every configuration key, its environment variable and default (npm run docs)', () => {
    expect(readme).toContain(`<!-- config-table:start -->\n${configTable()}\n<!-- config-table:end -->`);
  });

  it('gives the two commands of the quick start', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
    expect(readme).toContain('npm run demo');
  });
});
