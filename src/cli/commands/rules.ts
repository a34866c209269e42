/**
 * @module cli/commands/rules
 * `vigil rules check <dir> [--json]`: what loads, what the engine cannot run (with the reason) and
 * what is invalid (with file and line); exits 1 when anything is invalid, so CI can gate rule
 * changes. `vigil rules test <rule-or-dir> <events> [--json]`: which rules fire on which events
 * (JSON lines, or a JSON file holding one event or an array), to try a rule before deploying it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { VigilError } from '../../core/index.js';
import { loadRules, mapEvent, type SigmaEvent } from '../../detect/index.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Events from a file: a JSON array, one JSON object, or JSON lines. */
export function readEvents(file: string): SigmaEvent[] {
  const text = readFileSync(file, 'utf8');
  const trimmed = text.trim();
  if (!trimmed) return [];
  try {
    const v: unknown = JSON.parse(trimmed);
    if (Array.isArray(v)) return v as SigmaEvent[];
    if (typeof v === 'object' && v !== null) return [v as SigmaEvent];
  } catch {
    // not one JSON value: JSON lines
  }
  return trimmed.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as SigmaEvent];
    } catch (e) {
      throw new VigilError('BAD_REQUEST', `${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
  });
}

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('Sigma detection rules');

  rules
    .command('check <dir>')
    .description(
      'load a rule directory or file and report what loads, what is unsupported and what is invalid',
    )
    .option('--json', 'print the report as one JSON object')
    .action((dir: string, opts: { json?: boolean }) => {
      const { report } = loadRules(dir);
      if (opts.json) print(JSON.stringify(report));
      else {
        print(
          `${report.documents} documents: ${report.loaded} detection rules loaded, ${report.filters} filters, ${report.correlations} correlations, ${report.unsupported.length} unsupported, ${report.errors.length} errors`,
        );
        for (const u of report.unsupported) print(`unsupported ${u.file}: ${u.title ?? u.rule}: ${u.reason}`);
        for (const e of report.errors) print(`error ${e.file}:${e.line}: ${e.message}`);
      }
      if (report.errors.length) process.exitCode = 1;
    });

  rules
    .command('test <rules> <events>')
    .description('run rules (a file or directory) on events (JSON lines, one JSON event or an array)')
    .option('--json', 'one JSON object per match: {"rule", "title", "level", "event"} (event index, from 0)')
    .action((ruleDir: string, eventsFile: string, opts: { json?: boolean }) => {
      const { ruleSet, report } = loadRules(ruleDir);
      for (const e of report.errors) process.stderr.write(`error ${e.file}:${e.line}: ${e.message}\n`);
      const events = readEvents(eventsFile);
      let n = 0;
      events.forEach((raw, index) => {
        const { event, logsource } = mapEvent(raw);
        for (const m of ruleSet.match(event, logsource)) {
          n++;
          if (opts.json)
            print(JSON.stringify({ rule: m.ruleId, title: m.title, level: m.level ?? null, event: index }));
          else print(`event ${index}: ${m.ruleId} ${m.title}${m.level ? ` (${m.level})` : ''}`);
        }
      });
      if (!opts.json) print(`${n} matches on ${events.length} events with ${report.loaded} rules`);
      if (report.errors.length) process.exitCode = 1;
    });
}
