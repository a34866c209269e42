/**
 * `vigil alerts export` (OCSF Detection Findings or Vigil JSON, an array or one per line, with
 * filters) and `vigil alerts webhook-secret <name>` (the key a webhook derives from the key ring),
 * run in-process on a data directory with alerts in it (no build needed).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { derivedWebhookSecret } from '../../src/detect/index.js';
import { validateConfig } from '../../src/platform/config/index.js';
import { FileKeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { createServices } from '../../src/server/index.js';

async function vigil(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    err += String(c);
    return true;
  });
  try {
    return { code: await main(['node', 'vigil', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('vigil alerts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-alerts-cli-'));
  const dataDir = path.join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const services = await createServices(validateConfig({ dataDir }), silentLogger());
    try {
      const at = (s: number) => new Date(Date.parse('2026-06-02T10:00:00Z') + s * 1000).toISOString();
      await services.detect.alerts.record([
        {
          time: at(0),
          ruleId: 'r-a',
          ruleTitle: 'A',
          level: 'high',
          eventIds: ['e1'],
          dedupKey: 'r-a|x',
          tags: ['attack.t1110'],
        },
        { time: at(1), ruleId: 'r-b', ruleTitle: 'B', level: 'low', eventIds: ['e2'], dedupKey: 'r-b|y' },
        { time: at(2), ruleId: 'r-c', ruleTitle: 'C', level: 'high', eventIds: ['e3'], dedupKey: 'r-c|z' },
      ]);
    } finally {
      await services.close();
    }
  });

  it('exports OCSF Detection Findings as an array, or Vigil JSON one per line, with filters', async () => {
    let r = await vigil(['alerts', 'export', '--data-dir', dataDir]);
    expect(r.code, r.err).toBe(0);
    const findings = JSON.parse(r.out) as Array<Record<string, unknown>>;
    expect(findings).toHaveLength(3);
    expect(findings.every((f) => f.class_uid === 2004 && f.type_uid === 200401)).toBe(true);

    r = await vigil([
      'alerts',
      'export',
      '--data-dir',
      dataDir,
      '--format',
      'json',
      '--ndjson',
      '--level',
      'high',
    ]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ruleId: string });
    expect(lines.map((a) => a.ruleId).sort()).toEqual(['r-a', 'r-c']);

    const file = path.join(dir, 'out.json');
    r = await vigil([
      'alerts',
      'export',
      '--data-dir',
      dataDir,
      '--since',
      '2026-06-02T10:00:01Z',
      '-o',
      file,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('2 alerts written');
    expect((JSON.parse(readFileSync(file, 'utf8')) as unknown[]).length).toBe(2);

    for (const bad of [
      ['--status', 'open'],
      ['--level', 'severe'],
      ['--format', 'csv'],
      ['--since', 'soon'],
    ]) {
      r = await vigil(['alerts', 'export', '--data-dir', dataDir, ...bad]);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.err).toMatch(new RegExp(bad[0]!));
    }
  });

  it('prints the key-ring webhook key for a configured webhook, and says when the key is elsewhere', async () => {
    const config = path.join(dir, 'vigil.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        alerts: {
          webhooks: [
            { name: 'soc', url: 'https://soar.example/hook' },
            { name: 'filed', url: 'https://soar.example/2', secretFile: '/etc/vigil/hook.key' },
          ],
        },
      }),
    );
    let r = await vigil(['alerts', 'webhook-secret', 'soc', '--data-dir', dataDir, '--config', config]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(derivedWebhookSecret(FileKeyRing.open(path.join(dataDir, 'keys')), 'soc'));
    r = await vigil(['alerts', 'webhook-secret', 'filed', '--data-dir', dataDir, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('/etc/vigil/hook.key');
    r = await vigil(['alerts', 'webhook-secret', 'nope', '--data-dir', dataDir, '--config', config]);
    expect(r.code).toBe(2);
  });
});
