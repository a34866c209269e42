/**
 * Helpers for the engine's unit tests: build a rule from a detection block and match events,
 * so each test reads as the Sigma it checks.
 */
import { loadRules } from '../../src/detect/sigma/load.js';
import type { CompileOptions, SigmaEvent } from '../../src/detect/sigma/types.js';

/** Indent a YAML block under `detection:`. */
function indent(block: string): string {
  return block
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** A one-rule file with the given detection (YAML text) under product `test`. */
export function ruleText(detection: string, id = 'r1'): string {
  return `title: Test rule\nid: ${id}\nlogsource:\n    product: test\ndetection:\n${indent(detection)}\n`;
}

/** Compile a detection and return a predicate over events (throws with the load report). */
export function detector(detection: string, opts: CompileOptions = {}): (e: SigmaEvent) => boolean {
  const { ruleSet, report } = loadRules([{ file: 'test.yml', text: ruleText(detection) }], opts);
  if (report.loaded !== 1) throw new Error(JSON.stringify([...report.unsupported, ...report.errors]));
  return (e) => ruleSet.match(e, { product: 'test', categories: [] }).length === 1;
}

/** The load report of a detection (for unsupported / error cases). */
export function check(detection: string, opts: CompileOptions = {}) {
  return loadRules([{ file: 'test.yml', text: ruleText(detection) }], opts).report;
}
