/**
 * The audit trail with two real server processes (`vigil start`) on one PostgreSQL schema and one
 * key directory, as two nodes of one site run. Both serve FHIR traffic at the same time: reads,
 * searches, creates, and updates racing for the same resources, by clinician API tokens, and
 * AuditEvent searches by privacy-officer tokens; meanwhile two `vigil vault import` processes
 * write patient data one resource per transaction (writes that do not depend on the access
 * policy). Every audited interaction, whichever process handled it, lands in one chain: seqs 1..head without gap or fork, entries of the two processes
 * interleaved, checkpoints (every 5 entries here) signed by both processes with the shared key,
 * and `vigil audit verify` exits 0, both while the processes append and after they stopped.
 *
 * It asserts the chain, not the access outcome: whether a clinician token may read a patient
 * depends on the access policy (care relationships), and a denial is audited like an allow.
 * Skips without VIGIL_TEST_POSTGRES_URL (SQLite is one file for one server).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL } from '../support/databases.js';
import { freePort } from '../support/processes.js';
import {
  ensureBuilt,
  freshPostgresSchema,
  killAllVigil,
  runVigil,
  spawnVigil,
  stopVigil,
  type VigilProcess,
  vigilOk,
  waitFor,
} from '../support/vigil-process.js';

const CHECKPOINT_EVERY = 5;
const ROUNDS = 25;
const PATIENTS = ['tp-a', 'tp-b', 'tp-c', 'tp-d'];
/** Resources each concurrent importer writes, one per transaction. */
const IMPORTED = 150;

