/**
 * Baselines and the inventory enrichment through the composed services (SQLite, memory bus): the
 * device inventory's classification reaches the rules (an infusion pump opening SMB raises the
 * pack's alert), flows on the bus build baselines, the API lists and resets them with deny-by-
 * default roles (analysts and biomedical engineers reset; admins read), and the CLI lists and
 * resets them on the data directory.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { drainBus } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { makeEvent, type VigilEvent } from '../../src/core/index.js';
import type { Subscription } from '../../src/platform/bus/index.js';
import { attachConsumers } from '../../src/server/index.js';
import { type ServerFixture, serverFixture } from '../support/server-fixture.js';

const PUMP = '10.20.0.5';
const ENGINE = '10.40.0.8';
const T0 = Date.now() - 60_000;

function flow(t: number, src: string, dst: string, dstPort: number, app = 'tls'): VigilEvent {
  return makeEvent(
    {
      kind: 'net.flow',
      source: 'sensor',
      device: src === PUMP ? { ip: src, mac: '00:0e:2c:11:22:33' } : { ip: src },
      net: { srcIp: src, srcPort: 50_123, dstIp: dst, dstPort, proto: 'tcp' },
      data: {
        transport: 'tcp',
        app,
        packetsToServer: 4,
        packetsToClient: 4,
        bytesToServer: 900,
        bytesToClient: 700,
        sawSyn: true,
      },
    },
    new Date(t),
  );
}

/** An HL7 message from the pump's infusion system: the inventory classifies it by this. */
function pumpHl7(t: number): VigilEvent {
  return makeEvent(
    {
      kind: 'net.hl7.message',
      source: 'sensor',
      device: { ip: PUMP },
      net: { srcIp: PUMP, srcPort: 50_200, dstIp: ENGINE, dstPort: 2575, proto: 'tcp' },
      data: {
        sendingApplication: 'ALARIS GUARDRAILS',
        sendingFacility: 'ICU',
        receivingApplication: 'MIRTH',
        receivingFacility: 'HOSP',
        messageType: { code: 'ORU', trigger: 'R01', structure: 'ORU_R01' },
        controlId: '1',
        version: '2.6',
        patientRefs: [],
      },
    },
    new Date(t),
  );
}

async function vigil(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    err += String(c);
    return true;
  });
  try {
    return { code: await main(['node', 'vigil', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('baselines through the services, API and CLI', () => {
  let f: ServerFixture;
  let consumers: Subscription[] = [];
  const auth: Record<string, { authorization: string }> = {};
  beforeAll(async () => {
    f = await serverFixture({ baselines: { learningDays: 1 } });
    for (const role of ['analyst', 'biomed', 'admin', 'staff', 'clinician', 'privacy-officer'] as const) {
      const { secret } = await f.services.identity.tokens.create(`t-${role}`, role);
      auth[role] = { authorization: `Bearer ${secret}` };
    }
  });
  afterAll(async () => {
    for (const c of consumers) await c.close();
    await f.close();
  });

  it('the inventory classification reaches the rules: SMB from an infusion pump', async () => {
    await f.services.devices.ingest.apply([pumpHl7(T0)]);
    const pump = await f.services.devices.queries.find(PUMP);
    expect(pump).toMatchObject({ type: 'infusion-pump', criticality: 'life-sustaining' });
    await f.services.detect.detector.handle([flow(T0 + 1000, PUMP, ENGINE, 445, '')]);
    const { alerts } = await f.services.detect.alerts.list({ limit: 100 });
    expect(alerts.map((a) => a.ruleTitle)).toContain('Vigil - SMB or RDP from a medical device');
  });

  it('flows on the bus build baselines; the API lists them for analysts, biomed and admins', async () => {
    consumers = (await attachConsumers(f.services)).slice(1); // activity is attached by the fixture
    await f.services.bus.publish([
      flow(T0 + 2000, PUMP, ENGINE, 443),
      flow(T0 + 3000, PUMP, '10.20.0.2', 53, ''),
    ]);
    await drainBus(f.services.bus);
    for (let i = 0; i < 50 && !(await f.services.detect.baselines.get(PUMP)); i++)
      await new Promise((r) => setTimeout(r, 20));
    for (const role of ['analyst', 'biomed', 'admin']) {
      const res = await f.app.inject({ method: 'GET', url: '/api/baselines', headers: auth[role] });
      expect(res.statusCode, role).toBe(200);
      expect(res.json().baselines.map((b: { device: string }) => b.device)).toContain(PUMP);
    }
    // By the inventory's id, as the device page links it.
    const id = (await f.services.devices.queries.find(PUMP))!.id;
    const one = await f.app.inject({ method: 'GET', url: `/api/baselines/${id}`, headers: auth.biomed });
    expect(one.statusCode).toBe(200);
    expect(one.json().baseline).toMatchObject({ device: PUMP, status: 'learning', protocols: 2 });
    expect(one.json().baseline.knownPeers.sort()).toEqual(['10.20.0.2', ENGINE]);
    for (const role of ['staff', 'clinician', 'privacy-officer']) {
      const res = await f.app.inject({ method: 'GET', url: '/api/baselines', headers: auth[role] });
      expect(res.statusCode, role).toBe(403);
    }
    expect((await f.app.inject({ method: 'GET', url: '/api/baselines' })).statusCode).toBe(401);
  });

  it('analysts and biomed reset a baseline; other roles cannot; an unknown device is 404', async () => {
    const reset = (role?: string, device = PUMP) =>
      f.app.inject({
        method: 'POST',
        url: `/api/baselines/${device}/reset`,
        ...(role ? { headers: auth[role] } : {}),
      });
    const anonymous = await reset();
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('UNAUTHENTICATED');
    for (const role of ['admin', 'staff', 'clinician', 'privacy-officer'])
      expect((await reset(role)).statusCode, role).toBe(403);
    const res = await reset('biomed');
    expect(res.statusCode).toBe(200);
    expect(res.json().baseline).toMatchObject({ device: PUMP, status: 'learning', peers: 0, resets: 1 });
    expect((await reset('analyst')).json().baseline.resets).toBe(2);
    const missing = await reset('analyst', '10.77.0.1');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
    // The route is in the deny-by-default list with its roles.
    const route = f.routes.find((r) => r.url === '/api/baselines/:device/reset');
    expect(route?.access).toEqual({ roles: ['analyst', 'biomed'] });
  });

  it('vigil baselines list and reset on the data directory', async () => {
    const dir = f.services.config.dataDir;
    const list = await vigil(['baselines', 'list', '--json', '--data-dir', dir]);
    expect(list.code, list.err).toBe(0);
    const rows = list.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { device: string; status: string });
    expect(rows.find((r) => r.device === PUMP)).toMatchObject({ status: 'learning' });
    const table = await vigil(['baselines', 'list', '--data-dir', dir]);
    expect(table.out).toMatch(/10\.20\.0\.5\s+learning/);
    const reset = await vigil(['baselines', 'reset', PUMP, '--data-dir', dir]);
    expect(reset.code, reset.err).toBe(0);
    expect(reset.out).toMatch(/10\.20\.0\.5: learning again until \d{4}-/);
    const missing = await vigil(['baselines', 'reset', '10.77.0.1', '--data-dir', dir]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/No baseline for 10\.77\.0\.1/);
    const both = await vigil(['baselines', 'list', '--learning', '--active', '--data-dir', dir]);
    expect(both.code).toBe(2);
  });
});
