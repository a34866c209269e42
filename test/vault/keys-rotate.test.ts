/**
 * `vigil keys rotate` in its own process while a "server" (Services on the same data directory
 * and database, here in the test process) keeps reading and writing, on every engine: the server
 * seals new data keys under the new KEK as soon as it exists, a second process that only reads
 * opens keys re-wrapped under a KEK it never loaded, no restart; afterwards every data key is under
 * the new KEK and every resource (old and written during the rotation) reads back. An interrupted
 * rotation is finished by running the command again, without a new KEK; legal-hold reasons are
 * re-sealed too.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/platform/config/index.js';
import { FileKeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { createServices, type Services } from '../../src/server/index.js';
import {
  createVault,
  rewrapDataKeys,
  rolePolicy,
  type Vault,
  type VaultPrincipal,
} from '../../src/vault/index.js';
import { POSTGRES_URL } from '../support/databases.js';
import { ok, requireBuilt, vigil } from './cli-process.js';
import { OPERATOR, observation, patient } from './privacy-fixture.js';

const DOC: VaultPrincipal = { id: 'u-doc', role: 'clinician' };
const SEED = 60;

interface Engine {
  name: string;
  /** A database URL for the services and the CLI (undefined: SQLite under the data directory). */
  url(): Promise<string | undefined>;
  cleanup(): Promise<void>;
}

function engines(): Engine[] {
  const list: Engine[] = [{ name: 'sqlite', url: async () => undefined, cleanup: async () => {} }];
  const pgUrl = POSTGRES_URL;
  if (pgUrl) {
    const schema = `vigil_rot_${randomBytes(6).toString('hex')}`;
    const admin = async (query: string) => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        await c.query(query);
      } finally {
        await c.end();
      }
    };
    list.push({
      name: 'postgres',
      async url() {
        await admin(`create schema ${schema}`);
        const u = new URL(pgUrl);
        u.searchParams.set('options', `-c search_path=${schema}`);
        return u.toString();
      },
      cleanup: () => admin(`drop schema if exists ${schema} cascade`),
    });
  }
  return list;
}

/** A vault over some services' database and key ring, with its own data-key cache; role policy. */
function vaultOver(s: Services): Vault {
  return createVault({
    db: s.database.db,
    keys: s.keys,
    bus: s.bus,
    clock: s.clock,
    logger: silentLogger(),
    policy: rolePolicy,
  });
}

