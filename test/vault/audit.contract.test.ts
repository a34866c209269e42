/**
 * The audit trail on every engine: appends chain, data change and entry commit together, signed
 * checkpoints, each tamper case found by `verifyAudit`, and concurrent appenders from two
 * connection pools (two "server processes") on one database.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/index.js';
import {
  type AuditEntryInput,
  AuditTrail,
  CheckpointSigner,
  GENESIS_HASH,
  linkHash,
  type VaultTables,
  verifyAudit,
} from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { secondConnection, type VaultFixture, vaultFixture } from './fixture.js';

const clinician = { id: 'u-clin', role: 'clinician' };

function entry(i: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return {
    actor: clinician,
    action: 'read',
    resources: [`Observation/o${i}/_history/1`],
    patientRef: 'a'.repeat(32),
    outcome: 'success',
    ...extra,
  };
}

for (const engine of testDatabases()) {
  describe(`vault audit trail on ${engine.name}`, () => {
    let database: Database;
    let f: VaultFixture;

    beforeEach(async () => {
      database = await engine.open();
      f = await vaultFixture(database, { checkpointEvery: 4 });
    });
    afterEach(async () => {
      await f.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    async function appendN(n: number): Promise<void> {
      for (let i = 1; i <= n; i++) {
        f.clock.advance(1000);
        await f.audit.append(entry(i));
      }
    }

    it('chains entries, signs a checkpoint every N and verifies', async () => {
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: true,
        entries: 0,
        checkpoints: 0,
      });
      const first = await f.audit.append(
        entry(1, {
          action: 'break-glass',
          breakGlass: { reason: 'unconscious in ED, no care team yet' },
          searchResultIds: null,
        }),
      );
      expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, action: 'break-glass' });
      const second = await f.audit.append(entry(2, { action: 'search', searchResultIds: ['p1', 'p2'] }));
      expect(second.prevHash).toBe(first.hash);
      await appendN(8);
      const cps = await sql<{
        upto_seq: number | string;
      }>`select upto_seq from vault_audit_checkpoints order by upto_seq`.execute(database.db);
      expect(cps.rows.map((r) => Number(r.upto_seq))).toEqual([4, 8]);
      expect(await f.audit.checkpoint()).toMatchObject({ uptoSeq: 10 });
      // The verifier needs only the PEM public key.
      expect(await verifyAudit(database.db, f.signer.publicKeyPem(), { batchSize: 3 })).toEqual({
        ok: true,
        entries: 10,
        checkpoints: 3,
      });
      expect(f.signer.publicKeyPem()).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      // The same key directory gives the same signing key (another process).
      expect(CheckpointSigner.fromKeyRing(f.keys).keyId).toBe(f.signer.keyId);
    });

    it('refuses malformed entries', async () => {
      await expect(f.audit.append(entry(1, { action: 'peek' as 'read' }))).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(f.audit.append(entry(1, { actor: { id: '', role: 'x' } }))).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(f.audit.append(entry(1, { breakGlass: { reason: '  ' } }))).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      expect(await verifyAudit(database.db, f.signer.publicKey)).toMatchObject({ ok: true, entries: 0 });
    });

    it('a data change and its entry commit or roll back together', async () => {
      const db = database.db.withTables<VaultTables>();
      await db.transaction().execute(async (trx) => {
        await f.resources.write(
          {
            resourceType: 'Observation',
            id: 'o1',
            versionId: '1',
            patientId: 'p1',
            lastUpdated: 't',
            body: '{}',
          },
          trx,
        );
        await f.audit.appendInTransaction(trx, entry(1, { action: 'create' }));
      });
      await expect(
        db.transaction().execute(async (trx) => {
          await f.resources.write(
            {
              resourceType: 'Observation',
              id: 'o2',
              versionId: '1',
              patientId: 'p1',
              lastUpdated: 't',
              body: '{}',
            },
            trx,
          );
          await f.audit.appendInTransaction(trx, entry(2, { action: 'create' }));
          throw new Error('the request failed after writing');
        }),
      ).rejects.toThrow(/request failed/);
      expect(await f.resources.read({ resourceType: 'Observation', id: 'o2' })).toBeNull();
      expect(await verifyAudit(database.db, f.signer.publicKey)).toMatchObject({ ok: true, entries: 1 });
      // The chain continues at 2 after the rollback.
      expect((await f.audit.append(entry(3))).seq).toBe(2);
    });

    it('finds a changed field', async () => {
      await appendN(10);
      await sql`update vault_audit set actor_id = 'someone-else' where seq = 6`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 6,
        problem: 'changed',
      });
    });

    // Every hashed column, changed on its own (entry 6 of 10): a JSON array or null counts too.
    const columnChanges: Array<[string, string | null]> = [
      ['time', '2020-01-01T00:00:00.000Z'],
      ['actor_role', 'admin'],
      ['action', 'search'],
      ['resources', '["Observation/other/_history/1"]'],
      ['patient_ref', 'b'.repeat(32)],
      ['patient_ref', null],
      ['outcome', 'denied'],
      ['break_glass_reason', 'added afterwards'],
      ['search_result_ids', '["Patient/p9"]'],
    ];
    for (const [column, value] of columnChanges) {
      it(`finds ${column} changed to ${value === null ? 'null' : 'another value'}`, async () => {
        await appendN(10);
        await sql`update vault_audit set ${sql.ref(column)} = ${value} where seq = 6`.execute(database.db);
        expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
          ok: false,
          firstBadSeq: 6,
          problem: 'changed',
        });
      });
    }

    it('finds a changed prev_hash, and a changed head', async () => {
      await appendN(10);
      const h5 = (
        await sql<{ hash: string }>`select hash from vault_audit where seq = 5`.execute(database.db)
      ).rows[0]!.hash;
      await sql`update vault_audit set prev_hash = ${'e'.repeat(64)} where seq = 6`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toMatchObject({ ok: false, firstBadSeq: 6 });
      await sql`update vault_audit set prev_hash = ${h5} where seq = 6`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toMatchObject({ ok: true });
      await sql`update vault_audit_head set hash = ${h5}`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 10,
        problem: 'changed',
      });
    });

    it('finds an entry removed with the later ones renumbered to close the gap', async () => {
      await appendN(10);
      await sql`delete from vault_audit where seq = 7`.execute(database.db);
      for (let seq = 8; seq <= 10; seq++)
        await sql`update vault_audit set seq = ${seq - 1} where seq = ${seq}`.execute(database.db);
      const h9 = (
        await sql<{ hash: string }>`select hash from vault_audit where seq = 9`.execute(database.db)
      ).rows[0]!.hash;
      await sql`update vault_audit_head set seq = 9, hash = ${h9}`.execute(database.db);
      const result = await verifyAudit(database.db, f.signer.publicKey);
      expect(result).toMatchObject({ ok: false, firstBadSeq: 7 });
    });

    it('finds a forged entry inserted in the middle, its hash computed to follow its predecessor', async () => {
      await appendN(10);
      // The forger has the database, not the signing key: the checkpoint at 8 gives it away.
      for (let seq = 10; seq >= 6; seq--)
        await sql`update vault_audit set seq = ${seq + 1} where seq = ${seq}`.execute(database.db);
      const h5 = (
        await sql<{ hash: string }>`select hash from vault_audit where seq = 5`.execute(database.db)
      ).rows[0]!.hash;
      const forged = {
        seq: 6,
        time: '2026-03-01T08:00:05.500Z',
        actor: { id: 'alibi', role: 'clinician' },
        action: 'read' as const,
        resources: ['Observation/o5/_history/1'],
        patientRef: null,
        outcome: 'success' as const,
        breakGlass: null,
        searchResultIds: null,
      };
      const hash = linkHash(forged, h5);
      await sql`insert into vault_audit (seq, time, actor_id, actor_role, action, resources, patient_ref, outcome, break_glass_reason, search_result_ids, prev_hash, hash)
        values (6, ${forged.time}, 'alibi', 'clinician', 'read', ${JSON.stringify(forged.resources)}, null, 'success', null, null, ${h5}, ${hash})`.execute(
        database.db,
      );
      const h11 = (
        await sql<{ hash: string }>`select hash from vault_audit where seq = 11`.execute(database.db)
      ).rows[0]!.hash;
      await sql`update vault_audit_head set seq = 11, hash = ${h11}`.execute(database.db);
      const result = await verifyAudit(database.db, f.signer.publicKey);
      expect(result.ok).toBe(false);
      // Entries 1..5 are intact and the inserted entry links to 5: the damage starts at 6 or 7.
      expect(result.ok === false && result.firstBadSeq).toBeGreaterThanOrEqual(6);
      expect(result.ok === false && result.firstBadSeq).toBeLessThanOrEqual(7);
    });

    it('finds a genuine checkpoint moved to another seq, and one with its signature altered', async () => {
      await appendN(10);
      const h7 = (
        await sql<{ hash: string }>`select hash from vault_audit where seq = 7`.execute(database.db)
      ).rows[0]!.hash;
      // The signature covers the seq: a checkpoint of 8 does not vouch for 7.
      await sql`update vault_audit_checkpoints set upto_seq = 7, hash = ${h7} where upto_seq = 8`.execute(
        database.db,
      );
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 7,
        problem: 'bad-signature',
      });
      await sql`delete from vault_audit_checkpoints where upto_seq = 7`.execute(database.db);
      const cp = (
        await sql<{
          signature: string;
        }>`select signature from vault_audit_checkpoints where upto_seq = 4`.execute(database.db)
      ).rows[0]!;
      const flipped = Buffer.from(cp.signature, 'base64');
      flipped[0] = flipped[0]! ^ 1;
      await sql`update vault_audit_checkpoints set signature = ${flipped.toString('base64')} where upto_seq = 4`.execute(
        database.db,
      );
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 4,
        problem: 'bad-signature',
      });
    });

    it('finds a changed entry whose hash was recomputed (the next link breaks)', async () => {
      await appendN(10);
      const rows = await sql<{ seq: number }>`select seq from vault_audit where seq = 5`.execute(database.db);
      expect(rows.rows).toHaveLength(1);
      await sql`update vault_audit set hash = ${'f'.repeat(64)} where seq = 5`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toMatchObject({ ok: false, firstBadSeq: 5 });
    });

    it('finds a removed entry, and removed newest entries', async () => {
      await appendN(10);
      await sql`delete from vault_audit where seq = 7`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 7,
        problem: 'removed',
      });
      await sql`delete from vault_audit where seq >= 7`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 7,
        problem: 'removed',
      });
      // Even with the head set back, the signed checkpoint at 8 says entries existed.
      const h6 = await sql<{ hash: string }>`select hash from vault_audit where seq = 6`.execute(database.db);
      await sql`update vault_audit_head set seq = 6, hash = ${h6.rows[0]!.hash}`.execute(database.db);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 7,
        problem: 'removed',
      });
    });

    it('finds two swapped entries (adjacent and apart)', async () => {
      await appendN(10);
      const swap = async (a: number, b: number) => {
        await sql`update vault_audit set seq = -1 where seq = ${a}`.execute(database.db);
        await sql`update vault_audit set seq = ${a} where seq = ${b}`.execute(database.db);
        await sql`update vault_audit set seq = ${b} where seq = -1`.execute(database.db);
      };
      await swap(3, 7);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 3,
        problem: 'reordered',
      });
      await swap(3, 7);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toMatchObject({ ok: true });
      await swap(5, 6);
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 5,
        problem: 'reordered',
      });
    });

    it('finds a forged or altered checkpoint, and a consistent rewrite that disagrees with a checkpoint', async () => {
      await appendN(10);
      const forger = generateKeyPairSync('ed25519');
      const h9 = (
        await sql<{ hash: string }>`select hash from vault_audit where seq = 9`.execute(database.db)
      ).rows[0]!.hash;
      const forged = sign(null, Buffer.from(`vigil-audit-checkpoint|v1|9|${h9}`), forger.privateKey).toString(
        'base64',
      );
      await sql`insert into vault_audit_checkpoints (upto_seq, hash, signature, key_id, created_at) values (9, ${h9}, ${forged}, 'forged', 't')`.execute(
        database.db,
      );
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 9,
        problem: 'bad-signature',
      });
      await sql`delete from vault_audit_checkpoints where upto_seq = 9`.execute(database.db);
      await sql`update vault_audit_checkpoints set hash = ${'0'.repeat(64)} where upto_seq = 4`.execute(
        database.db,
      );
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 4,
        problem: 'bad-signature',
      });
    });

    it('a chain rewritten from entry 6 on (hashes recomputed) disagrees with the checkpoint at 8', async () => {
      await appendN(10);
      // Rewrite with a trail that has no checkpoints: same head row, recomputed links.
      const forger = new AuditTrail(database.db, f.signer, { checkpointEvery: 0, clock: f.clock });
      await sql`delete from vault_audit where seq >= 6`.execute(database.db);
      const h5 = (
        await sql<{ hash: string }>`select hash from vault_audit where seq = 5`.execute(database.db)
      ).rows[0]!.hash;
      await sql`update vault_audit_head set seq = 5, hash = ${h5}`.execute(database.db);
      for (let i = 6; i <= 10; i++)
        await forger.append(entry(i, { actor: { id: 'innocent', role: 'staff' } }));
      expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
        ok: false,
        firstBadSeq: 5,
        problem: 'changed',
      });
    });

    it('verifying while another process appends (and signs checkpoints) raises no false alarm', async () => {
      const other = await secondConnection(database);
      try {
        await appendN(6);
        // The other process appends two entries right after each of the verifier's first queries,
        // so its entries and checkpoints (every 4) commit between the verifier's reads.
        const writer = new AuditTrail(other.db, CheckpointSigner.fromKeyRing(f.keys), { checkpointEvery: 4 });
        let injections = 0;
        const racing = database.db.withPlugin({
          transformQuery: (args) => args.node,
          async transformResult(args) {
            if (injections++ < 3) {
              await writer.append(entry(100 + injections));
              await writer.append(entry(200 + injections));
            }
            return args.result;
          },
        });
        const result = await verifyAudit(racing, f.signer.publicKey, { batchSize: 4 });
        expect(result).toMatchObject({ ok: true });
        // Whatever it saw is a prefix of the chain; afterwards the whole chain verifies.
        expect(result.ok && result.entries).toBeGreaterThanOrEqual(6);
        expect(await verifyAudit(database.db, f.signer.publicKey)).toEqual({
          ok: true,
          entries: 12,
          checkpoints: 3,
        });
      } finally {
        await other.close();
      }
    });

    it('concurrent appenders on two connection pools keep one intact chain', async () => {
      const other = await secondConnection(database);
      try {
        const trails = [
          f.audit,
          new AuditTrail(other.db, CheckpointSigner.fromKeyRing(f.keys), { checkpointEvery: 4 }),
        ];
        if (database.flags.dialect === 'sqlite') {
          // One better-sqlite3 connection per process; the second pool is a second process's view.
          await Promise.all(Array.from({ length: 40 }, (_, i) => f.audit.append(entry(i))));
          await trails[1]!.append(entry(99));
        } else {
          await Promise.all(Array.from({ length: 80 }, (_, i) => trails[i % 2]!.append(entry(i))));
        }
        const n = database.flags.dialect === 'sqlite' ? 41 : 80;
        const result = await verifyAudit(other.db, f.signer.publicKey);
        expect(result).toEqual({ ok: true, entries: n, checkpoints: Math.floor(n / 4) });
        const seqs = await sql<{ seq: number | string }>`select seq from vault_audit order by seq`.execute(
          database.db,
        );
        expect(seqs.rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      } finally {
        await other.close();
      }
    });
  });
}
