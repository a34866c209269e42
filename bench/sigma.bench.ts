/**
 * `sigma`: events per second through every compiled SigmaHQ rule whose log source applies
 * (RuleSet.match on the regression events, evtx mapping included), beside two baselines: the
 * same compiled rules evaluated one by one without the prefilter (the engine before it had
 * needs and multi-pattern matchers), and a naive one that re-derives each rule from its parsed
 * detection on every event. All three must give the same matches (checked). Needs
 * ../shared/data/sigma.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compileRule,
  loadRules,
  mapEvtx,
  parseConcatenatedJson,
  RuleSet,
  type SigmaEvent,
} from '../src/detect/index.js';
import { type Benchmark, figure } from './figure.js';

const DATA = join(import.meta.dirname, '../../shared/data/sigma');
const TARGET_EVENTS = Number(process.env.BENCH_SIGMA_EVENTS ?? 30_000);
const NAIVE_EVENTS = Number(process.env.BENCH_SIGMA_NAIVE_EVENTS ?? 30);

function jsonStream(text: string): SigmaEvent[] {
  return parseConcatenatedJson(text) as SigmaEvent[];
}

export const sigmaBenchmark: Benchmark = {
  name: 'sigma',
  description: `all compiled SigmaHQ rules over the regression events (${TARGET_EVENTS} events) vs per-event interpretation`,
  async run(log) {
    if (!existsSync(join(DATA, 'rules'))) {
      log(`skipped: ${DATA} is missing`);
      return [];
    }
    const loaded = loadRules(join(DATA, 'rules'));
    log(`${loaded.report.loaded} rules compiled`);
    const base = join(DATA, 'regression');
    const sample: SigmaEvent[] = [];
    for (const dir of readdirSync(base))
      for (const f of readdirSync(join(base, dir)).filter((x) => x.endsWith('.json')))
        sample.push(...jsonStream(readFileSync(join(base, dir, f), 'utf8')));
    const events = Array.from({ length: TARGET_EVENTS }, (_, i) => sample[i % sample.length]!);
    log(`${sample.length} distinct events, repeated to ${events.length}`);

    const plain = new RuleSet(loaded.rules, [], { prefilter: false });
    for (const e of sample) {
      const want = plain.match(e).map((x) => x.ruleId);
      const got = loaded.ruleSet.match(e).map((x) => x.ruleId);
      if (want.join() !== got.join()) throw new Error(`prefilter changed a result: ${got} vs ${want}`);
    }
    const compiledRun = (evs: SigmaEvent[]) => {
      let matches = 0;
      for (const e of evs) matches += loaded.ruleSet.match(e).length;
      return matches;
    };
    const naiveRun = (evs: SigmaEvent[]) => {
      let matches = 0;
      for (const e of evs) {
        const { event, logsource } = mapEvtx(e);
        for (const r of loaded.ruleSet.rulesFor(logsource))
          matches += new RuleSet([compileRule(r.source)]).match(event, logsource).length;
      }
      return matches;
    };
    // Same results on the sample.
    const a = compiledRun(sample);
    const b = naiveRun(sample);
    if (a !== b) throw new Error(`compiled and naive disagree: ${a} vs ${b} matches`);
    log(`${a} matches on the sample (both engines)`);

    compiledRun(events.slice(0, 20_000)); // warm-up
    let t = performance.now();
    const m = compiledRun(events);
    const compiledRate = events.length / ((performance.now() - t) / 1000);
    log(`compiled: ${compiledRate.toFixed(0)} events/s (${m} matches)`);

    const plainEvents = events.slice(0, Math.min(events.length, 3000));
    t = performance.now();
    for (const e of plainEvents) plain.match(e);
    const plainRate = plainEvents.length / ((performance.now() - t) / 1000);
    log(`rule by rule (no prefilter): ${plainRate.toFixed(0)} events/s`);

    const naiveEvents = events.slice(0, NAIVE_EVENTS);
    t = performance.now();
    naiveRun(naiveEvents);
    const naiveRate = naiveEvents.length / ((performance.now() - t) / 1000);
    log(`naive: ${naiveRate.toFixed(0)} events/s`);
    return [
      figure('sigma.match_all_rules', 'events/s', compiledRate, 'per-event interpretation', naiveRate),
      figure('sigma.match_all_rules_prefilter', 'events/s', compiledRate, 'rule by rule', plainRate),
    ];
  },
};