/** A small valid NDJSON set: four patients with two observations each. */
function ndjson(): string {
  const lines: object[] = [];
  for (const [i, id] of PATIENTS.entries()) {
    lines.push({
      resourceType: 'Patient',
      id,
      name: [{ family: `Tester${i}`, given: ['Pat'] }],
      gender: i % 2 ? 'male' : 'female',
      birthDate: `19${70 + i}-0${i + 1}-1${i}`,
    });
    for (let k = 0; k < 2; k++) lines.push(observation(`${id}-obs${k}`, id, 60 + k));
  }
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

/**
 * What operator import `i` writes while the servers serve: observations of the known patients and
 * of one patient both importers name first (so both processes create that data key at once).
 */
function importSet(i: number): string {
  const lines = Array.from({ length: IMPORTED }, (_, k) =>
    observation(`imp${i}-${k}`, k % 5 === 4 ? 'tp-new' : PATIENTS[k % 4]!, k),
  );
  lines.unshift(lines.pop()!);
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

function observation(id: string | undefined, patient: string, value: number): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    ...(id ? { id } : {}),
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patient}` },
    valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

interface Token {
  id: string;
  secret: string;
}

/** `vigil token create` prints the id on the first line and the secret, indented, on the next. */
function parseToken(out: string): Token {
  const m = /Created token (\S+) \(.*\n\s+(\S+)/.exec(out);
  if (!m) throw new Error(`no token in:\n${out}`);
  return { id: m[1]!, secret: m[2]! };
}

interface Sent {
  server: number;
  what: string;
  status: number;
  body: string;
}

describe.skipIf(!POSTGRES_URL)(
  POSTGRES_URL
    ? 'the audit trail with two server processes on one PostgreSQL'
    : 'the audit trail with two server processes (skipped: set VIGIL_TEST_POSTGRES_URL)',
  () => {
    // Made in beforeAll: a skipped suite's body still runs, its hooks do not.
    let workDir = '';
    let keysDir = '';
    let schema: Awaited<ReturnType<typeof freshPostgresSchema>> | undefined;
    let env: Record<string, string>;
    const servers: Array<{ proc: VigilProcess; url: string }> = [];
    const clinicians: Token[] = [];
    const officers: Token[] = [];
    const dataDir = (i: number) => path.join(workDir, `node${i}`);

    beforeAll(async () => {
      ensureBuilt();
      workDir = mkdtempSync(path.join(tmpdir(), 'vigil-two-'));
      keysDir = path.join(workDir, 'keys');
      schema = await freshPostgresSchema(POSTGRES_URL!, 'vigil_two');
      env = {
        VIGIL_DATABASE_URL: schema.url,
        VIGIL_DATABASE_POOL_SIZE: '4',
        // Both nodes sign checkpoints with the one key in the shared key directory.
        VIGIL_KEYS_DIR: keysDir,
        VIGIL_VAULT_AUDIT_CHECKPOINT_EVERY: String(CHECKPOINT_EVERY),
        VIGIL_LOG_LEVEL: 'warn',
      };
      mkdirSync(dataDir(0), { recursive: true });
      mkdirSync(dataDir(1), { recursive: true });
      const file = path.join(workDir, 'patients.ndjson');
      writeFileSync(file, ndjson());
      for (const i of [0, 1]) writeFileSync(path.join(workDir, `import${i}.ndjson`), importSet(i));
      const cli = (args: string[]) => vigilOk([...args, '--data-dir', dataDir(0)], env, workDir);
      // The operator's import migrates the schema and stores the data both servers then serve.
      expect(await cli(['vault', 'import', file, '--batch-size', '5'])).toContain('12 created');
      // A user exists, so neither server creates a first administrator on start.
      await cli(['user', 'add', 'ops', '--role', 'admin']);
      for (let i = 0; i < 2; i++) {
        clinicians.push(
          parseToken(await cli(['token', 'create', '--name', `ward${i}`, '--role', 'clinician'])),
        );
        officers.push(
          parseToken(await cli(['token', 'create', '--name', `privacy${i}`, '--role', 'privacy-officer'])),
        );
      }
      const ports = [await freePort(), await freePort()];
      const procs = ports.map((port, i) =>
        spawnVigil(['start', '--port', String(port), '--data-dir', dataDir(i)], env, workDir),
      );
      for (const proc of procs) {
        const m = await waitFor(
          () => /Vigil is listening on (http:\/\/\S+)/.exec(proc.stdout())?.[1] ?? undefined,
          'the server to listen',
          { proc, timeoutMs: 120_000 },
        );
        servers.push({ proc, url: m.replace(/\/+$/, '') });
      }
    }, 600_000);

    afterAll(async () => {
      for (const s of servers) await stopVigil(s.proc);
      await killAllVigil();
      await schema?.drop();
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    }, 120_000);

    async function send(
      server: number,
      token: Token,
      method: string,
      url: string,
      body?: unknown,
    ): Promise<Sent> {
      const res = await fetch(`${servers[server]!.url}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token.secret}`,
          accept: 'application/fhir+json',
          ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(120_000),
      });
      return { server, what: `${method} ${url}`, status: res.status, body: await res.text() };
    }

    /** One process's share of the traffic: every round's requests in parallel. */
    async function traffic(server: number): Promise<Sent[]> {
      const out: Sent[] = [];
      const clinician = clinicians[server]!;
      const officer = officers[server]!;
      for (let round = 0; round < ROUNDS; round++) {
        const patient = PATIENTS[round % PATIENTS.length]!;
        out.push(
          ...(await Promise.all([
            send(server, clinician, 'GET', `/fhir/Patient/${patient}`),
            send(server, clinician, 'GET', `/fhir/Observation?patient=${patient}`),
            send(server, clinician, 'POST', '/fhir/Observation', observation(undefined, patient, round)),
            // Both processes write the same resources in the same rounds: updates race.
            send(
              server,
              clinician,
              'PUT',
              `/fhir/Observation/${patient}-obs0`,
              observation(`${patient}-obs0`, patient, 100 + round * 2 + server),
            ),
            send(
              server,
              clinician,
              'PUT',
              `/fhir/Observation/shared-${round}`,
              observation(`shared-${round}`, patient, server),
            ),
            send(server, officer, 'GET', '/fhir/AuditEvent?_count=10'),
          ])),
        );
      }
      return out;
    }

    /** An operator import on node `i`'s configuration, one resource per transaction. */
    function importer(i: number): VigilProcess {
      const file = path.join(workDir, `import${i}.ndjson`);
      return spawnVigil(
        ['vault', 'import', file, '--batch-size', '1', '--data-dir', dataDir(i)],
        env,
        workDir,
      );
    }

    it('keeps one intact chain whichever process appends, with checkpoints signed by both', {
      timeout: 600_000,
    }, async () => {
      const started = Date.now();
      // Two importers write patient data (whatever the access policy) while both servers serve.
      const importers = [importer(0), importer(1)];
      // And an auditor verifies the live trail meanwhile: appends between its reads are no alarm.
      const liveChecks: number[] = [];
      const auditor = (async () => {
        for (let i = 0; i < 3; i++) {
          const r = await runVigil(['audit', 'verify', '--data-dir', dataDir(0)], env, workDir);
          expect(r.code, r.output).toBe(0);
          liveChecks.push(Number(/intact: (\d+) entries/.exec(r.stdout)?.[1]));
        }
      })();
      const [sent0, sent1] = await Promise.all([traffic(0), traffic(1), auditor]);
      const sent = [...sent0, ...sent1];
      const trafficMs = Date.now() - started;
      for (const p of importers) {
        const { code } = await p.exited;
        expect(code, p.output()).toBe(0);
        expect(p.stdout(), p.output()).toContain(`${IMPORTED} created, 0 updated, 0 unchanged`);
      }

      // No request broke: a lost race is a 409/412 and a refusal a 403, never a 5xx.
      const broken = sent.filter((s) => s.status >= 500 || s.status === 401);
      expect(broken.map((s) => `${s.server} ${s.what} -> ${s.status} ${s.body.slice(0, 300)}`)).toEqual([]);
      // Audited interactions: allowed ones and refusals (a lost write race rolls back unaudited).
      const audited = (server: number) =>
        sent.filter((s) => s.server === server && (s.status < 300 || s.status === 403)).length;
      expect(audited(0)).toBeGreaterThan(0);
      expect(audited(1)).toBeGreaterThan(0);

      // Both servers stop cleanly, then the operator verifies the trail.
      for (const s of servers.splice(0)) expect((await stopVigil(s.proc)).code, s.proc.output()).toBe(0);
      const out = await vigilOk(['audit', 'verify', '--data-dir', dataDir(1)], env, workDir);
      const m = /The audit trail is intact: (\d+) entries, (\d+) signed checkpoint/.exec(out);
      expect(m, out).not.toBeNull();
      const [entries, checkpoints] = [Number(m![1]), Number(m![2])];
      expect(checkpoints).toBe(Math.floor(entries / CHECKPOINT_EVERY));

      const db = new pg.Client({ connectionString: schema!.url });
      await db.connect();
      try {
        const rows = (
          await db.query<{
            seq: string;
            actor_id: string;
            action: string;
            resources: string;
            prev_hash: string;
            hash: string;
          }>('select seq, actor_id, action, resources, prev_hash, hash from vault_audit order by seq')
        ).rows;
        const head = (await db.query<{ seq: string }>('select seq from vault_audit_head')).rows;
        expect(head).toHaveLength(1);
        expect(Number(head[0]!.seq)).toBe(entries);
        // Contiguous, and no fork: each entry links to its predecessor and no two share one.
        expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: entries }, (_, i) => i + 1));
        expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(rows.length);
        for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);

        // Which process appended an entry: each process had its own tokens.
        const serverOf = new Map<string, number>();
        for (let i = 0; i < 2; i++) {
          serverOf.set(clinicians[i]!.id, i);
          serverOf.set(officers[i]!.id, i);
        }
        const bySeq = rows.map((r) => serverOf.get(r.actor_id));
        for (const i of [0, 1])
          expect(bySeq.filter((s) => s === i).length, `entries of server ${i}`).toBeGreaterThanOrEqual(
            audited(i),
          );
        // The two processes' entries interleave: they appended concurrently, not one after the other.
        const fromServers = bySeq.filter((s) => s !== undefined);
        const switches = fromServers.filter((s, i) => i > 0 && s !== fromServers[i - 1]).length;
        expect(switches).toBeGreaterThanOrEqual(2);

        // Each imported resource is stored once and named by exactly one audit entry.
        const imported = rows
          .filter((r) => r.action === 'create')
          .flatMap((r) => JSON.parse(r.resources) as string[])
          .filter((ref) => ref.startsWith('Observation/imp'));
        expect(imported.sort()).toEqual(
          [0, 1]
            .flatMap((i) => Array.from({ length: IMPORTED }, (_, k) => `Observation/imp${i}-${k}/_history/1`))
            .sort(),
        );
        const stored = await db.query<{ n: string }>(
          `select count(*) as n from vault_resources where resource_type = 'Observation' and id like 'imp%'`,
        );
        expect(Number(stored.rows[0]!.n)).toBe(2 * IMPORTED);
        const keys = await db.query<{ n: string }>(
          `select count(*) as n from vault_data_keys where owner = 'Patient/tp-new'`,
        );
        expect(Number(keys.rows[0]!.n)).toBe(1);
        const importerRuns = rows.filter(
          (r, i) => r.actor_id === 'vigil-cli' && rows[i - 1]?.actor_id !== 'vigil-cli',
        );

        // Checkpoints at every 5th seq; each signed in the transaction of that entry, so by the
        // process that appended it: both processes signed some.
        const cps = (
          await db.query<{ upto_seq: string; hash: string; key_id: string }>(
            'select upto_seq, hash, key_id from vault_audit_checkpoints order by upto_seq',
          )
        ).rows;
        expect(cps.map((c) => Number(c.upto_seq))).toEqual(
          Array.from({ length: checkpoints }, (_, i) => (i + 1) * CHECKPOINT_EVERY),
        );
        expect(new Set(cps.map((c) => c.key_id)).size).toBe(1);
        for (const c of cps) expect(c.hash).toBe(rows[Number(c.upto_seq) - 1]!.hash);
        const signers = new Set(cps.map((c) => bySeq[Number(c.upto_seq) - 1]));
        expect(signers.has(0), 'a checkpoint signed by server 0').toBe(true);
        expect(signers.has(1), 'a checkpoint signed by server 1').toBe(true);

        const statuses = new Map<number, number>();
        for (const s of sent) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
        console.info(
          `two processes: ${sent.length} requests in ${Math.round(trafficMs / 1000)} s ` +
            `(statuses ${[...statuses].map(([k, v]) => `${k}×${v}`).join(', ')}); ` +
            `${entries} audit entries, ${switches} switches between servers, ` +
            `importer entries in ${importerRuns.length} runs, ${checkpoints} checkpoints; ` +
            `live verifications saw ${liveChecks.join(', ')} entries`,
        );
      } finally {
        await db.end();
      }
    });
  },
);
