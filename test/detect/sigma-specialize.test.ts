/**
 * Rules specialised on an event's kind (sigma/specialize.ts, RuleSet.matchLayers): on layered
 * Vigil events they must fire exactly as the rules do on the merged object, read the plain way
 * (RuleSet.match, which never specialises). Checked on random rules that mix tests of `kind`
 * (exact, lists, wildcards, exists, null, neq, negations, `1 of` / `all of`, keywords, fieldref)
 * with other fields, with meta filters, and on hostile events: no kind, a kind that is not a
 * string, a kind only in `data`, a kind the enrichment shadows, an inherited kind, thousands of
 * kinds.
 */
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/index.js';
import { type EventLogSource, loadRules, type RuleSet, type SigmaEvent } from '../../src/detect/index.js';
import { type Layers, merged } from '../../src/detect/sigma/event.js';

const LS: EventLogSource = Object.freeze({
  product: 'test',
  categories: Object.freeze([]) as unknown as string[],
});
const KINDS = ['net.flow', 'net.dicom.command', 'auth.login.failed', 'auth.login.succeeded', 'NET.FLOW', 'x'];

/** Search identifiers the random rules are made of (`kind` alone, other fields, both). */
const SEARCHES = [
  'kind: net.flow',
  'kind: [auth.login.failed, auth.login.succeeded]',
  'kind|startswith: net.',
  "kind|endswith: '.failed'",
  "kind|contains: 'dicom'",
  'kind|exists: true',
  'kind|exists: false',
  'kind: null',
  'kind|neq: net.flow',
  'kind|cased: NET.FLOW',
  "kind|re: '^auth\\.'",
  'kind: net.flow\n  a: one',
  'a: [one, two]',
  'b|gte: 3',
  'a|exists: true',
  'b: null',
  "'net.port': 445",
  'kind|fieldref: a',
  "- 'flow'\n  - 'two'",
];

function randomRule(r: () => number, id: string): string {
  const n = 1 + Math.floor(r() * 4);
  const names: string[] = [];
  let body = '';
  for (let i = 0; i < n; i++) {
    const name = `${r() < 0.5 ? 'sel' : 'flt'}_${i}`;
    names.push(name);
    body += `  ${name}:\n    ${SEARCHES[Math.floor(r() * SEARCHES.length)]!.replace(/\n {2}/g, '\n    ')}\n`;
  }
  const pick = () => names[Math.floor(r() * names.length)]!;
  const conditions = [
    names.join(' and '),
    names.join(' or '),
    `${pick()} and not ${pick()}`,
    `not (${pick()} or ${pick()})`,
    '1 of sel_*',
    'all of them',
    `1 of them and not ${pick()}`,
  ];
  const cond = conditions[Math.floor(r() * conditions.length)]!;
  const valid =
    cond.includes('sel_*') && !names.some((x) => x.startsWith('sel_')) ? names.join(' or ') : cond;
  return `title: ${id}\nid: ${id}\nlogsource:\n  product: test\ndetection:\n${body}  condition: ${valid}\n`;
}

function randomValue(r: () => number): unknown {
  const x = r();
  if (x < 0.4) return KINDS[Math.floor(r() * KINDS.length)];
  if (x < 0.5) return ['one', 'two', 'ONE'][Math.floor(r() * 3)];
  if (x < 0.6) return Math.floor(r() * 6);
  if (x < 0.7) return null;
  if (x < 0.8) return [KINDS[0], 'one'];
  if (x < 0.9) return { kind: 'net.flow' };
  return r() < 0.5;
}

/** A layered event, often with an awkward kind. */
function randomLayers(r: () => number): Layers {
  const x = r();
  let event: SigmaEvent;
  if (x < 0.6) event = { v: 1, kind: KINDS[Math.floor(r() * KINDS.length)] };
  else if (x < 0.7) event = { v: 1 };
  else if (x < 0.8) event = { v: 1, kind: randomValue(r) };
  else if (x < 0.9)
    event = Object.create({ kind: 'net.flow' }) as SigmaEvent; // inherited: not the event's own
  else event = { v: 1, kind: 'net.flow', 'kind.x': 'y' };
  for (const k of ['a', 'b', 'net.port']) if (r() < 0.5) event[k] = randomValue(r);
  const data: SigmaEvent | undefined = r() < 0.7 ? {} : undefined;
  if (data) for (const k of ['kind', 'a', 'b', 'flow']) if (r() < 0.4) data[k] = randomValue(r);
  const extra: SigmaEvent | undefined = r() < 0.5 ? {} : undefined;
  if (extra) for (const k of ['kind', 'a']) if (r() < 0.3) extra[k] = randomValue(r);
  return { extra, event, data };
}

