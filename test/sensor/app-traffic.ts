/**
 * Application traffic for the sensor's DHCP, DNS, HTTP, TLS, WS-Discovery and IntelliVue tests.
 * TLS and HTTP come from real implementations talking on loopback (Node's OpenSSL, curl, openssl
 * s_client, Node's HTTP), their bytes recorded by a relay; DNS queries come from Node's resolver
 * (c-ares) and are answered by a small responder that compresses names; DHCP, WS-Discovery and
 * IntelliVue datagrams are built here after the shapes real clients and devices send. Everything
 * is written to a pcap in a temporary directory that tshark then reads beside the sensor.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createNetServer, connect as netConnect, type Server } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import {
  type FrameAddresses,
  pcapFileHeader,
  pcapRecord,
  TcpConversation,
  udpFrame,
} from '../../src/sensor/index.js';

export const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
export const CURL = ['/usr/bin/curl', '/bin/curl'].find((p) => existsSync(p));

type Chunk = { dir: 0 | 1; data: Buffer };

/** A relay on loopback in front of `target`: records each connection's bytes in order. */
async function relay(target: number): Promise<{ port: number; conns: Chunk[][]; server: Server }> {
  const conns: Chunk[][] = [];
  const server = createNetServer((client) => {
    const chunks: Chunk[] = [];
    conns.push(chunks);
    const upstream = netConnect(target, '127.0.0.1');
    client.on('data', (d) => {
      chunks.push({ dir: 0, data: Buffer.from(d) });
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      chunks.push({ dir: 1, data: Buffer.from(d) });
      client.write(d);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, conns, server };
}

const run = (cmd: string, args: string[], input?: string) =>
  new Promise<void>((resolve) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, () => resolve());
    if (input !== undefined) child.stdin?.end(input);
  });

/** A self-signed certificate for `vigil-test.example` made with openssl. */
function certificate(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    OPENSSL!,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/O=Vigil Test Hospital/CN=vigil-test.example',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** Real TLS handshakes: Node (OpenSSL) with SNI and ALPN, curl, and openssl s_client in TLS 1.2. */
async function tlsConversations(dir: string): Promise<Chunk[][]> {
  const { key, cert } = certificate(dir);
  const server = createTlsServer({ key, cert, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => {
    s.on('data', () => s.end('HTTP/1.1 204 No Content\r\n\r\n'));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const target = typeof addr === 'object' && addr ? addr.port : 0;
  const r = await relay(target);
  try {
    await new Promise<void>((resolve) => {
      const s = tlsConnect({
        port: r.port,
        host: '127.0.0.1',
        servername: 'pacs.vigil-test.example',
        ALPNProtocols: ['http/1.1'],
        rejectUnauthorized: false,
      });
      s.on('secureConnect', () => s.end('GET / HTTP/1.1\r\nHost: pacs\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    if (CURL)
      await run(CURL, [
        '-sk',
        '--max-time',
        '5',
        '--resolve',
        `ehr.vigil-test.example:${r.port}:127.0.0.1`,
        `https://ehr.vigil-test.example:${r.port}/`,
      ]);
    if (OPENSSL)
      await run(
        OPENSSL,
        [
          's_client',
          '-connect',
          `127.0.0.1:${r.port}`,
          '-servername',
          'monitor.vigil-test.example',
          '-tls1_2',
          '-alpn',
          'h2',
        ],
        'Q\n',
      );
  } finally {
    r.server.close();
    server.close();
  }
  return r.conns;
}

/** Real HTTP/1.1: curl and Node's client against Node's server (which sends a Server header). */
async function httpConversations(): Promise<Chunk[][]> {
  const server = createHttpServer((_req, res) => {
    res.setHeader('Server', 'VigilTestPump/2.1 (infusion)');
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const target = typeof addr === 'object' && addr ? addr.port : 0;
  const r = await relay(target);
  try {
    if (CURL)
      await run(CURL, [
        '-s',
        '--max-time',
        '5',
        '-A',
        'PumpAgent/7.3',
        `http://pump-17.ward4.example:${r.port}/status?id=1`,
        '--resolve',
        `pump-17.ward4.example:${r.port}:127.0.0.1`,
      ]);
    await new Promise<void>((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: r.port,
          path: '/api/v1/observations',
          method: 'POST',
          headers: { 'user-agent': 'MonitorGateway/1.0', host: 'gateway.icu.example' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', () => resolve());
      req.end('{}');
    });
  } finally {
    r.server.close();
    server.close();
  }
  return r.conns;
}

/** A DNS name in wire form, with a pointer for the suffix already written at `pointers`. */
function dnsName(name: string, buf: Buffer[], at: number, pointers: Map<string, number>): Buffer {
  const labels = name.split('.');
  const parts: Buffer[] = [];
  let off = at;
  for (let i = 0; i < labels.length; i++) {
    const suffix = labels.slice(i).join('.');
    const ptr = pointers.get(suffix);
    if (ptr !== undefined) {
      parts.push(Buffer.from([0xc0 | (ptr >> 8), ptr & 0xff]));
      return Buffer.concat(parts);
    }
    pointers.set(suffix, off);
    const l = Buffer.from(labels[i]!, 'latin1');
    parts.push(Buffer.from([l.length]), l);
    off += 1 + l.length;
  }
  parts.push(Buffer.from([0]));
  void buf;
  return Buffer.concat(parts);
}

/** An answer to a query, with compressed names: CNAME then A for `A`, a PTR name for `PTR`. */
function dnsAnswer(query: Buffer): Buffer {
  const qdEnd = (() => {
    let p = 12;
    while (query[p]! !== 0) p += 1 + query[p]!;
    return p + 5;
  })();
  const labels: string[] = [];
  for (let p = 12; query[p]! !== 0; p += 1 + query[p]!)
    labels.push(query.toString('latin1', p + 1, p + 1 + query[p]!));
  const qname = labels.join('.');
  const qtype = query.readUInt16BE(qdEnd - 4);
  const pointers = new Map<string, number>([[qname, 12]]);
  for (let i = 1; i < labels.length; i++) {
    let off = 12;
    for (let j = 0; j < i; j++) off += 1 + labels[j]!.length;
    pointers.set(labels.slice(i).join('.'), off);
  }
  const head = Buffer.from(query.subarray(0, qdEnd));
  head.writeUInt16BE(0x8180, 2);
  const records: Buffer[] = [];
  let at = qdEnd;
  const rr = (name: string, type: number, rdata: (at: number) => Buffer) => {
    const n = dnsName(name, records, at, pointers);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(300, 4);
    const rd = rdata(at + n.length + 10);
    fixed.writeUInt16BE(rd.length, 8);
    records.push(n, fixed, rd);
    at += n.length + 10 + rd.length;
  };
  if (qtype === 1) {
    const canonical = `pacs-01.${labels.slice(1).join('.')}`;
    rr(qname, 5, (a) => dnsName(canonical, records, a, pointers));
    rr(canonical, 1, () => Buffer.from([10, 20, 30, 40]));
    head.writeUInt16BE(2, 6);
  } else if (qtype === 12) {
    rr(qname, 12, (a) => dnsName('ct-scanner-2.radiology.hospital.example', records, a, pointers));
    head.writeUInt16BE(1, 6);
  }
  return Buffer.concat([head, ...records]);
}

/** Node's resolver (c-ares) asks a local responder; both datagrams of each exchange are kept. */
async function dnsExchanges(): Promise<Chunk[]> {
  const out: Chunk[] = [];
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    out.push({ dir: 0, data: Buffer.from(msg) });
    const answer = dnsAnswer(msg);
    out.push({ dir: 1, data: answer });
    sock.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${sock.address().port}`]);
  try {
    await resolver.resolve4('pacs.radiology.hospital.example').catch(() => []);
    await resolver.reverse('10.20.30.41').catch(() => []);
  } finally {
    sock.close();
  }
  return out;
}

/** A DHCP message as a Windows 10 client or a server sends it. */
export function dhcpMessage(opts: {
  op: 1 | 2;
  type: number;
  mac: string;
  xid: number;
  yiaddr?: string;
  options: Array<[number, Buffer]>;
}): Buffer {
  const b = Buffer.alloc(240);
  b[0] = opts.op;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(opts.xid, 4);
  if (opts.yiaddr) Buffer.from(opts.yiaddr.split('.').map(Number)).copy(b, 16);
  Buffer.from(opts.mac.replace(/:/g, ''), 'hex').copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const opt: Buffer[] = [Buffer.from([53, 1, opts.type])];
  for (const [code, v] of opts.options) opt.push(Buffer.from([code, v.length]), v);
  opt.push(Buffer.from([255]));
  return Buffer.concat([b, ...opt]);
}

const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
export const PUMP_MAC = '00:1a:2b:3c:4d:5e';
const WINDOWS_PRL = [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252];

function dhcpExchange(): Array<{ addr: FrameAddresses; data: Buffer }> {
  const client: FrameAddresses = {
    srcMac: PUMP_MAC,
    dstMac: 'ff:ff:ff:ff:ff:ff',
    src: '0.0.0.0',
    dst: '255.255.255.255',
    srcPort: 68,
    dstPort: 67,
    vlan: 42,
  };
  const server: FrameAddresses = {
    srcMac: '02:00:00:00:00:fe',
    dstMac: PUMP_MAC,
    src: '10.42.0.1',
    dst: '10.42.0.77',
    srcPort: 67,
    dstPort: 68,
    vlan: 42,
  };
  const common: Array<[number, Buffer]> = [
    [61, Buffer.concat([Buffer.from([1]), Buffer.from(PUMP_MAC.replace(/:/g, ''), 'hex')])],
    [12, Buffer.from('PUMP-ICU-017')],
    [60, Buffer.from('MSFT 5.0')],
    [55, Buffer.from(WINDOWS_PRL)],
  ];
  return [
    { addr: client, data: dhcpMessage({ op: 1, type: 1, mac: PUMP_MAC, xid: 0x1234abcd, options: common }) },
    {
      addr: server,
      data: dhcpMessage({
        op: 2,
        type: 2,
        mac: PUMP_MAC,
        xid: 0x1234abcd,
        yiaddr: '10.42.0.77',
        options: [
          [54, ip4('10.42.0.1')],
          [51, Buffer.from([0, 0, 0x0e, 0x10])],
        ],
      }),
    },
    {
      addr: client,
      data: dhcpMessage({
        op: 1,
        type: 3,
        mac: PUMP_MAC,
        xid: 0x1234abcd,
        options: [
          ...common.slice(0, 2),
          [50, ip4('10.42.0.77')],
          [54, ip4('10.42.0.1')],
          [81, Buffer.concat([Buffer.from([0, 0, 0]), Buffer.from('PUMP-ICU-017.ward.example')])],
          ...common.slice(2),
        ],
      }),
    },
    {
      addr: server,
      data: dhcpMessage({
        op: 2,
        type: 5,
        mac: PUMP_MAC,
        xid: 0x1234abcd,
        yiaddr: '10.42.0.77',
        options: [
          [54, ip4('10.42.0.1')],
          [51, Buffer.from([0, 0, 0x0e, 0x10])],
        ],
      }),
    },
  ];
}

/** An SDC provider's Hello (WS-Discovery 2009/01, MDPWS types, SDC scopes). */
export const SDC_HELLO = `<?xml version="1.0" encoding="UTF-8"?>
<s12:Envelope xmlns:s12="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:wsd="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01" xmlns:dpws="http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01" xmlns:mdpws="http://standards.ieee.org/downloads/11073/11073-20702-2016">
<s12:Header><wsa:Action>http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/Hello</wsa:Action><wsa:MessageID>urn:uuid:7d1c4c1e-7a4b-4e0e-9a41-6f3b0c2f0a11</wsa:MessageID><wsa:To>urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01</wsa:To><wsd:AppSequence InstanceId="1" MessageNumber="1"/></s12:Header>
<s12:Body><wsd:Hello><wsa:EndpointReference><wsa:Address>urn:uuid:0f3b1a52-2c1d-4a7e-8f00-5e0ad1c0ffee</wsa:Address></wsa:EndpointReference><wsd:Types>dpws:Device mdpws:MedicalDevice</wsd:Types><wsd:Scopes>sdc.mds.pkp:1.2.840.10004.20701.1.1 sdc.ctxt.loc:/sdc.ctxt.loc.detail/HOSP%2F%2F%2FICU%2F%2FBED7?fac=HOSP&amp;poc=ICU&amp;bed=BED7 sdc.ctxt.pat:/http://hospital.example/ids/PAT-0042 sdc.cdc.type:///130535</wsd:Scopes><wsd:XAddrs>https://10.42.0.90:6464/0f3b1a52</wsd:XAddrs><wsd:MetadataVersion>3</wsd:MetadataVersion></wsd:Hello></s12:Body></s12:Envelope>`;

/** A monitor's Connect Indication as IntelliVue Data Export defines it (attribute list inside). */
export function intellivueConnectIndication(): Buffer {
  const ava = (id: number, v: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(v.length, 2);
    return Buffer.concat([h, v]);
  };
  const u16 = (...v: number[]) => {
    const b = Buffer.alloc(2 * v.length);
    for (let i = 0; i < v.length; i++) b.writeUInt16BE(v[i]!, 2 * i);
    return b;
  };
  const label = (s: string) => {
    const t = Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');
    return Buffer.concat([u16(t.length), t]);
  };
  const spec = (type: number, comp: number, s: string) => Buffer.concat([u16(type, comp), label(s)]);
  const specs = [spec(1, 8, 'DE12345678'), spec(2, 8, 'M8007A'), spec(4, 0x58, 'H.15.41')];
  const specBody = Buffer.concat(specs);
  const attrs = [
    ava(0x0986, u16(1, 4429)),
    ava(0xf100, Buffer.concat([Buffer.from('0009fb0a0b0c', 'hex'), ip4('10.42.0.31'), ip4('255.255.255.0')])),
    ava(0xf101, Buffer.concat([u16(2, 16), u16(1, 1, 24105, 0), u16(5, 1, 24105, 0)])),
    ava(0x092d, Buffer.concat([u16(specs.length, specBody.length), specBody])),
    ava(0x0928, Buffer.concat([label('Philips'), label('M8007A')])),
  ];
  const list = Buffer.concat(attrs);
  const eventInfo = Buffer.concat([u16(attrs.length, list.length), list]);
  const eventArg = Buffer.concat([
    u16(0x0023, 0, 0),
    Buffer.from([0, 0, 0xd6, 0xd4]),
    u16(0x0d17, eventInfo.length),
    eventInfo,
  ]);
  const roiv = Buffer.concat([u16(0, 0, eventArg.length), eventArg]);
  return Buffer.concat([Buffer.from([0, 0, 1, 0]), u16(1, roiv.length), roiv]);
}

/** Where each kind of traffic sits in the capture. */
export const ADDR = {
  tls: {
    srcMac: '02:00:00:00:01:01',
    dstMac: '02:00:00:00:01:02',
    src: '10.42.0.50',
    dst: '10.42.0.10',
    vlan: 42,
  },
  http: { srcMac: '02:00:00:00:02:01', dstMac: '02:00:00:00:02:02', src: '10.42.0.51', dst: '10.42.0.11' },
  dns: { srcMac: '02:00:00:00:03:01', dstMac: '02:00:00:00:03:02', src: '10.42.0.52', dst: '10.42.0.53' },
};

/** Builds the capture; returns its path. */
export async function buildAppCapture(dir: string): Promise<string> {
  const records: Buffer[] = [];
  let t = 1_700_000_000_000;
  const add = (frame: Buffer) => {
    t += 1;
    records.push(pcapRecord(t, frame));
  };
  let port = 50_000;
  const tcp = (base: Omit<FrameAddresses, 'srcPort' | 'dstPort'>, dstPort: number, conns: Chunk[][]) => {
    for (const chunks of conns) {
      const conv = new TcpConversation({ ...base, srcPort: port++, dstPort });
      for (const f of conv.open()) add(f.frame);
      for (const c of chunks) for (const f of conv.send(c.dir, c.data)) add(f.frame);
      for (const f of conv.close()) add(f.frame);
    }
  };
  tcp(ADDR.tls, 443, await tlsConversations(dir));
  tcp(ADDR.http, 80, await httpConversations());
  for (const c of await dnsExchanges()) {
    const a = ADDR.dns;
    const addr: FrameAddresses =
      c.dir === 0
        ? { ...a, srcPort: 53_000, dstPort: 53 }
        : { srcMac: a.dstMac, dstMac: a.srcMac, src: a.dst, dst: a.src, srcPort: 53, dstPort: 53_000 };
    add(udpFrame(addr, c.data));
  }
  for (const m of dhcpExchange()) add(udpFrame(m.addr, m.data));
  add(
    udpFrame(
      {
        srcMac: '02:00:00:00:05:01',
        dstMac: '01:00:5e:7f:ff:fa',
        src: '10.42.0.90',
        dst: '239.255.255.250',
        srcPort: 3702,
        dstPort: 3702,
      },
      Buffer.from(SDC_HELLO),
    ),
  );
  add(
    udpFrame(
      {
        srcMac: '00:09:fb:0a:0b:0c',
        dstMac: 'ff:ff:ff:ff:ff:ff',
        src: '10.42.0.31',
        dst: '10.42.0.255',
        srcPort: 24005,
        dstPort: 24005,
      },
      intellivueConnectIndication(),
    ),
  );
  const file = join(dir, 'app.pcap');
  writeFileSync(file, Buffer.concat([pcapFileHeader(), ...records]));
  return file;
}
