import { describe, expect, it } from 'vitest';
import { loadRules } from './load.js';
import { parseRuleText, parseTimespan } from './parse.js';

describe('parsing and validation', () => {
  it('reports malformed YAML with its line, without throwing', () => {
    const r = parseRuleText(
      'title: x\nlogsource:\n  product: a\ndetection:\n  sel: [1\n  condition: sel\n',
      'bad.yml',
    );
    expect(r.rules).toHaveLength(0);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.file).toBe('bad.yml');
    expect(r.errors[0]!.line).toBeGreaterThanOrEqual(5);
    expect(r.errors[0]!.message).toMatch(/^YAML/);
    const dup = parseRuleText('title: x\ntitle: y\n', 'dup.yml');
    expect(dup.errors[0]!.line).toBe(2);
  });

  it('reports structural errors with the line of the offending key', () => {
    const r = parseRuleText(
      'title: x\nlevel: severe\nlogsource:\n  product: a\ndetection:\n  sel: {A: 1}\n  condition: sel\n',
      'f.yml',
    );
    expect(r.errors[0]).toMatchObject({ file: 'f.yml', line: 2 });
    expect(r.errors[0]!.message).toMatch(/unknown level/);
    const noCond = parseRuleText('title: x\nlogsource:\n  product: a\ndetection:\n  sel: {A: 1}\n', 'f.yml');
    expect(noCond.errors[0]!.message).toMatch(/no `condition`/);
    const noTitle = parseRuleText('logsource:\n  product: a\ndetection:\n  condition: sel\n', 'f.yml');
    expect(noTitle.errors[0]!.message).toMatch(/title/);
    expect(parseRuleText('- a\n- b\n', 'f.yml').errors[0]!.message).toMatch(/mapping/);
  });

  it('expands action: global / repeat / reset collections', () => {
    const text = [
      'action: global',
      'title: Base',
      'logsource:',
      '  product: windows',
      'detection:',
      '  condition: sel',
      '---',
      'id: one',
      'logsource:',
      '  category: process_creation',
      'detection:',
      '  sel:',
      '    Image: a.exe',
      '---',
      'action: repeat',
      'id: two',
      'detection:',
      '  sel:',
      '    Image: b.exe',
      '---',
      'action: reset',
      '---',
      'title: Alone',
      'id: three',
      'logsource:',
      '  product: linux',
      'detection:',
      '  s: {X: 1}',
      '  condition: s',
    ].join('\n');
    const r = parseRuleText(text, 'c.yml');
    expect(r.errors).toEqual([]);
    expect(r.rules.map((x) => x.id)).toEqual(['one', 'two', 'three']);
    const [one, two, three] = r.rules;
    expect(one).toMatchObject({
      title: 'Base',
      logsource: { product: 'windows', category: 'process_creation' },
    });
    expect(two).toMatchObject({ title: 'Base', detection: { sel: { Image: 'b.exe' } } });
    expect(three).toMatchObject({ title: 'Alone', logsource: { product: 'linux' } });
    const { ruleSet } = loadRules([{ file: 'c.yml', text }]);
    const ls = { product: 'windows', categories: ['process_creation'] };
    expect(ruleSet.match({ Image: 'B.EXE' }, ls).map((m) => m.ruleId)).toEqual(['two']);
  });

  it('validates correlation rules', () => {
    const ok = parseRuleText(
      'title: c\nname: c1\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 90m\n  condition:\n    field: User\n    gte: 10\n',
      'c.yml',
    );
    expect(ok.errors).toEqual([]);
    expect(ok.rules[0]).toMatchObject({
      kind: 'correlation',
      type: 'value_count',
      timespanMs: 5_400_000,
      field: 'User',
    });
    const bad = (body: string) =>
      parseRuleText(`title: c\ncorrelation:\n${body}`, 'c.yml').errors[0]?.message ?? 'no error';
    expect(bad('  type: nope\n  rules: [a]\n  timespan: 1h\n')).toMatch(/unknown correlation type/);
    expect(bad('  type: event_count\n  rules: [a]\n  timespan: 1h\n')).toMatch(/needs a `condition`/);
    expect(bad('  type: event_count\n  rules: [a]\n  timespan: soon\n  condition: {gte: 1}\n')).toMatch(
      /timespan/,
    );
    expect(bad('  type: value_sum\n  rules: [a]\n  timespan: 1h\n  condition: {gte: 1}\n')).toMatch(/field/);
    expect(bad('  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {about: 1}\n')).toMatch(
      /operator/,
    );
    expect(bad('  type: temporal\n  rules: []\n  timespan: 1h\n')).toMatch(/at least one rule/);
    expect(parseTimespan('2d')).toBe(172_800_000);
  });

  it('validates filter rules', () => {
    const f = parseRuleText(
      'title: f\nlogsource:\n  product: w\nfilter:\n  rules: [r1]\n  selection: {User|startswith: adm_}\n  condition: selection\n',
      'f.yml',
    );
    expect(f.rules[0]).toMatchObject({ kind: 'filter', rules: ['r1'], condition: 'selection' });
    const bad = parseRuleText(
      'title: f\nlogsource:\n  product: w\nfilter:\n  selection: {A: 1}\n  condition: selection\n',
      'f.yml',
    );
    expect(bad.errors[0]!.message).toMatch(/filter.rules/);
  });

  it('applies meta filters as exclusions to the rules they name', () => {
    const rule =
      'title: r\nid: r1\nlogsource:\n  product: w\ndetection:\n  sel: {Image|endswith: rar.exe}\n  condition: sel\n';
    const filter =
      'title: f\nlogsource:\n  product: w\nfilter:\n  rules: [r1]\n  selection: {User|startswith: adm_}\n  condition: selection\n';
    const { ruleSet, report } = loadRules([
      { file: 'r.yml', text: rule },
      { file: 'f.yml', text: filter },
    ]);
    expect(report.filters).toBe(1);
    const ls = { product: 'w', categories: [] };
    expect(ruleSet.match({ Image: 'c:\\rar.exe', User: 'bob' }, ls)).toHaveLength(1);
    expect(ruleSet.match({ Image: 'c:\\rar.exe', User: 'adm_bob' }, ls)).toHaveLength(0);
  });
});