for (const engine of engines()) {
  describe(`vigil keys rotate while serving, on ${engine.name}`, () => {
    let dir: string;
    let dataDir: string;
    let env: Record<string, string>;
    let server: Services;
    let reader: Services;
    let serverVault: Vault;
    let readerVault: Vault;
    const observations: string[] = [];

    beforeAll(async () => {
      requireBuilt();
      dir = mkdtempSync(path.join(tmpdir(), 'vigil-rotate-'));
      dataDir = path.join(dir, 'data');
      const url = await engine.url();
      env = url ? { VIGIL_DATABASE_URL: url } : {};
      const config = validateConfig({ dataDir, ...(url ? { database: { url } } : {}) });
      server = await createServices(config, silentLogger());
      reader = await createServices(config, silentLogger(), { migrate: false });
      serverVault = vaultOver(server);
      readerVault = vaultOver(reader);
      await serverVault.warmUp();
      const seed = [];
      for (let i = 0; i < SEED; i++) {
        seed.push(patient(`p${i}`), observation(`o${i}`, `p${i}`));
        observations.push(`o${i}`);
      }
      await serverVault.importBatch(OPERATOR, seed);
    }, 120_000);

    afterAll(async () => {
      await reader?.close();
      await server?.close();
      await engine.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const kekCounts = async () =>
      (
        await sql<{
          kek_id: string;
          n: number | string;
        }>`select kek_id, count(*) as n from vault_data_keys where wrapped_key is not null group by kek_id`.execute(
          server.database.db,
        )
      ).rows
        .map((r) => [r.kek_id, Number(r.n)] as const)
        .sort((a, b) => a[0].localeCompare(b[0]));
    const readAll = async (v: Vault, ids: readonly string[]) => {
      v.dataKeys.evict();
      for (const id of ids) {
        const r = await v.read(DOC, 'Observation', id);
        expect(r.resource.subject).toBeDefined();
      }
    };

    it('re-wraps every data key while the server reads and writes; no restart', async () => {
      expect(await kekCounts()).toEqual([['0001', SEED]]); // one data key per patient
      // Warm the server's cache: these keys are then used from memory throughout.
      for (const id of observations.slice(0, 10)) await serverVault.read(DOC, 'Observation', id);
      const kekFile = path.join(dataDir, 'keys', 'kek-0002.key');
      const abort = new AbortController();
      const cli = vigil(
        ['keys', 'rotate', '--batch-size', '3', '--settle-ms', '1500', '--data-dir', dataDir],
        {
          env,
          cwd: dir,
          signal: abort.signal,
        },
      );
      let done = false;
      void cli.finally(() => {
        done = true;
      });
      let written = 0;
      let writtenAfterKek = 0;
      let reads = 0;
      let coldReadsAfterKek = 0;
      let n = 0;
      try {
        while (!done) {
          const kekExists = existsSync(kekFile);
          // The server writes a new patient (a new data key) and reads, warm and cold.
          const pid = `w${n++}`;
          await serverVault.importBatch(OPERATOR, [patient(pid), observation(`${pid}-o`, pid)]);
          observations.push(`${pid}-o`);
          written++;
          if (kekExists) writtenAfterKek++;
          const sample = [0, 1, 2].map(() => observations[Math.floor(Math.random() * observations.length)]!);
          for (const id of sample) await serverVault.read(DOC, 'Observation', id);
          await readAll(readerVault, sample);
          reads += 6;
          if (kekExists) coldReadsAfterKek += 3;
          await new Promise((r) => setTimeout(r, 15));
        }
      } finally {
        // A failure above must not leave the rotation running into the next test.
        if (!done) abort.abort();
      }
      const result = ok(await cli, 'vigil keys rotate');
      expect(result.stdout).toContain('New key-encryption key 0002 (was 0001)');
      expect(result.stdout).toContain('Every data key is under the current key.');
      expect(result.stderr).toMatch(/Re-wrapping: \d+\/\d+ \(100%\)/);
      // The rotation really overlapped with the traffic.
      expect(written).toBeGreaterThan(3);
      expect(writtenAfterKek).toBeGreaterThan(0);
      expect(coldReadsAfterKek).toBeGreaterThan(0);
      expect(reads).toBeGreaterThan(0);

      // Every live data key is under the new KEK, including those the server made meanwhile.
      expect(await kekCounts()).toEqual([['0002', SEED + written]]);
      // The server seals with the new KEK without a restart.
      expect(server.keys.currentKekId()).toBe('0002');
      // Everything reads back, cold, in both processes; the reader loaded 0002 by itself.
      await readAll(readerVault, observations);
      await readAll(serverVault, observations);
      expect(reader.keys.kekIds()).toEqual(['0001', '0002']);
      const status = ok(await vigil(['keys', 'status', '--data-dir', dataDir], { env, cwd: dir }), 'status');
      expect(status.stdout).toContain('Current key-encryption key: 0002');
      expect(status.stdout).toContain(`0002 (current): ${SEED + written} data key(s)`);
      expect(status.stdout).toContain('Every data key is under the current key.');
      expect(await serverVault.verifyAudit()).toMatchObject({ ok: true });
    }, 240_000);

    it('an interrupted rotation is finished by running the command again, without a new KEK', async () => {
      await serverVault.privacy.setHoldAs(OPERATOR, 'p1', 'Case 2026-17 (Doe v. Hospital)');
      // A rotation that added 0003 and stopped after a few batches (as if killed).
      const ring = FileKeyRing.open(path.join(dataDir, 'keys'));
      expect(ring.rotate()).toBe('0003');
      await expect(
        rewrapDataKeys(
          server.database.db,
          ring,
          (p) => {
            if (p.rewrapped >= 6) throw new Error('killed');
          },
          { batchSize: 3 },
        ),
      ).rejects.toThrow('killed');
      const total = (await kekCounts()).reduce((s, [, c]) => s + c, 0);
      expect(await kekCounts()).toEqual([
        ['0002', total - 6],
        ['0003', 6],
      ]);
      const status = ok(await vigil(['keys', 'status', '--data-dir', dataDir], { env, cwd: dir }), 'status');
      expect(status.stdout).toContain(`${total - 6} data key(s) are under older keys`);

      const again = ok(
        await vigil(['keys', 'rotate', '--settle-ms', '0', '--data-dir', dataDir], { env, cwd: dir }),
        'rotate (resume)',
      );
      expect(again.stdout).toContain('An earlier rotation to key 0003 is unfinished');
      expect(again.stdout).toContain(
        `Re-wrapped ${total - 6} data key(s) and 1 legal-hold reason(s) under key 0003.`,
      );
      expect(existsSync(path.join(dataDir, 'keys', 'kek-0004.key'))).toBe(false);
      expect(await kekCounts()).toEqual([['0003', total]]);

      // Once finished, the command rotates again.
      const next = ok(
        await vigil(['keys', 'rotate', '--settle-ms', '0', '--data-dir', dataDir], { env, cwd: dir }),
        'rotate',
      );
      expect(next.stdout).toContain('New key-encryption key 0004 (was 0003)');
      expect(await kekCounts()).toEqual([['0004', total]]);
      const sealed = await sql<{
        reason_sealed: string;
      }>`select reason_sealed from vault_legal_holds`.execute(server.database.db);
      expect(sealed.rows[0]!.reason_sealed).toMatch(/^v1\.0004\./);
      expect(await readerVault.legalHolds.reasonFor('p1')).toBe('Case 2026-17 (Doe v. Hospital)');
      await readAll(readerVault, observations);
    }, 240_000);

    it('refuses bad options with one line', async () => {
      for (const args of [
        ['--batch-size', '0'],
        ['--batch-size', 'many'],
        ['--settle-ms', '-5'],
      ]) {
        const r = await vigil(['keys', 'rotate', ...args, '--data-dir', dataDir], { env, cwd: dir });
        expect(r.code, args.join(' ')).not.toBe(0);
        expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      }
      expect(existsSync(path.join(dataDir, 'keys', 'kek-0005.key'))).toBe(false);
    }, 120_000);
  });
}
