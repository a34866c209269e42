/**
 * The staff directory on every engine: CSV import (all or nothing, idempotent, per-row errors),
 * case-insensitive email uniqueness, the termination event on a real MemoryBus, hostile values.
 */
import type { KyselyPlugin } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  awarenessMigrations,
  Directory,
  PERSON_TERMINATED,
  type RowError,
} from '../../src/awareness/index.js';
import { ManualClock, type VigilEvent } from '../../src/core/index.js';
import { MemoryBus, type Subscription } from '../../src/platform/bus/index.js';
import { type Database, runMigrations } from '../../src/platform/db/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { testDatabases } from '../support/databases.js';

const HEADER = 'Email,Full Name,Department,Job Title,Manager,Status,Start Date';
const GOOD = [
  HEADER,
  'm.okafor@hospital.example,Mary Okafor,Emergency,Charge nurse,,active,2019-04-01',
  'J.Lee@Hospital.example,"Lee, James",Emergency,Staff nurse,m.okafor@hospital.example,,2023-09-15',
  'p.novak@hospital.example,Petr Novak,Biomedical engineering,Biomedical engineer,,leave,',
].join('\r\n');

async function errorsOf(p: Promise<unknown>): Promise<RowError[]> {
  const err = await p.then(
    () => {
      throw new Error('expected the import to be refused');
    },
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: 'BAD_REQUEST' });
  return (err as { details: { errors: RowError[] } }).details.errors;
}

