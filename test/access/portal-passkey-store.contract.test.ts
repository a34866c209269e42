/**
 * The passkey tables on every engine: credentials per user with their key, counter (beyond 2^31,
 * as authenticators may count) and transports; the counter advanced only from the value read;
 * challenges taken once and refused when expired.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { accessMigrations } from '../../src/access/index.js';
import { PasskeyStore } from '../../src/access/webauthn-store.js';
import { runMigrations } from '../../src/platform/db/index.js';
import { testDatabases } from '../support/databases.js';

for (const engine of testDatabases()) {
  describe(`passkey store (${engine.name})`, () => {
    afterAll(() => engine.cleanup());

    it('keeps passkeys and their counters, and serves each challenge once', async () => {
      const database = await engine.open();
      try {
        await runMigrations(database, accessMigrations);
        const store = new PasskeyStore(database.db);
        const key = {
          id: 'cred-1',
          userId: 'u1',
          name: 'Laptop',
          publicKey: new Uint8Array([1, 2, 3, 250]),
          counter: 3_000_000_000,
          transports: ['internal', 'hybrid'],
          deviceType: 'singleDevice',
          backedUp: false,
          createdAt: '2026-06-01T08:00:00.000Z',
          lastUsedAt: null,
        };
        expect(await store.add(key)).toBe(true);
        expect(await store.add({ ...key, userId: 'u2' })).toBe(false); // a credential id is registered once
        await store.add({ ...key, id: 'cred-2', name: 'Key', createdAt: '2026-06-02T08:00:00.000Z' });
        const listed = await store.list('u1');
        expect(listed.map((p) => p.id)).toEqual(['cred-1', 'cred-2']);
        expect(listed[0]).toMatchObject({
          counter: 3_000_000_000,
          transports: ['internal', 'hybrid'],
          backedUp: false,
        });
        expect([...listed[0]!.publicKey]).toEqual([1, 2, 3, 250]);
        expect(await store.count('u2')).toBe(0);

        expect(await store.use('cred-1', 3_000_000_000, 3_000_000_001, '2026-06-03T08:00:00.000Z')).toBe(
          true,
        );
        // A second use from the old counter (a race or a replay) does not pass.
        expect(await store.use('cred-1', 3_000_000_000, 3_000_000_002, '2026-06-03T08:00:01.000Z')).toBe(
          false,
        );
        expect((await store.get('cred-1'))!.counter).toBe(3_000_000_001);
        expect(await store.remove('u2', 'cred-1')).toBe(false); // not theirs
        expect(await store.remove('u1', 'cred-1')).toBe(true);
        expect(await store.removeAll('u1')).toBe(1);
        expect(await store.count('u1')).toBe(0);

        await store.putChallenge('k', 'c1', '2026-06-01T08:05:00.000Z');
        await store.putChallenge('k', 'c2', '2026-06-01T08:05:00.000Z'); // replaces
        expect(await store.takeChallenge('k', '2026-06-01T08:00:00.000Z')).toBe('c2');
        expect(await store.takeChallenge('k', '2026-06-01T08:00:00.000Z')).toBeNull(); // once
        await store.putChallenge('old', 'c3', '2026-06-01T08:05:00.000Z');
        expect(await store.takeChallenge('old', '2026-06-01T08:06:00.000Z')).toBeNull(); // expired
      } finally {
        await database.close();
      }
    });
  });
}
