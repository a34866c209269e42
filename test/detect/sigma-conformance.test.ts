/**
 * Conformance of the Sigma engine on data written by others (../shared/data/sigma): the SigmaHQ
 * rule corpus must compile (>= 99%), every regression case with JSON events must fire its rule
 * with the expected match count, and the specification's schema test rules must load.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type LoadResult, loadRules, parseConcatenatedJson, parseRuleText } from '../../src/detect/index.js';

const DATA = join(import.meta.dirname, '../../../shared/data/sigma');
const HAVE = existsSync(join(DATA, 'rules'));
const SKIP = HAVE ? '' : ` (skipped: ${DATA} is missing)`;

/**
 * Cases whose `match_count` disagrees with the rule text applied to the case's own events: the
 * JSON holds more events that the rule's selection plainly selects than info.yml counts (the
 * count was probably recorded against a smaller capture). We assert what the rule text gives
 * and list them in the report instead of bending the engine.
 */
const DATA_DISAGREES: Record<string, { expected: number; actual: number; why: string }> = {
  file_event_win_anydesk_artefact: {
    expected: 1,
    actual: 3,
    why: 'three TargetFilename values contain \\AppData\\Roaming\\AnyDesk\\user.conf',
  },
  file_event_win_cred_dump_tools_dropped_files: {
    expected: 1,
    actual: 3,
    why: 'procdump.exe, procdump64.exe and procdump64a.exe all end a listed name',
  },
  registry_set_change_security_zones: {
    expected: 1,
    actual: 3,
    why: 'three ZoneMap\\Domains values set to DWORD 2, none filtered',
  },
};

const jsonStream = parseConcatenatedJson;

describe.skipIf(!HAVE)(`Sigma conformance on SigmaHQ data${SKIP}`, () => {
  let loaded: LoadResult;
  beforeAll(() => {
    loaded = loadRules(join(DATA, 'rules'));
  }, 120_000);

  it('compiles at least 99% of the 3,141 SigmaHQ rules and reports every reason', () => {
    const r = loaded.report;
    const pct = (100 * r.loaded) / Math.max(1, r.documents);
    console.log(`sigma rules: ${r.documents} documents, ${r.loaded} compiled (${pct.toFixed(2)}%)`);
    const reasons = new Map<string, number>();
    for (const u of r.unsupported) {
      console.log(`  unsupported ${u.file}: ${u.reason}`);
      const key = u.reason.replace(/".*"|`.*`/g, '…');
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    for (const e of r.errors) console.log(`  error ${e.file}:${e.line}: ${e.message}`);
    for (const [k, n] of reasons) console.log(`  ${n} × ${k}`);
    expect(r.documents).toBe(3141);
    expect(r.loaded / r.documents).toBeGreaterThanOrEqual(0.99);
  });

  it('fires every regression case with JSON events with the expected match count', () => {
    const base = join(DATA, 'regression');
    const byId = new Set(loaded.rules.map((r) => r.id));
    let withEvents = 0;
    let passed = 0;
    const notInCorpus: string[] = [];
    const failures: string[] = [];
    for (const dir of readdirSync(base).sort()) {
      const info = parse(readFileSync(join(base, dir, 'info.yml'), 'utf8')) as {
        rule_metadata: { id: string }[];
        regression_tests_info?: { match_count?: number }[];
      };
      const files = readdirSync(join(base, dir)).filter((f) => f.endsWith('.json'));
      if (!info.regression_tests_info || !files.length) continue;
      withEvents++;
      const id = info.rule_metadata[0]!.id;
      if (!byId.has(id)) {
        notInCorpus.push(dir);
        continue;
      }
      const events = files.flatMap((f) => jsonStream(readFileSync(join(base, dir, f), 'utf8')));
      expect(events.length).toBeGreaterThan(0);
      const n = events.filter((e) =>
        loaded.ruleSet.match(e as Record<string, unknown>).some((m) => m.ruleId === id),
      ).length;
      const want = info.regression_tests_info[0]!.match_count;
      const known = DATA_DISAGREES[dir];
      const ok = known
        ? known.expected === want && n === known.actual
        : want === undefined
          ? n >= 1
          : n === want;
      if (ok && !known) passed++;
      if (!ok) failures.push(`${dir}: ${n} matches, expected ${want ?? '>= 1'}`);
    }
    console.log(
      `regression: ${withEvents} cases with JSON events; ${notInCorpus.length} name a rule absent from the corpus (${notInCorpus.join(', ')}); ` +
        `${passed} pass with the expected count; ${Object.keys(DATA_DISAGREES).length} where info.yml disagrees with the rule text (asserted at the rule's count)`,
    );
    expect(failures).toEqual([]);
    expect(withEvents).toBeGreaterThanOrEqual(100);
    expect(passed).toBe(withEvents - notInCorpus.length - Object.keys(DATA_DISAGREES).length);
  });

  it('does not fire unrelated rules on the regression events more than the rule corpus allows', () => {
    // Every regression event is a Windows event: only windows rules may be candidates.
    const ls = { product: 'windows', service: 'sysmon', categories: ['process_creation'] };
    const candidates = loaded.ruleSet.rulesFor(ls);
    expect(candidates.length).toBeGreaterThan(500);
    expect(
      candidates.every((r) => r.logsource.product === undefined || r.logsource.product === 'windows'),
    ).toBe(true);
  });
});

describe.skipIf(!HAVE)(`Sigma specification schema test rules${SKIP}`, () => {
  it('loads every valid schema test rule (rules, filters, correlations)', () => {
    const dir = join(DATA, 'spec/tests/schema');
    const counts = { detection: 0, filter: 0, correlation: 0 };
    for (const sub of readdirSync(dir)) {
      for (const f of readdirSync(join(dir, sub))) {
        const r = parseRuleText(readFileSync(join(dir, sub, f), 'utf8'), `${sub}/${f}`);
        expect(r.errors, `${sub}/${f}`).toEqual([]);
        expect(r.rules.length, `${sub}/${f}`).toBe(1);
        counts[r.rules[0]!.kind]++;
      }
    }
    expect(counts).toEqual({ detection: 2, filter: 2, correlation: 8 });
    // Loaded together, rules and filters compile; correlations whose referenced rules are not in
    // the test set are reported unsupported with the missing names (never silently dropped).
    const texts = readdirSync(dir).flatMap((sub) =>
      readdirSync(join(dir, sub)).map((f) => ({
        file: `${sub}/${f}`,
        text: readFileSync(join(dir, sub, f), 'utf8'),
      })),
    );
    const { report } = loadRules(texts);
    expect(report.errors).toEqual([]);
    expect(report.loaded).toBe(2);
    expect(report.filters).toBe(2);
    expect(report.correlations + report.unsupported.length).toBe(8);
    for (const u of report.unsupported) expect(u.reason).toMatch(/references rules that are not loaded/);
  });
});
