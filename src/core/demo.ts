/**
 * @module core/demo
 * The demo hospital is seeded by a list of seeders, one per capability, run in order. A capability
 * adds its seeder to `demoSeeders` in `src/cli/demo-seeders.ts`; each receives the running
 * services and a seeded random source, so the demo is the same every time.
 */
import type { Rng } from './random.js';

export interface SeedContext<S> {
  services: S;
  rng: Rng;
  /** Reports progress to the terminal (`done` of `total`). */
  progress(done: number, total: number): void;
}

export interface DemoSeeder<S> {
  name: string;
  /** Seeds and returns a one-line summary ("42 people in 9 departments"). */
  run(ctx: SeedContext<S>): Promise<string>;
}
