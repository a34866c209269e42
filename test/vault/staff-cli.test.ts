/**
 * `vigil staff link|list|unlink` as an operator runs it: link a user to a Practitioner imported
 * by `vigil vault import`, by its NPI, list the link, refuse unknown users and practitioners with
 * a message that says what to do, and unlink.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runVigil, vigilOk } from '../support/vigil-process.js';

const NPI = 'http://hl7.org/fhir/sid/us-npi';

describe('vigil staff', () => {
  let dir: string;
  const env = () => ({ VIGIL_DATA_DIR: join(dir, 'data') });
  const ok = (args: string[]) => vigilOk(args, env(), dir);

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'vigil-staff-'));
    writeFileSync(
      join(dir, 'Practitioner.ndjson'),
      `${JSON.stringify({ resourceType: 'Practitioner', id: 'prac-1', identifier: [{ system: NPI, value: '4444444444' }] })}\n`,
    );
    await ok(['vault', 'import', join(dir, 'Practitioner.ndjson')]);
    await ok(['user', 'add', 'nina.nurse', '--role', 'clinician']);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('links by NPI, lists, refuses what does not exist, and unlinks', async () => {
    expect(await ok(['staff', 'list'])).toMatch(/No user is linked/);
    expect(await ok(['staff', 'link', 'nina.nurse', `${NPI}|4444444444`])).toMatch(
      /nina\.nurse is now Practitioner\/prac-1/,
    );
    expect(await ok(['staff', 'list'])).toMatch(/nina\.nurse\s+Practitioner\/prac-1/);

    let r = await runVigil(['staff', 'link', 'ghost', 'prac-1'], env(), dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/No user ghost: see vigil user list/);
    r = await runVigil(['staff', 'link', 'nina.nurse', 'Practitioner/none'], env(), dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Practitioner\/none does not exist/);

    expect(await ok(['staff', 'unlink', 'nina.nurse'])).toMatch(/no longer linked/);
    r = await runVigil(['staff', 'unlink', 'nina.nurse'], env(), dir);
    expect(r.stderr).toMatch(/has no practitioner link/);
  }, 300_000);
});
