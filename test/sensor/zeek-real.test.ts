/**
 * Real Zeek 6.2 logs written by others (../shared/data/zeek: the same traffic in TSV and JSON):
 * both formats ingest completely and give equal events.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import { newZeekStats, readZeekFile } from '../../src/sensor/zeek/index.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data/zeek');
const present = existsSync(path.join(DATA, 'tsv'));
const logs = present ? readdirSync(path.join(DATA, 'tsv')).map((f) => f.replace('.log.gz', '')) : [];

describe.skipIf(!present)(
  present
    ? 'Zeek logs of ../shared/data/zeek'
    : 'Zeek logs (skipped: ../shared/data/zeek is not beside this clone)',
  () => {
    it('has the twelve logs of the data set', () => {
      expect(logs.sort()).toEqual([
        'dns',
        'known_hosts',
        'known_services',
        'modbus',
        'notice',
        'rdp',
        'smb_mapping',
        'software',
        'ssh',
        'ssl',
        'weird',
        'x509',
      ]);
    });

    for (const log of logs) {
      it(`${log}: TSV and JSON give the same events, none skipped`, { timeout: 120_000 }, async () => {
        const ts = newZeekStats();
        const js = newZeekStats();
        const fromTsv: VigilEvent[] = [];
        const fromJson: VigilEvent[] = [];
        for await (const b of readZeekFile(path.join(DATA, 'tsv', `${log}.log.gz`), ts)) fromTsv.push(...b);
        for await (const b of readZeekFile(path.join(DATA, 'json', `${log}.json.gz`), js))
          fromJson.push(...b);
        expect(ts.skipped).toEqual({});
        expect(js.skipped).toEqual({});
        expect(fromTsv.length).toBeGreaterThan(0);
        expect(fromTsv.length).toBe(fromJson.length);
        expect(ts.byLog).toEqual({ [log]: fromTsv.length });
        let mismatches = 0;
        for (let i = 0; i < fromTsv.length; i++) {
          if (JSON.stringify(fromTsv[i]) !== JSON.stringify(fromJson[i])) mismatches++;
        }
        expect(mismatches).toBe(0);
        expect(fromTsv.every((e) => e.kind === `zeek.${log}`)).toBe(true);
        // Logs outside the understood set (modbus, known_hosts) are read and counted, not lost.
        expect(ts.other).toBe(['modbus', 'known_hosts'].includes(log) ? fromTsv.length : 0);
      });
    }
  },
);
