/**
 * Alert outputs against real local receivers: an HTTP server that checks the HMAC-SHA256
 * signature (and makes the sender retry, give up, or drop when its queue is full); syslog RFC 5424
 * with a CEF payload over UDP, TCP (octet counting, reconnecting after the receiver drops the
 * connection) and TLS (a certificate made for the test with openssl, trusted or not); email
 * through a real SMTP server; and OCSF Detection Findings checked against the OCSF 1.x required
 * attributes. Secrets come from a file, the environment or the key ring, never the config.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/core/index.js';
import {
  type Alert,
  AlertDispatcher,
  alertToCef,
  attacksOf,
  buildOutputs,
  derivedWebhookSecret,
  OCSF_VERSION,
  octetCounted,
  SyslogOutput,
  type SyslogSettings,
  syslogMessage,
  toDetectionFinding,
  verifySignature,
  WebhookOutput,
} from '../../src/detect/index.js';
import { MemoryBus } from '../../src/platform/bus/index.js';
import { configSchema, validateConfig } from '../../src/platform/config/index.js';
import { FileKeyRing } from '../../src/platform/keys/index.js';
import { silentLogger } from '../../src/platform/log/index.js';
import { parseMessage, type SmtpSink, startSmtpSink } from '../awareness/smtp-sink.js';

const PRODUCT = { name: 'Vigil', vendor: 'Vigil', version: '0.1.0' };
const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
const FAST = { maxAttempts: 4, retryBaseMs: 20, queueSize: 100, timeoutMs: 5000 };

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: '0190f000-0000-7000-8000-000000000001',
    time: '2026-06-02T10:00:00.000Z',
    ruleId: 'r-1',
    ruleTitle: 'Failed login burst',
    level: 'high',
    tags: ['attack.credential-access', 'attack.t1110.001'],
    entity: 'user.name=eve',
    eventIds: ['e1', 'e2'],
    dedupKey: 'r-1|{"user.name":"eve"}',
    count: 7,
    firstSeen: '2026-06-02T10:00:00.000Z',
    lastSeen: '2026-06-02T10:05:00.000Z',
    status: 'new',
    statusChangedAt: null,
    statusChangedBy: null,
    assignee: null,
    caseId: null,
    createdAt: '2026-06-02T10:00:01.000Z',
    updatedAt: '2026-06-02T10:05:01.000Z',
    ...over,
  };
}

/** A CEF record back into its header fields and extension (undoing the escapes). */
function parseCef(record: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let i = 0;
  let cur = '';
  while (header.length < 7) {
    const c = record[i++];
    if (c === undefined) throw new Error('short CEF header');
    if (c === '\\') cur += record[i++];
    else if (c === '|') {
      header.push(cur);
      cur = '';
    } else cur += c;
  }
  const rest = record.slice(i);
  const ext: Record<string, string> = {};
  // Keys are `word=` preceded by a space (or the start); values run to the next unescaped key.
  const re = /(?:^| )([A-Za-z0-9]+)=((?:\\.|[^\\])*?)(?= [A-Za-z0-9]+=|$)/gs;
  for (const m of rest.matchAll(re))
    ext[m[1]!] = m[2]!.replace(/\\(.)/gs, (_, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  return { header, ext };
}

const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) (-|\[.+?\]) (.*)$/s;

const HOSTILE = alert({
  ruleId: 'r|2\\x',
  ruleTitle: 'Pipe | back\\slash = equals\nnew line',
  entity: 'a=b|c\\d\r\ne',
  level: 'critical',
});

describe('CEF and RFC 5424', () => {
  it('escapes |, \\ and line breaks in the header and \\, = and line breaks in extensions', () => {
    const cef = alertToCef(HOSTILE, PRODUCT);
    expect(cef).not.toMatch(/[\r\n]/);
    expect(
      cef.startsWith('CEF:0|Vigil|Vigil|0.1.0|r\\|2\\\\x|Pipe \\| back\\\\slash = equals new line|10|'),
    ).toBe(true);
    const { header, ext } = parseCef(cef);
    expect(header).toEqual([
      'CEF:0',
      'Vigil',
      'Vigil',
      '0.1.0',
      'r|2\\x',
      'Pipe | back\\slash = equals new line',
      '10',
    ]);
    expect(ext).toMatchObject({
      cs1Label: 'entity',
      cs1: 'a=b|c\\d\ne',
      cnt: '7',
      externalId: HOSTILE.id,
      start: String(Date.parse(HOSTILE.firstSeen)),
      end: String(Date.parse(HOSTILE.lastSeen)),
      cs2: 'attack.credential-access,attack.t1110.001',
      cs3: 'new',
    });
    expect(cef).toContain('cs1=a\\=b|c\\\\d\\ne');
  });

  it('writes a valid RFC 5424 header with PRI from facility and level', () => {
    const now = new Date('2026-06-02T10:06:00.123Z');
    const msg = syslogMessage(
      HOSTILE,
      { facility: 4, hostname: 'vigil host', appName: 'vigil', procId: '42' },
      PRODUCT,
      now,
    );
    const m = RFC5424.exec(msg);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(4 * 8 + 2); // security/auth, critical
    expect(m![2]).toBe('2026-06-02T10:06:00.123Z');
    expect(m![3]).toBe('vigil_host'); // no spaces in a header field
    expect([m![4], m![5], m![6], m![7]]).toEqual(['vigil', '42', 'alert', '-']);
    expect(m![8]).toBe(alertToCef(HOSTILE, PRODUCT));
    expect(octetCounted('héllo').toString()).toBe('6 héllo');
  });
});

describe('OCSF Detection Finding', () => {
  /** OCSF 1.x base event + Detection Finding (class 2004) required attributes. */
  const REQUIRED = [
    'activity_id',
    'category_uid',
    'class_uid',
    'finding_info',
    'metadata',
    'severity_id',
    'time',
    'type_uid',
  ];

  it('has every required attribute with valid values, for each status', () => {
    const cases = [
      ['new', 1, 1, 'New'],
      ['acknowledged', 2, 2, 'In Progress'],
      ['false-positive', 3, 3, 'Suppressed'],
      ['resolved', 3, 4, 'Resolved'],
    ] as const;
    for (const [status, activity, statusId, statusName] of cases) {
      const f = toDetectionFinding(
        { ...alert({ status }), evidence: [{ id: 'e1', kind: 'auth.login.failed' }], timeline: [] },
        PRODUCT,
      );
      for (const k of REQUIRED) expect(f[k], k).toBeDefined();
      expect(f).toMatchObject({
        activity_id: activity,
        category_uid: 2,
        class_uid: 2004,
        type_uid: 200400 + activity,
        severity_id: 4,
        severity: 'High',
        status_id: statusId,
        status: statusName,
        count: 7,
        time: Date.parse('2026-06-02T10:00:01.000Z'),
        start_time: Date.parse('2026-06-02T10:00:00.000Z'),
        end_time: Date.parse('2026-06-02T10:05:00.000Z'),
      });
      expect(Number.isInteger(f.time)).toBe(true);
      // finding_info: uid required, title recommended; the rule is the analytic.
      expect(f.finding_info).toMatchObject({
        uid: alert().id,
        title: 'Failed login burst',
        analytic: { uid: 'r-1', type_id: 1 },
      });
      // metadata: product and version (the OCSF schema version) required.
      expect(f.metadata).toMatchObject({
        version: OCSF_VERSION,
        product: { name: 'Vigil', vendor_name: 'Vigil', version: '0.1.0' },
      });
      expect(OCSF_VERSION).toMatch(/^1\.\d+\.\d+$/);
      expect(f.evidences).toEqual([{ data: { id: 'e1', kind: 'auth.login.failed' } }]);
    }
    const levels = ['informational', 'low', 'medium', 'high', 'critical'].map(
      (level) => (toDetectionFinding(alert({ level }), PRODUCT) as { severity_id: number }).severity_id,
    );
    expect(levels).toEqual([1, 2, 3, 4, 5]);
  });

  it('maps ATT&CK tags to techniques and tactics', () => {
    expect(attacksOf(['attack.credential-access', 'attack.t1110.001', 'attack.t0846', 'other'])).toEqual([
      {
        technique: { uid: 'T1110.001', src_url: 'https://attack.mitre.org/techniques/T1110/001/' },
        tactic: { uid: 'TA0006', name: 'Credential Access' },
      },
      {
        technique: { uid: 'T0846', src_url: 'https://attack.mitre.org/techniques/T0846/' },
        tactic: { uid: 'TA0006', name: 'Credential Access' },
      },
    ]);
    expect(attacksOf(['attack.discovery'])).toEqual([{ tactic: { uid: 'TA0007', name: 'Discovery' } }]);
  });
});

describe('webhook output', () => {
  let server: Server;
  let url = '';
  const secret = Buffer.from('a shared secret for the receiver');
  const got: Array<{ body: string; headers: IncomingMessage['headers']; valid: boolean }> = [];
  let answer: (n: number) => number | 'hang' = () => 200;

  beforeAll(async () => {
    server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const valid = verifySignature(secret, body, req.headers['x-vigil-signature'] as string | undefined);
        got.push({ body, headers: req.headers, valid });
        const status = answer(got.length);
        if (status === 'hang') {
          setTimeout(() => res.writeHead(200).end(), 150);
          return;
        }
        res.writeHead(valid ? status : 401, status === 302 ? { location: 'http://127.0.0.1:1/' } : {}).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/vigil?token=abc`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const output = (over: Partial<ConstructorParameters<typeof WebhookOutput>[0]> = {}) =>
    new WebhookOutput(
      { name: 'soc', url, secret, minLevel: 'low', ...FAST, ...over },
      PRODUCT,
      undefined,
      silentLogger(),
    );

  it('signs the body with HMAC-SHA256 and retries 5xx with backoff under one delivery id', async () => {
    got.length = 0;
    answer = (n) => (n <= 2 ? 503 : 200);
    const out = output();
    out.send(alert());
    await out.idle();
    expect(got).toHaveLength(3);
    expect(got.every((g) => g.valid)).toBe(true);
    const ids = new Set(got.map((g) => g.headers['x-vigil-delivery']));
    expect(ids.size).toBe(1);
    const last = got[2]!;
    expect(last.headers['x-vigil-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(last.headers['content-type']).toBe('application/json');
    const body = JSON.parse(last.body);
    expect(body).toMatchObject({ type: 'vigil.alert.created', alert: { id: alert().id, count: 7 } });
    // The timestamp header and the signed body agree (a receiver can refuse old deliveries).
    expect(Number(last.headers['x-vigil-timestamp'])).toBe(Math.floor(Date.parse(body.sentAt) / 1000));
    expect(body.deliveryId).toBe(last.headers['x-vigil-delivery']);
    expect(out.stats()).toMatchObject({ sent: 1, retries: 2, failed: 0, queued: 0 });
    await out.close();
  });

  it('gives up at once on a 4xx or a redirect, and after the last attempt on 5xx', async () => {
    got.length = 0;
    answer = () => 400;
    let out = output();
    out.send(alert());
    await out.idle();
    expect(got).toHaveLength(1);
    expect(out.stats()).toMatchObject({ sent: 0, failed: 1 });
    expect(out.stats().lastError).toMatch(/answered 400/);
    expect(out.stats().lastError).not.toContain('token=abc'); // the URL's query is never logged
    answer = () => 302;
    out.send(alert());
    await out.idle();
    expect(got).toHaveLength(2); // not followed
    expect(out.stats().failed).toBe(2);
    await out.close();

    got.length = 0;
    answer = () => 500;
    out = output({ maxAttempts: 3 });
    out.send(alert());
    await out.idle();
    expect(got).toHaveLength(3);
    expect(out.stats()).toMatchObject({ failed: 1, retries: 2 });
    await out.close();
  });

  it('a receiver with another key refuses the delivery', async () => {
    got.length = 0;
    answer = () => 200;
    const out = output({ secret: Buffer.from('not the shared secret'), maxAttempts: 1 });
    out.send(alert());
    await out.idle();
    expect(got[0]!.valid).toBe(false);
    expect(out.stats()).toMatchObject({ sent: 0, failed: 1 });
    await out.close();
  });

  it('holds at most queueSize deliveries, dropping the oldest', async () => {
    got.length = 0;
    answer = () => 'hang';
    const out = output({ queueSize: 2 });
    for (let i = 1; i <= 5; i++) out.send(alert({ id: `0190f000-0000-7000-8000-00000000000${i}` }));
    expect(out.stats()).toMatchObject({ queued: 3, dropped: 2 });
    await out.idle();
    expect(got.map((g) => JSON.parse(g.body).alert.id.slice(-1))).toEqual(['1', '4', '5']);
    expect(out.stats()).toMatchObject({ sent: 3, dropped: 2, queued: 0 });
    await out.close();
  });
});

function syslogSettings(over: Partial<SyslogSettings>): SyslogSettings {
  return {
    name: 'siem',
    host: '127.0.0.1',
    port: 514,
    transport: 'udp',
    facility: 10,
    hostname: 'vigil-test',
    appName: 'vigil',
    minLevel: 'low',
    verifyTls: true,
    ...FAST,
    ...over,
  };
}

/** Splits an octet-counted stream into messages. */
function frames(data: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const len = Number(data.subarray(i, sp).toString('ascii'));
    expect(Number.isInteger(len) && len > 0).toBe(true);
    out.push(data.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    i = sp + 1 + len;
  }
  return out;
}

describe('syslog output', () => {
  it('sends one RFC 5424 + CEF message per datagram over UDP', async () => {
    const udp = createSocket('udp4');
    const received: string[] = [];
    udp.on('message', (m) => received.push(m.toString('utf8')));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const out = new SyslogOutput(syslogSettings({ port: udp.address().port }), PRODUCT);
    out.send(HOSTILE);
    out.send(alert({ level: 'low' }));
    await out.idle();
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await out.close();
    udp.close();
    expect(received).toHaveLength(2);
    const m = RFC5424.exec(received[0]!)!;
    expect(Number(m[1])).toBe(10 * 8 + 2);
    expect(m[3]).toBe('vigil-test');
    const { header, ext } = parseCef(m[8]!);
    expect(header[5]).toBe('Pipe | back\\slash = equals new line');
    expect(ext.cs1).toBe('a=b|c\\d\ne');
    expect(Number(RFC5424.exec(received[1]!)![1])).toBe(10 * 8 + 5);
  });

  it('frames messages by octet counting over TCP and reconnects after the receiver drops it', async () => {
    const chunks: Buffer[][] = [];
    const sockets: Socket[] = [];
    const server = createTcpServer((s) => {
      const mine: Buffer[] = [];
      chunks.push(mine);
      sockets.push(s);
      s.on('data', (d) => mine.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const out = new SyslogOutput(
      syslogSettings({ transport: 'tcp', port: (server.address() as AddressInfo).port }),
      PRODUCT,
    );
    out.send(HOSTILE);
    out.send(alert());
    await out.idle();
    const wait = async (n: number, conn: number) => {
      for (let i = 0; i < 200; i++) {
        const buf = Buffer.concat(chunks[conn] ?? []);
        if (buf.length && frames(buf).length >= n) return frames(buf);
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('timed out');
    };
    const first = await wait(2, 0);
    expect(first.map((m) => RFC5424.test(m))).toEqual([true, true]);
    expect(parseCef(RFC5424.exec(first[0]!)![8]!).header[4]).toBe('r|2\\x');

    // The receiver restarts the connection: the next alert comes over a new one.
    sockets[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    out.send(alert({ id: '0190f000-0000-7000-8000-0000000000ff' }));
    await out.idle();
    const second = await wait(1, 1);
    expect(parseCef(RFC5424.exec(second[0]!)![8]!).ext.externalId).toBe(
      '0190f000-0000-7000-8000-0000000000ff',
    );
    expect(out.stats()).toMatchObject({ sent: 3, failed: 0 });
    await out.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  describe.skipIf(!OPENSSL)(OPENSSL ? 'over TLS' : 'over TLS (skipped: openssl is not installed)', () => {
    let dir = '';
    let cert: Buffer;
    let key: Buffer;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'vigil-syslog-tls-'));
      execFileSync(
        OPENSSL!,
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=syslog.test',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      cert = readFileSync(path.join(dir, 'cert.pem'));
      key = readFileSync(path.join(dir, 'key.pem'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('sends octet-counted messages over TLS to a receiver whose certificate it trusts, and refuses others', async () => {
      const data: Buffer[] = [];
      const server = createTlsServer({ cert, key }, (s) => s.on('data', (d) => data.push(d)));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const out = new SyslogOutput(syslogSettings({ transport: 'tls', port, ca: cert }), PRODUCT);
      out.send(HOSTILE);
      out.send(alert());
      await out.idle();
      for (let i = 0; i < 200 && (!data.length || frames(Buffer.concat(data)).length < 2); i++)
        await new Promise((r) => setTimeout(r, 10));
      const msgs = frames(Buffer.concat(data));
      expect(msgs).toHaveLength(2);
      expect(RFC5424.exec(msgs[1]!)![8]).toBe(alertToCef(alert(), PRODUCT));
      expect(out.stats()).toMatchObject({ sent: 2 });
      await out.close();

      // Without the CA the self-signed certificate is refused: nothing is sent in the clear.
      const untrusting = new SyslogOutput(
        syslogSettings({ transport: 'tls', port, maxAttempts: 1 }),
        PRODUCT,
      );
      untrusting.send(alert());
      await untrusting.idle();
      expect(untrusting.stats()).toMatchObject({ sent: 0, failed: 1 });
      expect(untrusting.stats().lastError).toMatch(/self[- ]signed|certificate/i);
      await untrusting.close();
      await new Promise<void>((r) => server.close(() => r()));
    });
  });
});

describe('outputs from the configuration', () => {
  let dir = '';
  let keys: FileKeyRing;
  let sink: SmtpSink;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-outputs-'));
    keys = FileKeyRing.open(path.join(dir, 'keys'));
    sink = await startSmtpSink('alerts', 'smtp-pw-from-env');
  });
  afterAll(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads secrets from a file, the environment or the key ring, and refuses VIGIL_ names', async () => {
    writeFileSync(path.join(dir, 'hook.key'), 'from-a-file\n');
    const seen: Array<{ name: string; signature: string; body: string }> = [];
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      const headers = init.headers as Record<string, string>;
      seen.push({ name: String(_url), signature: headers['x-vigil-signature']!, body: String(init.body) });
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const config = validateConfig({
      dataDir: dir,
      alerts: {
        webhooks: [
          { name: 'file', url: 'https://a.example/1', secretFile: path.join(dir, 'hook.key') },
          { name: 'env', url: 'https://a.example/2', secretEnv: 'HOOK_SECRET' },
          { name: 'derived', url: 'https://a.example/3' },
        ],
      },
    });
    const outputs = buildOutputs(config.alerts, {
      keys,
      product: PRODUCT,
      env: { HOOK_SECRET: 'from-env' },
      fetch: fakeFetch,
    });
    for (const o of outputs) o.send(alert());
    await Promise.all(outputs.map((o) => o.idle()));
    const secrets = ['from-a-file', 'from-env', derivedWebhookSecret(keys, 'derived')];
    expect(seen).toHaveLength(3);
    for (const [i, s] of seen.entries())
      expect(verifySignature(Buffer.from(secrets[i]!), s.body, s.signature)).toBe(true);
    expect(derivedWebhookSecret(keys, 'derived')).toMatch(/^[0-9a-f]{64}$/);
    expect(derivedWebhookSecret(keys, 'derived')).not.toBe(derivedWebhookSecret(keys, 'other'));

    expect(() =>
      buildOutputs(
        validateConfig({
          dataDir: dir,
          alerts: { webhooks: [{ name: 'x', url: 'https://a/', secretEnv: 'NOPE' }] },
        }).alerts,
        {
          keys,
          product: PRODUCT,
          env: {},
        },
      ),
    ).toThrow(/NOPE is not set/);
    expect(
      configSchema.safeParse({
        alerts: { webhooks: [{ name: 'x', url: 'https://a/', secretEnv: 'VIGIL_HOOK' }] },
      }).success,
    ).toBe(false);
    expect(configSchema.safeParse({ alerts: { webhooks: [{ name: 'x', url: 'ftp://a/' }] } }).success).toBe(
      false,
    );
    expect(
      configSchema.safeParse({
        alerts: { webhooks: [{ name: 'x', url: 'https://a/' }], syslog: [{ name: 'x', host: 'h' }] },
      }).success,
    ).toBe(false);
    for (const o of outputs) await o.close();
  });

  it('emails alerts at or above the level through SMTP, and dispatches from the bus once', async () => {
    const config = validateConfig({
      dataDir: dir,
      alerts: {
        email: [
          {
            name: 'soc-mail',
            host: '127.0.0.1',
            port: sink.port,
            security: 'starttls',
            verifyTls: false,
            username: 'alerts',
            passwordEnv: 'SMTP_PASSWORD',
            from: 'Vigil <vigil@hospital.test>',
            to: ['soc@hospital.test', 'oncall@hospital.test'],
            minLevel: 'high',
            consoleUrl: 'https://vigil.hospital.test/',
            maxAttempts: 2,
            retryBaseMs: 20,
          },
        ],
      },
    });
    const outputs = buildOutputs(config.alerts, {
      keys,
      product: PRODUCT,
      env: { SMTP_PASSWORD: 'smtp-pw-from-env' },
    });
    const store = new Map<string, Alert>([
      ['a-high', alert({ id: 'a-high', ruleTitle: 'SMB from an infusion pump\r\nBcc: x@evil.test' })],
      ['a-low', alert({ id: 'a-low', level: 'low' })],
    ]);
    const dispatcher = new AlertDispatcher({ get: async (id) => store.get(id) }, outputs, silentLogger());
    const bus = new MemoryBus({ logger: silentLogger() });
    const sub = await dispatcher.attach(bus);
    const ev = (alertId: string) => makeEvent({ kind: 'detect.alert', source: 'detect', data: { alertId } });
    const high = ev('a-high');
    await bus.publish([high, ev('a-low')]);
    await bus.publish([high]); // redelivered
    for (let i = 0; i < 200 && sink.messages.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    await dispatcher.idle();
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.messages).toHaveLength(1);
    const msg = sink.messages[0]!;
    expect(msg.to.sort()).toEqual(['oncall@hospital.test', 'soc@hospital.test']);
    const parsed = parseMessage(msg.raw);
    expect(parsed.header('subject')[0]).toBe(
      '[Vigil] HIGH alert: SMB from an infusion pump Bcc: x@evil.test',
    );
    expect(parsed.header('bcc')).toEqual([]);
    expect(parsed.header('x-vigil-alert')).toEqual(['a-high']);
    expect(parsed.decoded).toContain('https://vigil.hospital.test/alerts?id=a-high');
    expect(parsed.decoded).toContain('Count:      7');
    expect(dispatcher.status()).toEqual([
      expect.objectContaining({ name: 'soc-mail', kind: 'email', minLevel: 'high', sent: 1 }),
    ]);
    await sub.close();
    await bus.close();
    await dispatcher.close();
  });
});
