import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_IEEE_DATA_DIR, normaliseMac, OuiRegistry } from './oui.js';

describe('OUI registry (files written by the test)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-oui-'));
  writeFileSync(
    path.join(dir, 'oui.csv'),
    'Registry,Assignment,Organization Name,Organization Address\nMA-L,0050C2,IEEE Registration Authority,"445 Hoes Lane Piscataway NJ US 08554 "\nMA-L,00095C,"Philips Medical Systems - Cardiac and Monitoring Systems",Andover MA US\nMA-L,GARBAGE,Bad Row,x\n',
  );
  writeFileSync(
    path.join(dir, 'iab.csv'),
    'Registry,Assignment,Organization Name,Organization Address\nIAB,0050C27D5,"DEUTA-WERKE GmbH, Bergisch",DE\n',
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers the longest assigned prefix and reads quoted names', async () => {
    const r = await OuiRegistry.load(dir);
    expect(r.lookup('00:50:C2:7D:51:23')).toMatchObject({
      vendor: 'DEUTA-WERKE GmbH, Bergisch',
      registry: 'IAB',
      prefix: '0050C27D5',
    });
    expect(r.lookup('00-50-c2-00-00-01')).toMatchObject({
      vendor: 'IEEE Registration Authority',
      registry: 'MA-L',
    });
    expect(r.lookup('0009.5c12.3456').vendor).toBe(
      'Philips Medical Systems - Cardiac and Monitoring Systems',
    );
    expect(r.lookup('00:11:22:33:44:55')).toEqual({ kind: 'universal', reason: 'unassigned' });
    expect(r.entries).toBe(3);
  });

  it('gives no vendor to local, multicast and malformed addresses, and without data', async () => {
    const r = await OuiRegistry.load(dir);
    expect(r.lookup('02:00:00:00:00:01')).toEqual({ kind: 'local', reason: 'local' });
    expect(r.lookup('da:a1:19:00:00:01')).toEqual({ kind: 'local', reason: 'local' });
    expect(r.lookup('01:00:5e:00:00:fb')).toEqual({ kind: 'multicast', reason: 'multicast' });
    expect(r.lookup('not a mac').reason).toBe('bad-mac');
    expect(normaliseMac('00:11:22:33:44')).toBeUndefined();
    expect(OuiRegistry.empty().lookup('00:50:c2:00:00:01').reason).toBe('no-registry');
    expect((await OuiRegistry.load(path.join(dir, 'missing'))).loaded).toBe(false);
  });
});

const real = existsSync(path.join(DEFAULT_IEEE_DATA_DIR, 'oui.csv'));
describe.skipIf(!real)(
  real ? "Debian's ieee-data" : "Debian's ieee-data (skipped: apt-get install ieee-data)",
  () => {
    it('loads every registry and names known medical-device makers', async () => {
      const r = await OuiRegistry.load();
      expect(r.entries).toBeGreaterThan(40_000);
      // Prefixes assigned to makers of patient monitors and imaging equipment.
      expect(r.lookup('00:09:FB:00:00:01').vendor).toMatch(/Philips/i);
      expect(r.lookup('44:4b:5d:00:00:01').vendor).toBe('GE Healthcare');
      expect(r.lookup('58:46:e1:00:00:01').vendor).toBe('Baxter International Inc');
      expect(r.lookup('00:10:5d:00:00:01').vendor).toBe('Draeger Medical');
      expect(r.lookup('00:a0:37:00:00:01').vendor).toBe('Mindray DS USA, Inc.');
    });
  },
);