const ids = (ms: { ruleId: string }[]) => ms.map((m) => m.ruleId);

function ruleSet(texts: string[], prefilter = true): RuleSet {
  const { ruleSet, report } = loadRules(
    texts.map((text, i) => ({ file: `r${i}.yml`, text })),
    {},
  );
  expect([...report.errors, ...report.unsupported]).toEqual([]);
  if (!prefilter) return new (ruleSet.constructor as typeof RuleSet)(ruleSet.rules, [], { prefilter: false });
  return ruleSet;
}

describe('rules specialised on the event kind', () => {
  it('fire as the plain rules do, on random rules and hostile layered events', () => {
    const r = seededRng(11).next;
    let fired = 0;
    for (let round = 0; round < 40; round++) {
      // Enough rules for the prefilter to be built for some of the specialised lists.
      const texts = Array.from({ length: 3 + Math.floor(r() * 8) }, (_, i) =>
        randomRule(r, `r${round}_${i}`),
      );
      const fast = ruleSet(texts);
      const plain = ruleSet(texts, false);
      for (let i = 0; i < 150; i++) {
        const layers = randomLayers(r);
        const want = ids(plain.match(merged(layers), LS));
        // Twice: the first event of a kind builds its specialisation, the second uses it.
        expect(ids(fast.matchLayers(layers, LS)), JSON.stringify(layers)).toEqual(want);
        expect(ids(fast.matchLayers(layers, LS))).toEqual(want);
        fired += want.length;
      }
    }
    expect(fired).toBeGreaterThan(500);
  });

  it('applies meta filters to rules that the kind decides', () => {
    const rule = (id: string, sel: string) =>
      `title: ${id}\nid: ${id}\nlogsource:\n  product: test\ndetection:\n  sel:\n    ${sel}\n  condition: sel\n`;
    const filter =
      'title: f\nlogsource:\n  product: test\nfilter:\n  rules: [always, partly]\n  selection:\n    a: skip\n  condition: selection\n';
    const { ruleSet } = loadRules([
      { file: 'a.yml', text: rule('always', 'kind: auth.login.failed') },
      { file: 'b.yml', text: rule('partly', 'kind: auth.login.failed\n    b: 1') },
      { file: 'c.yml', text: rule('never', 'kind: net.flow') },
      { file: 'f.yml', text: filter },
    ]);
    const at = (data: SigmaEvent) =>
      ids(ruleSet.matchLayers({ extra: undefined, event: { v: 1, kind: 'auth.login.failed' }, data }, LS));
    expect(at({})).toEqual(['always']);
    expect(at({ b: 1 })).toEqual(['always', 'partly']);
    expect(at({ a: 'skip', b: 1 })).toEqual([]);
  });

  it('answers a kind that decides every rule without reading the rest of the event', () => {
    const { ruleSet } = loadRules([
      {
        file: 'r.yml',
        text: 'title: r\nid: r\nlogsource:\n  product: test\ndetection:\n  sel:\n    kind: auth.login.failed\n  condition: sel\n',
      },
    ]);
    // A data layer that throws when read: the result must come from the kind alone.
    const trap = new Proxy(
      {},
      {
        get: () => {
          throw new Error('read');
        },
        getOwnPropertyDescriptor: () => {
          throw new Error('read');
        },
        has: () => {
          throw new Error('read');
        },
      },
    ) as SigmaEvent;
    const layers = (kind: string): Layers => ({ extra: undefined, event: { v: 1, kind }, data: trap });
    expect(ids(ruleSet.matchLayers(layers('auth.login.failed'), LS))).toEqual(['r']);
    expect(ids(ruleSet.matchLayers(layers('auth.login.succeeded'), LS))).toEqual([]);
  });

  it('stays right past the number of kinds it specialises for', () => {
    const texts = [
      'title: r\nid: r\nlogsource:\n  product: test\ndetection:\n  sel:\n    kind|startswith: k.1\n    a: one\n  condition: sel\n',
    ];
    const fast = ruleSet(texts);
    const plain = ruleSet(texts, false);
    for (let i = 0; i < 3000; i++) {
      const layers: Layers = {
        extra: undefined,
        event: { v: 1, kind: `k.${i}` },
        data: { a: i % 2 ? 'one' : 'two' },
      };
      expect(ids(fast.matchLayers(layers, LS)), `k.${i}`).toEqual(ids(plain.match(merged(layers), LS)));
    }
  });
});
