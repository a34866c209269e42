/**
 * `npm run bench [name…]`: runs the benchmarks under bench/ (all, or those named), prints a table,
 * then one JSON line per figure.
 */

import { accessBenchmark } from './access.bench.js';
import { awarenessBenchmark } from './awareness.bench.js';
import { detectBenchmark } from './detect.bench.js';
import type { Benchmark, Figure } from './figure.js';
import { httpBenchmark } from './http.bench.js';
import { sensorBenchmark } from './sensor.bench.js';
import { sigmaBenchmark } from './sigma.bench.js';
import { vaultBenchmark } from './vault.bench.js';

const ALL: Benchmark[] = [
  httpBenchmark,
  accessBenchmark,
  awarenessBenchmark,
  sensorBenchmark,
  sigmaBenchmark,
  detectBenchmark,
  vaultBenchmark,
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !ALL.some((b) => b.name === w));
  if (unknown.length) {
    console.error(
      `Unknown benchmark(s): ${unknown.join(', ')}. Available: ${ALL.map((b) => b.name).join(', ')}`,
    );
    process.exit(2);
  }
  const chosen = wanted.length ? ALL.filter((b) => wanted.includes(b.name)) : ALL;
  const figures: Figure[] = [];
  for (const b of chosen) {
    console.error(`\n== ${b.name}: ${b.description}`);
    figures.push(...(await b.run((line) => console.error(`   ${line}`))));
  }
  const rows = figures.map((f) => [
    f.bench,
    f.unit,
    String(f.value),
    f.peer ?? '-',
    f.peer_value === null ? '-' : String(f.peer_value),
    f.ratio === null ? '-' : String(f.ratio),
  ]);
  const head = ['bench', 'unit', 'value', 'peer', 'peer value', 'ratio'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  console.log('');
  for (const f of figures) console.log(JSON.stringify(f));
}

await main();
