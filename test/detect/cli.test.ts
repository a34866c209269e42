/**
 * `vigil rules check` and `vigil rules test`, run as an operator would: the built binary on rule
 * files and event files written here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ROOT } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: cleanEnv(), encoding: 'utf8' });

const good = `title: Cmd whoami
id: r-good
level: high
logsource:
    product: windows
    category: process_creation
detection:
    sel:
        CommandLine|contains: whoami
    condition: sel
`;
const unsupported = `title: Old aggregation
id: r-old
logsource:
    product: windows
detection:
    sel:
        EventID: 1
    condition: sel | count() > 5
`;
const broken = `title: Broken
id: r-bad
logsource:
    product: windows
detection:
    sel:
        CommandLine: x
    condition: sel and
`;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')))
    execFileSync('npm', ['run', 'build:server'], { cwd: ROOT });
  writeFileSync(join(dir, 'good.yml'), good);
  writeFileSync(
    join(dir, 'events.jsonl'),
    '{"CommandLine":"cmd /c WHOAMI"}\n{"CommandLine":"dir"}\n{"CommandLine":"whoami /all"}\n',
  );
  writeFileSync(
    join(dir, 'events.json'),
    JSON.stringify([{ CommandLine: 'dir' }, { CommandLine: 'whoami' }]),
  );
  writeFileSync(join(dir, 'one.json'), JSON.stringify({ CommandLine: 'whoami' }));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigil rules', () => {
  it('check prints loaded, unsupported with reasons and errors with file and line; exit 1 on errors', () => {
    const ok = run('rules', 'check', join(dir, 'good.yml'));
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/1 detection rules loaded/);
    const mixed = mkdtempSync(join(dir, 'mixed-'));
    writeFileSync(join(mixed, 'good.yml'), good);
    writeFileSync(join(mixed, 'old.yml'), unsupported);
    writeFileSync(join(mixed, 'bad.yml'), broken);
    const r = run('rules', 'check', mixed);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/unsupported old\.yml: Old aggregation: legacy aggregation/);
    expect(r.stdout).toMatch(/error bad\.yml:\d+: /);
    const j = run('rules', 'check', mixed, '--json');
    const report = JSON.parse(j.stdout) as {
      loaded: number;
      unsupported: unknown[];
      errors: { file: string }[];
    };
    expect(report.loaded).toBe(1);
    expect(report.unsupported).toHaveLength(1);
    expect(report.errors[0]!.file).toBe('bad.yml');
  });

  it('test prints which rules fire on which events, from JSON lines, an array or one event', () => {
    const lines = run('rules', 'test', join(dir, 'good.yml'), join(dir, 'events.jsonl'), '--json');
    expect(lines.status).toBe(0);
    expect(
      lines.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { rule: string; event: number }),
    ).toEqual([
      { rule: 'r-good', title: 'Cmd whoami', level: 'high', event: 0 },
      { rule: 'r-good', title: 'Cmd whoami', level: 'high', event: 2 },
    ]);
    const arr = run('rules', 'test', join(dir, 'good.yml'), join(dir, 'events.json'));
    expect(arr.stdout).toMatch(/event 1: r-good Cmd whoami \(high\)/);
    expect(arr.stdout).toMatch(/1 matches on 2 events with 1 rules/);
    const one = run('rules', 'test', join(dir, 'good.yml'), join(dir, 'one.json'), '--json');
    expect(JSON.parse(one.stdout.trim())).toMatchObject({ rule: 'r-good', event: 0 });
  });
});