for (const engine of testDatabases()) {
  describe(`staff directory on ${engine.name}`, () => {
    let database: Database;
    let bus: MemoryBus;
    let sub: Subscription;
    let events: VigilEvent[];
    let directory: Directory;
    let clock: ManualClock;

    async function settle() {
      for (let i = 0; i < 200 && bus.stats().queued > 0; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 5));
    }

    beforeEach(async () => {
      database = await engine.open();
      await runMigrations(database, awarenessMigrations);
      bus = new MemoryBus({ logger: silentLogger() });
      events = [];
      sub = await bus.subscribe({
        group: 'gateway',
        subjects: ['vigil.awareness.>'],
        handler: async (batch) => {
          events.push(...batch);
        },
      });
      clock = new ManualClock('2026-03-01T09:00:00.000Z');
      directory = new Directory({ db: database.db, bus, clock });
    });
    afterEach(async () => {
      await sub.close();
      await bus.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    it('imports a CSV export: headers in any case, quoted names, managers by email', async () => {
      const summary = await directory.importCsv(`\uFEFF${GOOD}\r\n`);
      expect(summary).toEqual({
        rows: 3,
        created: 3,
        updated: 0,
        unchanged: 0,
        terminated: 0,
        ignoredColumns: [],
      });
      const mary = await directory.getByEmail('M.OKAFOR@hospital.example');
      const james = await directory.getByEmail('j.lee@hospital.example');
      expect(mary).toMatchObject({
        name: 'Mary Okafor',
        department: 'Emergency',
        status: 'active',
        startDate: '2019-04-01',
      });
      expect(james).toMatchObject({
        name: 'Lee, James',
        email: 'J.Lee@Hospital.example',
        jobRole: 'Staff nurse',
        managerId: mary!.id,
        status: 'active',
      });
      expect(await directory.getByEmail('p.novak@hospital.example')).toMatchObject({
        status: 'leave',
        startDate: null,
      });
      expect(await directory.count()).toBe(3);
      expect((await directory.list({ department: 'Emergency' })).map((p) => p.name)).toEqual([
        'Lee, James',
        'Mary Okafor',
      ]);
      expect((await directory.list({ managerId: mary!.id })).map((p) => p.id)).toEqual([james!.id]);
    });

    it('re-imports idempotently by email and updates what changed', async () => {
      await directory.importCsv(GOOD);
      const before = await directory.list();
      clock.advance(60_000);
      expect(await directory.importCsv(GOOD)).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
      expect(await directory.list()).toEqual(before);
      const changed = GOOD.replace('Staff nurse', 'Senior staff nurse').replace('j.lee', 'J.LEE');
      const summary = await directory.importCsv(changed.replace('J.Lee@Hospital', 'j.lee@hospital'));
      expect(summary).toMatchObject({ created: 0, updated: 1, unchanged: 2 });
      expect(await directory.count()).toBe(3);
      const james = await directory.getByEmail('j.lee@hospital.example');
      expect(james).toMatchObject({ jobRole: 'Senior staff nurse', updatedAt: '2026-03-01T09:01:00.000Z' });
      expect(james!.createdAt).toBe('2026-03-01T09:00:00.000Z');
    });

    it('refuses a file with any bad row, lists every problem by row and field, and writes nothing', async () => {
      const bad = [
        HEADER,
        'ok@hospital.example,Fine Person,Radiology,Radiographer,,,',
        'not-an-email,No Email,Radiology,,,,',
        'x@hospital.example,,Radiology,,,,',
        'y@hospital.example,Bad Status,Radiology,,,retired,',
        'z@hospital.example,Bad Date,Radiology,,,,2025-02-30',
        'w@hospital.example,Ghost Manager,Radiology,,nobody@hospital.example,,',
        'OK@hospital.example,Duplicate,Radiology,,,,',
        'short@hospital.example,Too Few Fields',
        '"multi\r\nline@hospital.example",Line Break,Radiology,,,,',
        'self@hospital.example,Self Managed,Radiology,,SELF@hospital.example,,',
      ].join('\r\n');
      const errors = await errorsOf(directory.importCsv(bad));
      expect(errors).toEqual([
        { row: 3, field: 'email', message: 'not a valid email address' },
        { row: 4, field: 'name', message: 'required' },
        { row: 5, field: 'status', message: 'expected active, leave or terminated' },
        { row: 6, field: 'start date', message: 'expected a date as YYYY-MM-DD' },
        { row: 7, field: 'manager', message: 'no person with this email in the file or the directory' },
        { row: 8, field: 'email', message: 'the same email as row 2' },
        { row: 9, field: '(row)', message: '2 fields, the header has 7' },
        { row: 10, field: 'email', message: 'contains control characters' },
        { row: 11, field: 'manager', message: 'a person cannot manage themselves' },
      ]);
      expect(await directory.count()).toBe(0);
    });

    it('rolls back a failure in the middle of writing: nothing half-imported, nothing published', async () => {
      await directory.importCsv(GOOD);
      // The database fails on the second insert of the next import (a full disk, a lost connection).
      let inserts = 0;
      const failing: KyselyPlugin = {
        transformQuery(args) {
          if (args.node.kind === 'InsertQueryNode' && ++inserts === 2) throw new Error('disk I/O error');
          return args.node;
        },
        async transformResult(args) {
          return args.result;
        },
      };
      const flaky = new Directory({ db: database.db.withPlugin(failing), bus, clock });
      const next = [
        GOOD.replace('Charge nurse,,active', 'Charge nurse,,terminated'),
        'new.one@hospital.example,New One,Pharmacy,,,,',
        'new.two@hospital.example,New Two,Pharmacy,,,,',
        'new.three@hospital.example,New Three,Pharmacy,,new.one@hospital.example,,',
      ].join('\r\n');
      await expect(flaky.importCsv(next)).rejects.toThrow('disk I/O error');
      expect(inserts).toBe(2);
      expect(await directory.count()).toBe(3);
      expect(await directory.getByEmail('new.one@hospital.example')).toBeUndefined();
      expect((await directory.getByEmail('m.okafor@hospital.example'))!.status).toBe('active');
      await settle();
      expect(events).toHaveLength(0);
      // The same file succeeds once the database is well again.
      expect(await directory.importCsv(next)).toMatchObject({
        created: 3,
        updated: 1,
        unchanged: 2,
        terminated: 1,
      });
    });

    it('refuses files without the required columns, empty files, oversized files and malformed quoting', async () => {
      await expect(directory.importCsv('Name,Department\nA,B\n')).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('missing column email'),
      });
      await expect(directory.importCsv('')).rejects.toMatchObject({ message: 'CSV file is empty' });
      await expect(directory.importCsv('email,email address,name\n')).rejects.toMatchObject({
        message: expect.stringContaining('two columns mean email'),
      });
      await expect(
        directory.importCsv(`${GOOD}\n${'a@b.example,x\n'.repeat(100)}`, { limits: { maxBytes: 512 } }),
      ).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
      });
      await expect(directory.importCsv(`${GOOD}\nq@hospital.example,"unclosed,,,,,\n`)).rejects.toMatchObject(
        {
          code: 'BAD_REQUEST',
          details: { row: 5 },
        },
      );
      expect(await directory.count()).toBe(0);
    });

    it('takes first and last name columns and reports columns it ignores', async () => {
      const summary = await directory.importCsv(
        'E-mail,First Name,Last Name,Badge Number\nanna@hospital.example,Anna,Berg,1234\n',
      );
      expect(summary.ignoredColumns).toEqual(['Badge Number']);
      expect(await directory.getByEmail('anna@hospital.example')).toMatchObject({ name: 'Anna Berg' });
    });

    it('publishes awareness.person.terminated when someone becomes terminated, by import or by API', async () => {
      await directory.importCsv(GOOD);
      const james = (await directory.getByEmail('j.lee@hospital.example'))!;
      await directory.linkConsoleUser(james.id, 'console-user-7');
      const summary = await directory.importCsv(
        GOOD.replace('m.okafor@hospital.example,,2023', 'm.okafor@hospital.example,Terminated,2023'),
      );
      expect(summary).toMatchObject({ updated: 1, terminated: 1 });
      await settle();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        kind: PERSON_TERMINATED,
        source: 'awareness',
        user: { id: 'console-user-7' },
        data: {
          personId: james.id,
          email: 'J.Lee@Hospital.example',
          previousStatus: 'active',
          via: 'import',
          consoleUserId: 'console-user-7',
        },
      });
      // The same file again: nothing changes, nothing is published twice.
      await directory.importCsv(
        GOOD.replace('m.okafor@hospital.example,,2023', 'm.okafor@hospital.example,Terminated,2023'),
      );
      await settle();
      expect(events).toHaveLength(1);
      // The console user link survives an import (the CSV does not carry it).
      expect((await directory.get(james.id))!.consoleUserId).toBe('console-user-7');

      const petr = (await directory.getByEmail('p.novak@hospital.example'))!;
      const done = await directory.setStatus(petr.id, 'terminated', { name: 'hr-admin' });
      expect(done.status).toBe('terminated');
      await directory.setStatus(petr.id, 'active');
      await settle();
      expect(events.map((e) => (e.data as { personId: string }).personId)).toEqual([james.id, petr.id]);
      expect(events[1]).toMatchObject({
        data: { via: 'api', previousStatus: 'leave', actor: { name: 'hr-admin' } },
      });
      expect(events[1]!.user).toBeUndefined();
      expect(await directory.count('terminated')).toBe(1);
    });

    it('publishes nothing when an import with a termination is refused', async () => {
      await directory.importCsv(GOOD);
      const bad = `${GOOD.replace('Okafor,Emergency,Charge nurse,,active', 'Okafor,Emergency,Charge nurse,,terminated')}\r\nbroken,,,,,,`;
      await errorsOf(directory.importCsv(bad));
      await settle();
      expect(events).toHaveLength(0);
      expect((await directory.getByEmail('m.okafor@hospital.example'))!.status).toBe('active');
    });

    it('keeps emails unique in any letter case', async () => {
      const p = await directory.create({
        name: 'Ana Silva',
        email: 'Ana.Silva@Hospital.example',
        department: 'ICU',
      });
      expect(p).toMatchObject({ email: 'Ana.Silva@Hospital.example', status: 'active', managerId: null });
      await expect(
        directory.create({ name: 'Other', email: 'ana.silva@hospital.EXAMPLE' }),
      ).rejects.toMatchObject({
        code: 'CONFLICT',
        details: { field: 'email' },
      });
      const q = await directory.create({
        name: 'Bo Chen',
        email: 'bo.chen@hospital.example',
        managerId: p.id,
      });
      expect(q.managerId).toBe(p.id);
      await expect(directory.update(q.id, { email: 'ANA.SILVA@hospital.example' })).rejects.toMatchObject({
        code: 'CONFLICT',
      });
      await expect(directory.update(q.id, { managerId: q.id })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(directory.update(q.id, { managerId: 'missing' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      // Importing the other spelling updates the same person rather than creating a second.
      expect(await directory.importCsv('email,name\nANA.SILVA@HOSPITAL.EXAMPLE,Ana Silva\n')).toMatchObject({
        created: 0,
        updated: 1,
      });
      expect(await directory.count()).toBe(2);
      await directory.linkConsoleUser(p.id, 'u-1');
      await expect(directory.linkConsoleUser(q.id, 'u-1')).rejects.toMatchObject({
        code: 'CONFLICT',
        details: { field: 'consoleUserId' },
      });
      expect((await directory.getByConsoleUser('u-1'))!.id).toBe(p.id);
    });

    it('stores hostile values as inert text and refuses control characters', async () => {
      const hostile = [
        'email,name,department,job role',
        `"evil@hospital.example","Robert'); DROP TABLE awareness_people;--","<script>alert(1)</script>","=HYPERLINK(""http://x"")"`,
        `"o'brien@hospital.example","Seán O'Brien ☃","' OR 1=1 --",`,
      ].join('\n');
      await directory.importCsv(hostile);
      expect(await directory.getByEmail('evil@hospital.example')).toMatchObject({
        name: "Robert'); DROP TABLE awareness_people;--",
        department: '<script>alert(1)</script>',
        jobRole: '=HYPERLINK("http://x")',
      });
      expect(await directory.getByEmail("O'Brien@hospital.example")).toMatchObject({
        name: "Seán O'Brien ☃",
      });
      expect(await directory.count()).toBe(2);
      const injected =
        'email,name\n"a@hospital.example\r\nBcc: all@hospital.example",Header Injection\n"b@hospital.example","Nul\u0000Byte"\n';
      expect(await errorsOf(directory.importCsv(injected))).toEqual([
        { row: 2, field: 'email', message: 'contains control characters' },
        { row: 3, field: 'name', message: 'contains control characters' },
      ]);
      await expect(directory.create({ name: 'x\ny', email: 'c@hospital.example' })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        details: { field: 'name' },
      });
      await expect(directory.list({ department: "' OR 1=1 --" })).resolves.toHaveLength(1);
    });
  });
}
