/**
 * @module cli/demo-seeders
 * The demo hospital, one seeder per capability, in order. A capability that adds demo data
 * appends its seeder here.
 */
import type { DemoSeeder } from '../core/index.js';
import { devicesDemoSeed } from '../devices/index.js';
import { identityDemoSeed } from '../identity/index.js';
import type { Services } from '../server/index.js';
import { vaultDemoSeed } from '../vault/index.js';

export const demoSeeders: ReadonlyArray<DemoSeeder<Services>> = [
  {
    name: 'people',
    async run({ services, rng, progress }) {
      const { summary, demoPassword } = await identityDemoSeed(
        { db: services.database.db, clock: services.clock },
        services.identity.users,
        rng,
        progress,
      );
      return `${summary}; demo password for every demo person: ${demoPassword}`;
    },
  },
  {
    name: 'devices',
    run: ({ services, rng, progress }) =>
      devicesDemoSeed(services.devices, rng, progress, services.clock.now()),
  },
  {
    name: 'patient records',
    async run({ services, rng, progress }) {
      const clinicians = (await services.identity.users.list())
        .filter((u) => u.role === 'clinician')
        .map((u) => ({ userId: u.id, name: u.displayName }));
      return vaultDemoSeed(services.vault, clinicians, rng, progress, services.clock.now());
    },
  },
];
