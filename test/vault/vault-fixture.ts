/**
 * A Vault on one test database (any engine): the vault migrations, a fresh key directory and an
 * in-process bus, for tests that drive the repository without HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import { FileKeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import {
  type AccessPolicy,
  createVault,
  rolePolicy,
  type Vault,
  vaultMigrations,
} from '../../src/vault/index.js';

export interface VaultOnDb {
  vault: Vault;
  bus: MemoryBus;
  clock: ManualClock;
  close(): Promise<void>;
}

/**
 * `policy`: the access policy; by default roles only (these tests drive storage, not access);
 * `'care'` for the server's care-relationship policy.
 */
export async function vaultOn(
  database: Database,
  opts: { policy?: AccessPolicy | 'care' } = {},
): Promise<VaultOnDb> {
  await runMigrations(database, vaultMigrations);
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-vault-'));
  const keys = FileKeyRing.open(path.join(dir, 'keys'));
  const clock = new ManualClock('2026-03-01T08:00:00.000Z');
  const bus = new MemoryBus({ logger: silentLogger() });
  const vault = createVault({
    db: database.db,
    keys,
    bus,
    clock,
    logger: silentLogger(),
    checkpointEvery: 50,
    ...(opts.policy === 'care' ? {} : { policy: opts.policy ?? rolePolicy }),
  });
  await vault.warmUp();
  return {
    vault,
    bus,
    clock,
    async close() {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
