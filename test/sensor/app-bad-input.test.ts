/**
 * Hostile input to the application-layer parsers (DHCP, DNS, HTTP, TLS, X.509, WS-Discovery,
 * IntelliVue): a sample message cut at every offset, random bytes, random mutations, DNS
 * compression loops, an XML entity bomb. Nothing throws, nothing loops, results stay bounded;
 * and the whole sensor survives a mutated capture of all of them.
 */
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ConversationFrame,
  makePatientIdHasher,
  parseCertificateNames,
  parseClientHello,
  parseDhcp,
  parseDns,
  parseHttpHead,
  parseIntellivue,
  parseWsDiscovery,
  pcapFileHeader,
  pcapRecord,
  readDnsName,
  TcpConversation,
  TlsHandshakeReader,
  udpFrame,
} from '../../src/sensor/index.js';
import { dhcpMessage, intellivueConnectIndication, SDC_HELLO } from './app-traffic.js';
import { KEY, runSensor } from './support.js';

const hash = makePatientIdHasher(KEY);

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function mutate(r: () => number, sample: Buffer, flips: number): Buffer {
  const b = Buffer.from(sample);
  for (let i = 0; i < flips; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
  return b;
}

/** Every prefix, random bytes and mutations of `sample` through `parse`, which must not throw. */
function hammer(sample: Buffer, parse: (b: Buffer) => unknown, seed: number): void {
  for (let cut = 0; cut <= sample.length; cut++) parse(sample.subarray(0, cut));
  const r = rng(seed);
  for (let i = 0; i < 2000; i++) {
    parse(randomBytes(r, Math.floor(r() * 600)));
    parse(mutate(r, sample, 1 + Math.floor(r() * 8)));
  }
}

/** A DNS response with compressed names: A question, CNAME and A answers. */
function dnsSample(): Buffer {
  const q = Buffer.from([
    0x12,
    0x34,
    0x81,
    0x80,
    0,
    1,
    0,
    2,
    0,
    0,
    0,
    0,
    4,
    ...Buffer.from('pacs'),
    8,
    ...Buffer.from('hospital'),
    7,
    ...Buffer.from('example'),
    0,
    0,
    1,
    0,
    1,
  ]);
  const cname = Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 0, 0, 5, 2, ...Buffer.from('p1'), 0xc0, 17]);
  const a = Buffer.from([0xc0, 51, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 10, 1, 2, 3]);
  return Buffer.concat([q, cname, a]);
}

