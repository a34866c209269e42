/**
 * Differential check of the fast path: the rule set with its prefilter (needs, multi-pattern
 * matchers) must give exactly the matches of plain rule-by-rule evaluation, on the SigmaHQ
 * regression events with every rule loaded, and on small hand-made rules.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules, parseConcatenatedJson, RuleSet, type SigmaEvent } from '../../src/detect/index.js';
import { requiredLiteral } from '../../src/detect/sigma/regex-need.js';
import { ruleText } from './sigma-helpers.js';

const DATA = join(import.meta.dirname, '../../../shared/data/sigma');
const HAVE = existsSync(join(DATA, 'rules'));

function jsonStream(text: string): SigmaEvent[] {
  return parseConcatenatedJson(text) as SigmaEvent[];
}

const ids = (rs: RuleSet, e: SigmaEvent) => rs.match(e).map((m) => m.ruleId);

describe.skipIf(!HAVE)('prefiltered matching equals rule-by-rule evaluation', () => {
  it('on every SigmaHQ regression event with all rules loaded', () => {
    const loaded = loadRules(join(DATA, 'rules'));
    const plain = new RuleSet(loaded.rules, [], { prefilter: false });
    const fast = new RuleSet(loaded.rules, [], {});
    const base = join(DATA, 'regression');
    let events = 0;
    let matches = 0;
    for (const dir of readdirSync(base).sort())
      for (const f of readdirSync(join(base, dir)).filter((x) => x.endsWith('.json')))
        for (const e of jsonStream(readFileSync(join(base, dir, f), 'utf8'))) {
          const want = ids(plain, e);
          expect(ids(fast, e), dir).toEqual(want);
          events++;
          matches += want.length;
        }
    expect(events).toBeGreaterThan(100);
    expect(matches).toBeGreaterThan(100);
  }, 120_000);
});

describe('prefilter on hand-made rules', () => {
  const rules = [
    "sel:\n    CommandLine|contains:\n        - 'Invoke-Mimikatz'\n        - ' -enc '\n        - 'DownloadString'\ncondition: sel",
    "sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains|all: ['/c', 'whoami']\ncondition: sel",
    "sel:\n    CommandLine|re: '(?i)net\\s+user\\s+/add'\ncondition: sel",
    "sel:\n    Image|endswith: '.exe'\nflt:\n    Image|startswith: 'C:\\Windows\\'\ncondition: sel and not flt",
    "keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\ncondition: keywords",
    "sel:\n    User|cased: 'SYSTEM'\ncondition: sel",
    "sel:\n    Image|contains: 'TEMP\\*\\x.exe'\ncondition: sel",
  ];
  const texts = rules.map((d, i) => ({ file: `r${i}.yml`, text: ruleText(d, `r${i}`) }));
  const { rules: compiled } = loadRules(texts);
  const plain = new RuleSet(compiled, [], { prefilter: false });
  const fast = new RuleSet(compiled);
  const events: SigmaEvent[] = [
    { CommandLine: 'powershell IEX (New-Object Net.WebClient).downloadstring("x")' },
    { CommandLine: 'cmd /C WHOAMI /all', Image: 'C:\\Windows\\System32\\CMD.EXE' },
    { CommandLine: 'NET  USER /ADD eve', Image: 'c:\\windows\\system32\\net.exe' },
    { Image: 'D:\\tools\\evil.EXE', note: 'contains SEKURLSA::logonpasswords' },
    { User: 'system' },
    { User: 'SYSTEM' },
    { Image: 'C:\\Users\\a\\AppData\\Local\\Temp\\ab\\x.exe' },
    { Image: 'C:\\ſ\\İstanbul\\x.exe', CommandLine: 'ſekurlsa İnvoke-Mimikatz' },
    {},
  ];
  it('gives the same matches as plain evaluation', () => {
    for (const e of events) {
      const opts = { product: 'test', categories: [] };
      expect(
        fast.match(e, opts).map((m) => m.ruleId),
        JSON.stringify(e),
      ).toEqual(plain.match(e, opts).map((m) => m.ruleId));
    }
    expect(fast.match(events[1]!, { product: 'test', categories: [] }).map((m) => m.ruleId)).toContain('r1');
  });

  it('reads the literal every regular expression match must contain, or nothing when unsure', () => {
    expect(requiredLiteral('cmd.{0,5}/c', false)).toBe('cmd');
    expect(requiredLiteral('a|bcd', false)).toBeUndefined();
    expect(requiredLiteral('(?i)net\\s+user', false)).toBe('net');
    expect(requiredLiteral('(?i)sekurlsa', false)).toBe('ekurl');
    expect(requiredLiteral('abcd?', false)).toBe('abc');
    expect(requiredLiteral('[abc]+\\.exe', false)).toBe('.exe');
  });
});
