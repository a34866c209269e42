/**
 * The sensor's application-layer identity against tshark on the same capture: TLS (SNI, ALPN,
 * JA3, JA3S, the certificate subject, and JA4 recomputed from tshark's own dissection of each
 * ClientHello), HTTP request line, Host, User-Agent and Server, DNS questions and answers, DHCP
 * options, and VLAN ids. The capture holds real handshakes and requests from OpenSSL (Node,
 * curl, openssl s_client), curl and Node's HTTP, and c-ares queries (see app-traffic.ts); it is
 * written to a temporary directory, never to the repository. Then the events go through the
 * inventory, which shows the identity attributes they carry.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import { redactPath, type SensorSummary } from '../../src/sensor/index.js';
import { type Inventory, openInventory } from '../devices/fixture.js';
import { testDatabases } from '../support/databases.js';
import { ADDR, buildAppCapture, CURL, OPENSSL, PUMP_MAC } from './app-traffic.js';
import { hasTshark, runSensor } from './support.js';

const ready = hasTshark && OPENSSL !== undefined && CURL !== undefined;
if (!ready) console.warn('app-tshark.test.ts skipped: needs tshark, openssl and curl (Debian packages)');

function tshark(file: string, filter: string, fields: string[]): string[][] {
  const out = execFileSync(
    'tshark',
    ['-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split('\t'));
}

/** JA4 from tshark's dissected ClientHello lists, written from the FoxIO spec independently. */
function ja4FromTshark(row: string[]): string {
  const [ciphers, exts, sigs, versions, hello, alpn] = row.map((c) => (c ? c.split(',') : []));
  const n = (x: string) => Number(x);
  const grease = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
  const hex = (v: number) => v.toString(16).padStart(4, '0');
  const cs = ciphers!.map(n).filter((v) => !grease(v));
  const es = exts!.map(n).filter((v) => !grease(v));
  // supported_versions' highest, else the hello's own version.
  const vs = versions!.map(n).filter((v) => !grease(v));
  if (!vs.length) vs.push(n(hello![0]!));
  const ver = ({ 772: '13', 771: '12', 770: '11', 769: '10' } as Record<number, string>)[Math.max(...vs)];
  const first = alpn![0] ?? '';
  const a = `t${ver}${es.includes(0) ? 'd' : 'i'}${String(cs.length).padStart(2, '0')}${String(es.length).padStart(2, '0')}${first ? first.slice(0, 1) + first.slice(-1) : '00'}`;
  const h = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
  const b = h(cs.map(hex).sort().join(','));
  const ext = es
    .filter((e) => e !== 0 && e !== 16)
    .map(hex)
    .sort()
    .join(',');
  const sig = sigs!
    .map(n)
    .filter((v) => !grease(v))
    .map(hex)
    .join(',');
  return `${a}_${b}_${h(sig ? `${ext}_${sig}` : ext)}`;
}