describe('DNS names', () => {
  it('decompresses pointers and reads the sample', () => {
    const m = parseDns(dnsSample());
    expect(m).toMatchObject({
      response: true,
      questions: [{ name: 'pacs.hospital.example', type: 1 }],
      answers: [
        { name: 'pacs.hospital.example', type: 5, data: 'p1.hospital.example' },
        { name: 'p1.hospital.example', type: 1, data: '10.1.2.3' },
      ],
      incomplete: false,
    });
  });

  it('refuses pointer loops: to itself, forwards, between two names, and long backward chains', () => {
    const head = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const self = Buffer.concat([head, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(parseDns(self)).toBe('dns-pointer-loop');
    const forward = Buffer.concat([head, Buffer.from([0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1])]);
    expect(parseDns(forward)).toBe('dns-pointer-loop');
    // Label "a" then a pointer back to the label: a cycle through earlier bytes.
    const cycle = Buffer.concat([head, Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])]);
    expect(parseDns(cycle)).toBe('dns-pointer-loop');
    // Two pointers that point at each other.
    const mutual = Buffer.concat([head, Buffer.from([0xc0, 14, 0xc0, 12, 0, 1, 0, 1])]);
    expect(parseDns(mutual)).toBe('dns-pointer-loop');
    // A chain of 300 names, each one label and a pointer to the previous name: every pointer goes
    // backwards, so only the jump and length bounds stop the walk.
    const parts: number[] = [1, 0x61, 0];
    let prev = 12;
    for (let i = 1; i < 300; i++) {
      const at = 12 + parts.length;
      parts.push(1, 0x61, 0xc0 | (prev >> 8), prev & 0xff);
      prev = at;
    }
    const chain = Buffer.concat([head, Buffer.from(parts)]);
    expect(['dns-pointer-loop', 'dns-name-too-long']).toContain(readDnsName(chain, prev));
    const short = readDnsName(chain, 12 + 3 + 4 * 9);
    expect(short).toEqual({ name: Array(11).fill('a').join('.'), next: 12 + 3 + 4 * 10 });
    const long = Buffer.concat([
      head,
      Buffer.from(Array.from({ length: 5 }, () => [63, ...Buffer.alloc(63, 0x61)]).flat()),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    expect(parseDns(long)).toBe('dns-name-too-long');
  });

  it('escapes bytes that are not printable, and dots inside labels', () => {
    const head = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const m = parseDns(Buffer.concat([head, Buffer.from([3, 0x61, 0x2e, 0x00, 0, 0, 1, 0, 1])]));
    expect(m).toMatchObject({ questions: [{ name: 'a\\046\\000' }] });
  });

  it('survives truncation at every offset, random bytes and mutations', () => {
    const sample = dnsSample();
    for (let cut = 0; cut < sample.length; cut++) {
      const m = parseDns(sample.subarray(0, cut));
      if (typeof m !== 'string') expect(m.answers.length).toBeLessThanOrEqual(2);
    }
    hammer(sample, parseDns, 1);
  });
});

describe('parsers survive hostile input', () => {
  let clientHelloRecord: Buffer;
  beforeAll(async () => {
    // A real ClientHello: Node's OpenSSL with SNI and ALPN, caught by a plain TCP server.
    clientHelloRecord = await new Promise<Buffer>((resolve) => {
      const server = createServer((s) => {
        s.once('data', (d) => {
          resolve(Buffer.from(d));
          s.destroy();
          server.close();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port;
        const c = tlsConnect({ port, host: '127.0.0.1', servername: 'fuzz.example', ALPNProtocols: ['h2'] });
        c.on('error', () => {});
      });
    });
  });

  it('DHCP', () => {
    const sample = dhcpMessage({
      op: 1,
      type: 3,
      mac: '00:11:22:33:44:55',
      xid: 7,
      options: [
        [12, Buffer.from('MONITOR-7')],
        [55, Buffer.from([1, 3, 6, 15])],
        [60, Buffer.from('vendor')],
        [81, Buffer.from([4, 0, 0, 3, 0x61, 0x62, 0x63, 0])],
      ],
    });
    expect(parseDhcp(sample)).toMatchObject({ hostname: 'MONITOR-7', fingerprint: '1,3,6,15', fqdn: 'abc' });
    expect(parseDhcp(Buffer.concat([sample.subarray(0, 240), Buffer.from([12, 200, 0x41])]))).toBe(
      'dhcp-truncated',
    );
    hammer(sample, parseDhcp, 2);
  });

  it('HTTP', () => {
    const sample = Buffer.from(
      'GET /a/b?patient=123 HTTP/1.1\r\nHost: x.example\r\nUser-Agent: Pump/1\r\nAccept: */*\r\n\r\n',
    );
    expect(parseHttpHead(sample)).toEqual({
      type: 'request',
      method: 'GET',
      target: '/a/b',
      version: '1.1',
      host: 'x.example',
      userAgent: 'Pump/1',
    });
    expect(parseHttpHead(Buffer.from('GET /fhir/Patient/12345/_history/2 HTTP/1.1\r\n\r\n'))).toMatchObject({
      target: '/fhir/Patient/*/_history/2',
    });
    hammer(sample, parseHttpHead, 3);
    const huge = Buffer.from(`GET / HTTP/1.1\r\n${'X-A: b\r\n'.repeat(100_000)}User-Agent: late\r\n\r\n`);
    const t0 = performance.now();
    expect(parseHttpHead(huge)).toMatchObject({ method: 'GET' });
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('TLS ClientHello and the handshake reader', () => {
    const ch = parseClientHello(clientHelloRecord.subarray(9));
    expect(ch).toMatchObject({ serverName: 'fuzz.example', alpn: ['h2'] });
    hammer(clientHelloRecord.subarray(9), parseClientHello, 4);
    const feed = (b: Buffer) => {
      const reader = new TlsHandshakeReader((_t, body) => {
        parseClientHello(body);
        return false;
      });
      for (let i = 0; i < b.length; i += 100) reader.push(b.subarray(i, i + 100));
    };
    hammer(clientHelloRecord, feed, 5);
  });

  it('X.509 names', () => {
    // A small DER certificate-shaped structure: SEQUENCE { SEQUENCE { INTEGER, SEQUENCE{}, Name, SEQUENCE{}, Name } }.
    const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, body.length]), body]);
    const name = (cn: string) =>
      tlv(
        0x30,
        tlv(
          0x31,
          tlv(0x30, Buffer.concat([tlv(0x06, Buffer.from([0x55, 4, 3])), tlv(0x0c, Buffer.from(cn))])),
        ),
      );
    const tbs = tlv(
      0x30,
      Buffer.concat([
        tlv(0x02, Buffer.from([1])),
        tlv(0x30, Buffer.alloc(0)),
        name('Issuer CA'),
        tlv(0x30, Buffer.alloc(0)),
        name('device.example'),
      ]),
    );
    const der = tlv(0x30, tbs);
    expect(parseCertificateNames(der)).toEqual({ subjectCn: 'device.example', issuerCn: 'Issuer CA' });
    hammer(der, parseCertificateNames, 6);
  });

  it('WS-Discovery: no entity expansion, DTDs refused, bounded scans', () => {
    const sample = Buffer.from(SDC_HELLO);
    hammer(sample, (b) => parseWsDiscovery(b, hash), 7);
    const bomb = Buffer.from(
      `<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${SDC_HELLO.replace('dpws:Device', '&b;')}`,
    );
    expect(parseWsDiscovery(bomb, hash)).toBe('wsd-dtd-refused');
    const undeclared = Buffer.from(SDC_HELLO.replace('dpws:Device', '&b;&#x41;&lt;'));
    const m = parseWsDiscovery(undeclared, hash);
    expect(typeof m === 'string' ? m : m.endpoints[0]!.types).toEqual(['&b;A<', 'mdpws:MedicalDevice']);
    // A megabyte of unclosed tags is scanned in bounded time.
    const big = Buffer.from(`<s:Envelope>${'<wsd:Types '.repeat(100_000)}`);
    const t0 = performance.now();
    parseWsDiscovery(big, hash);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('IntelliVue', () => {
    hammer(intellivueConnectIndication(), parseIntellivue, 8);
    expect(parseIntellivue(Buffer.from([0x0d, 0x05, 1, 2, 3, 4, 5]))).toEqual({
      message: 'association-request',
    });
    expect(parseIntellivue(Buffer.from([0x0d, 0x09, 1, 2]))).toBe('intellivue-bad-length');
  });

  it('the whole sensor survives mutations of a capture of all of them', async () => {
    const a = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', src: '10.0.0.1', dst: '10.0.0.2' };
    const frames: Buffer[] = [
      udpFrame(
        { ...a, srcPort: 68, dstPort: 67, vlan: 7 },
        dhcpMessage({ op: 1, type: 1, mac: a.srcMac, xid: 1, options: [[12, Buffer.from('h')]] }),
      ),
      udpFrame({ ...a, srcPort: 5000, dstPort: 53 }, dnsSample()),
      udpFrame({ ...a, srcPort: 3702, dstPort: 3702 }, Buffer.from(SDC_HELLO)),
      udpFrame({ ...a, srcPort: 24005, dstPort: 24005 }, intellivueConnectIndication()),
    ];
    const conv = (port: number, data: Buffer) => {
      const c = new TcpConversation({ ...a, srcPort: 40_000 + port, dstPort: port });
      const f: ConversationFrame[] = [
        ...c.open(),
        ...c.send(0, data),
        ...c.send(1, Buffer.from('HTTP/1.1 200 OK\r\nServer: s\r\n\r\n')),
        ...c.close(),
      ];
      return f.map((x) => x.frame);
    };
    frames.push(
      ...conv(443, clientHelloRecord),
      ...conv(80, Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n\r\n')),
    );
    const capture = Buffer.concat([pcapFileHeader(), ...frames.map((f, i) => pcapRecord(1000 + i, f))]);
    const clean = await runSensor(capture);
    expect(clean.summary).toMatchObject({
      dhcpMessages: 1,
      dnsMessages: 1,
      wsDiscoveryMessages: 1,
      intellivueMessages: 1,
      tlsHandshakes: 1,
      httpMessages: 2,
    });
    const r = rng(9);
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(capture);
      for (let k = 0; k < 20; k++) {
        const p = 24 + Math.floor(r() * (b.length - 24));
        b[p] = Math.floor(r() * 256);
      }
      const { events } = await runSensor(b, 777);
      expect(JSON.stringify(events)).not.toContain('PAT-0042');
    }
  });
});