describe.skipIf(!ready)('application identity against tshark', () => {
  let dir: string;
  let file: string;
  let events: VigilEvent[];
  let summary: SensorSummary;
  const of = (kind: string) => events.filter((e) => e.kind === kind);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-app-'));
    file = await buildAppCapture(dir);
    ({ events, summary } = await runSensor(readFileSync(file), 1000));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the whole capture without skipping anything', () => {
    expect(summary.skipped).toEqual({});
    expect(summary).toMatchObject({
      tlsHandshakes: 3,
      httpMessages: 4,
      dnsMessages: 4,
      dhcpMessages: 4,
      wsDiscoveryMessages: 1,
      intellivueMessages: 1,
    });
  });

  it('TLS: SNI, ALPN, JA3 and JA3S as tshark has them; JA4 from tshark’s dissection', () => {
    const hellos = tshark(file, 'tls.handshake.type == 1', [
      'tls.handshake.extensions_server_name',
      'tls.handshake.extensions_alpn_str',
      'tls.handshake.ja3',
      'tls.handshake.ciphersuite',
      'tls.handshake.extension.type',
      'tls.handshake.sig_hash_alg',
      'tls.handshake.extensions.supported_version',
      'tls.handshake.version',
    ]);
    const servers = tshark(file, 'tls.handshake.type == 2', ['tls.handshake.ja3s']);
    const tls = of('net.tls.handshake').map((e) => e.data as Record<string, unknown>);
    expect(hellos).toHaveLength(3);
    expect(tls).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const [sni, alpn, ja3, ...lists] = hellos[i]!;
      expect(tls[i]!.serverName).toBe(sni);
      expect((tls[i]!.alpn as string[]).join(',')).toBe(alpn);
      expect(tls[i]!.ja3).toBe(ja3);
      expect(tls[i]!.ja3s).toBe(servers[i]![0]);
      expect(tls[i]!.ja4).toBe(ja4FromTshark([...lists, alpn!]));
    }
    expect(tls.map((t) => t.serverName)).toEqual([
      'pacs.vigil-test.example',
      'ehr.vigil-test.example',
      'monitor.vigil-test.example',
    ]);
    // TLS 1.2 (openssl s_client -tls1_2): the server certificate is in clear.
    const cn = tshark(file, 'tls.handshake.type == 11', ['x509sat.uTF8String'])[0]![0]!.split(',');
    expect(tls[2]!.certificate).toEqual({
      subjectCn: cn[3],
      subjectO: cn[2],
      issuerCn: cn[1],
    });
    expect(of('net.tls.handshake').every((e) => e.data?.vlan === 42)).toBe(true);
  });

  it('HTTP: method, path, Host, User-Agent and Server as tshark has them (query and IDs dropped)', () => {
    const reqs = tshark(file, 'http.request', [
      'http.request.method',
      'http.request.uri',
      'http.host',
      'http.user_agent',
    ]);
    const resps = tshark(file, 'http.response', ['http.response.code', 'http.server']);
    const ours = of('net.http.request').map((e) => e.data as Record<string, unknown>);
    expect(ours.map((d) => [d.method, d.target, d.host, d.userAgent])).toEqual(
      reqs.map(([m, uri, host, ua]) => [m, redactPath(uri!.split('?')[0]!), host, ua]),
    );
    expect(of('net.http.response').map((e) => [String(e.data?.status), e.data?.server])).toEqual(resps);
  });

  it('DNS: questions and A, CNAME and PTR answers (compressed names) as tshark has them', () => {
    const rows = tshark(file, 'dns', [
      'dns.flags.response',
      'dns.qry.name',
      'dns.a',
      'dns.cname',
      'dns.ptr.domain_name',
    ]);
    const dns = of('net.dns').map((e) => e.data as Record<string, unknown>);
    expect(dns).toHaveLength(rows.length);
    rows.forEach(([response, qname, a, cname, ptr], i) => {
      const d = dns[i]!;
      const answers = d.answers as Array<{ type: string; data: string }>;
      const data = (t: string) =>
        answers
          .filter((x) => x.type === t)
          .map((x) => x.data)
          .join(',');
      expect(d.response).toBe(response === '1' || response === 'True');
      expect((d.questions as Array<{ name: string }>)[0]!.name).toBe(qname);
      expect([data('A'), data('CNAME'), data('PTR')]).toEqual([a, cname, ptr]);
    });
  });

  it('DHCP: message type, client MAC, host name, vendor class, parameter list, requested IP, FQDN', () => {
    const rows = tshark(file, 'dhcp', [
      'dhcp.option.dhcp',
      'dhcp.hw.mac_addr',
      'dhcp.option.hostname',
      'dhcp.option.vendor_class_id',
      'dhcp.option.request_list_item',
      'dhcp.option.requested_ip_address',
      'dhcp.ip.your',
      'dhcp.fqdn.name',
      'vlan.id',
    ]);
    const types: Record<string, string> = { discover: '1', offer: '2', request: '3', ack: '5' };
    const dhcp = of('net.dhcp').map((e) => e.data as Record<string, unknown>);
    expect(
      dhcp.map((d) => [
        types[d.messageType as string],
        d.clientMac,
        d.hostname ?? '',
        d.vendorClass ?? '',
        d.fingerprint ?? '',
        d.requestedIp ?? '',
        d.yourIp ?? '0.0.0.0',
        d.fqdn ?? '',
        String(d.vlan),
      ]),
    ).toEqual(rows.map((r) => r.map((c, i) => (i === 1 ? c.split(',')[0] : c))));
  });

  it('WS-Discovery: an SDC medical device Hello, the patient context scope only as a keyed hash', () => {
    const [e] = of('net.ws-discovery');
    expect(e!.data).toMatchObject({
      action: 'hello',
      medical: true,
      carriesPatientData: true,
      endpoints: [
        {
          address: 'urn:uuid:0f3b1a52-2c1d-4a7e-8f00-5e0ad1c0ffee',
          types: ['dpws:Device', 'mdpws:MedicalDevice'],
          xaddrs: ['https://10.42.0.90:6464/0f3b1a52'],
          metadataVersion: 3,
        },
      ],
    });
    expect(e!.patientRef).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(events)).not.toContain('PAT-0042');
  });

  it('IntelliVue: the connect indication names the monitor', () => {
    const [e] = of('net.intellivue');
    expect(e!.data).toMatchObject({
      message: 'connect-indication',
      manufacturer: 'Philips',
      model: 'M8007A',
      serialNumber: 'DE12345678',
      softwareRevision: 'H.15.41',
      ipAddress: '10.42.0.31',
    });
  });

  for (const engine of testDatabases()) {
    describe(`through the inventory on ${engine.name}`, () => {
      let inv: Inventory;
      beforeAll(async () => {
        inv = await openInventory(engine);
        await inv.feed(events);
      });
      afterAll(async () => {
        await inv.close();
        await engine.cleanup();
      });
      const values = (d: { identity: Record<string, Array<{ value: string }>> }, name: string) =>
        (d.identity[name] ?? []).map((a) => a.value).sort();

      it('the DHCP client has its host name, vendor class, fingerprint, lease and VLAN', async () => {
        const pump = await inv.devices.queries.get(PUMP_MAC);
        expect(pump?.ip).toBe('10.42.0.77');
        expect(values(pump!, 'hostname')).toEqual(['PUMP-ICU-017', 'PUMP-ICU-017.ward.example']);
        expect(values(pump!, 'dhcp_vendor_class')).toEqual(['MSFT 5.0']);
        expect(values(pump!, 'dhcp_fingerprint')).toEqual(['1,3,6,15,31,33,43,44,46,47,119,121,249,252']);
        expect(values(pump!, 'vlan')).toEqual(['42']);
      });

      it('TLS, HTTP, DNS, SDC and IntelliVue evidence lands on the right devices', async () => {
        const tlsClient = await inv.devices.queries.get(ADDR.tls.srcMac);
        expect(values(tlsClient!, 'tls_ja4')).toHaveLength(3);
        expect(values(tlsClient!, 'tls_ja3')).toHaveLength(3);
        const httpClient = await inv.devices.queries.get(ADDR.http.srcMac);
        expect(values(httpClient!, 'user_agent')).toEqual(['MonitorGateway/1.0', 'PumpAgent/7.3']);
        const monitor = await inv.devices.queries.get('00:09:fb:0a:0b:0c');
        expect(values(monitor!, 'model')).toEqual(['M8007A']);
        expect(values(monitor!, 'serial_number')).toEqual(['DE12345678']);
        const sdc = await inv.devices.queries.get('02:00:00:00:05:01');
        expect(values(sdc!, 'sdc_type')).toContain('mdpws:MedicalDevice');
        expect(values(sdc!, 'sdc_scope').join(' ')).not.toContain('PAT-0042');
      });
    });
  }
});
