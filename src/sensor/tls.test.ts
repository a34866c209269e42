import { describe, expect, it } from 'vitest';
import { isGrease, parseClientHello, parseServerHello, TlsHandshakeReader } from './tls.js';
import { ja3, ja3String, ja3s, ja4, ja4Parts } from './tls-fingerprint.js';

const u16 = (...v: number[]) => {
  const b = Buffer.alloc(2 * v.length);
  for (let i = 0; i < v.length; i++) b.writeUInt16BE(v[i]!, 2 * i);
  return b;
};
const ext = (type: number, body: Buffer) => Buffer.concat([u16(type, body.length), body]);

/** A ClientHello record with the given lists; extension bodies are real for the ones read. */
function clientHello(o: {
  version?: number;
  ciphers: number[];
  extensions: number[];
  sni?: string;
  alpn?: Buffer[];
  sigs?: number[];
  versions?: number[];
  groups?: number[];
  points?: number[];
}): Buffer {
  const exts = o.extensions.map((t) => {
    if (t === 0x0000 && o.sni) {
      const n = Buffer.from(o.sni);
      return ext(t, Buffer.concat([u16(n.length + 3), Buffer.from([0]), u16(n.length), n]));
    }
    if (t === 0x0010 && o.alpn) {
      const list = Buffer.concat(o.alpn.map((a) => Buffer.concat([Buffer.from([a.length]), a])));
      return ext(t, Buffer.concat([u16(list.length), list]));
    }
    if (t === 0x000d && o.sigs) return ext(t, Buffer.concat([u16(o.sigs.length * 2), u16(...o.sigs)]));
    if (t === 0x002b && o.versions)
      return ext(t, Buffer.concat([Buffer.from([o.versions.length * 2]), u16(...o.versions)]));
    if (t === 0x000a && o.groups) return ext(t, Buffer.concat([u16(o.groups.length * 2), u16(...o.groups)]));
    if (t === 0x000b && o.points) return ext(t, Buffer.from([o.points.length, ...o.points]));
    return ext(t, Buffer.alloc(0));
  });
  const extBody = Buffer.concat(exts);
  const body = Buffer.concat([
    u16(o.version ?? 0x0303),
    Buffer.alloc(32, 7),
    Buffer.from([32]),
    Buffer.alloc(32, 9),
    u16(o.ciphers.length * 2),
    u16(...o.ciphers),
    Buffer.from([1, 0]),
    u16(extBody.length),
    extBody,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1]), u16(hs.length), hs]);
}

const hex = (s: string) => s.split(',').map((x) => Number.parseInt(x, 16));
/** FoxIO's ja4 test data (python/test/testdata/tls-sni.pcapng.json): JA4_ro lists and JA4. */
const FOXIO = {
  ciphers: '1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035',
  sigs: '0403,0804,0401,0503,0805,0501,0806,0601',
  vectors: [
    {
      sni: 'clientservices.googleapis.com',
      alpn: 'h2',
      exts: 'ff01,0033,002d,0005,4469,000d,0010,0023,001b,002b,0000,0012,000a,0017,000b,0015',
      ja4: 't13d1516h2_8daaf6152771_e5627efa2ab1',
    },
    {
      sni: 'lp-push-server-452.lastpass.com',
      alpn: 'http/1.1',
      exts: '000d,0033,0000,ff01,002b,0023,002d,0005,0012,000b,0017,4469,0010,001b,000a,0015',
      ja4: 't13d1516h1_8daaf6152771_e5627efa2ab1',
    },
    {
      sni: 'mtalk.google.com',
      alpn: undefined,
      exts: '0033,002b,001b,0000,0012,002d,000d,000a,0005,0023,0017,ff01,000b,0015',
      ja4: 't13d151400_8daaf6152771_de4a06bb82e3',
    },
  ],
};

function parse(record: Buffer) {
  const ch = parseClientHello(record.subarray(9));
  if (typeof ch === 'string') throw new Error(ch);
  return ch;
}

describe('TLS fingerprints', () => {
  it('JA4 matches FoxIO’s test data, with GREASE values added by the client ignored', () => {
    for (const v of FOXIO.vectors) {
      const ch = parse(
        clientHello({
          // Chrome-style GREASE first in each list: JA4 must not count or hash them.
          ciphers: [0x2a2a, ...hex(FOXIO.ciphers)],
          extensions: [0x3a3a, ...hex(v.exts), 0xfafa],
          sni: v.sni,
          alpn: v.alpn ? [Buffer.from(v.alpn), Buffer.from('http/1.1')] : undefined,
          sigs: hex(FOXIO.sigs),
          versions: [0x4a4a, 0x0304, 0x0303],
        }),
      );
      expect(ch.serverName).toBe(v.sni);
      expect(ja4(ch)).toBe(v.ja4);
    }
  });

  it('JA4 raw parts follow the spec’s worked example', () => {
    const ch = parse(
      clientHello({
        ciphers: hex(FOXIO.ciphers),
        extensions: hex('001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015'),
        sni: 'example.com',
        alpn: [Buffer.from('h2')],
        sigs: hex(FOXIO.sigs),
        versions: [0x0304],
      }),
    );
    expect(ja4Parts(ch)).toEqual({
      a: 't13d1516h2',
      ciphers: '002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9',
      extensions:
        '0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601',
    });
    expect(ja4(ch)).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1');
  });

  it('JA4 ALPN characters: hex when the first value is not alphanumeric; 00 without ALPN', () => {
    const a = (alpn?: number[]) =>
      ja4Parts(
        parse(
          clientHello({
            ciphers: [0x1301],
            extensions: alpn ? [0x0010] : [],
            alpn: alpn ? [Buffer.from(alpn)] : undefined,
          }),
        ),
      ).a.slice(-2);
    expect(a([0xab])).toBe('ab');
    expect(a([0xab, 0xcd])).toBe('ad');
    expect(a([0x30, 0xab])).toBe('3b');
    expect(a([0x30, 0x31, 0xab, 0xcd])).toBe('3d');
    expect(a([0x30, 0xab, 0xcd, 0x31])).toBe('01');
    expect(a([0x68])).toBe('hh');
    expect(a()).toBe('00');
    // No SNI: an address; the legacy version when supported_versions is absent.
    expect(ja4Parts(parse(clientHello({ ciphers: [0x1301], extensions: [] }))).a).toBe('t12i010000');
    expect(ja4(parse(clientHello({ ciphers: [], extensions: [] })))).toBe(
      't12i000000_000000000000_000000000000',
    );
  });

  it('JA3 is the MD5 of the decimal field string without GREASE', () => {
    // A Chrome ClientHello's JA3 string and hash as a public fingerprinting service reports them.
    const ch = parse(
      clientHello({
        ciphers: [
          0x0a0a, 4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156, 157, 47, 53,
        ],
        extensions: [0x1a1a, 45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27, 0x2a2a],
        groups: [0x3a3a, 4588, 29, 23, 24],
        points: [0],
        sni: 'example.com',
      }),
    );
    expect(ja3String(ch)).toBe(
      '771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0',
    );
    expect(ja3(ch)).toBe('98487aa16281980e7d1120d399efb6a4');
  });

  it('GREASE values are exactly 0x?a?a with equal bytes', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i).filter(isGrease);
    expect(all).toHaveLength(16);
    expect(all[0]).toBe(0x0a0a);
    expect(all[15]).toBe(0xfafa);
  });

  it('ServerHello: cipher, selected version, JA3S', () => {
    const body = Buffer.concat([
      u16(0x0303),
      Buffer.alloc(32, 1),
      Buffer.from([0]),
      u16(0x1301),
      Buffer.from([0]),
      u16(14),
      ext(0x002b, u16(0x0304)),
      ext(0x0033, u16(0x001d, 0)),
    ]);
    const sh = parseServerHello(body);
    expect(sh).toMatchObject({
      version: 0x0303,
      cipher: 0x1301,
      selectedVersion: 0x0304,
      extensions: [43, 51],
    });
    if (typeof sh === 'string') throw new Error(sh);
    expect(ja3s(sh)).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('TLS handshake reader', () => {
  it('reassembles a ClientHello split across records and TCP segments', () => {
    const rec = clientHello({ ciphers: [0x1301], extensions: [0], sni: 'split.example' });
    const hs = rec.subarray(5);
    // Two records carrying halves of the handshake message.
    const half = Math.floor(hs.length / 2);
    const r = (b: Buffer) => Buffer.concat([Buffer.from([22, 3, 3]), u16(b.length), b]);
    const stream = Buffer.concat([r(hs.subarray(0, half)), r(hs.subarray(half))]);
    const got: string[] = [];
    const reader = new TlsHandshakeReader((type, body) => {
      const ch = parseClientHello(body);
      got.push(type === 1 && typeof ch !== 'string' ? (ch.serverName ?? '') : 'bad');
      return true;
    });
    for (let i = 0; i < stream.length; i += 7) reader.push(stream.subarray(i, i + 7));
    expect(got).toEqual(['split.example']);
    expect(reader.done).toBe(true);
    expect(reader.failed).toBeNull();
  });

  it('stops at the first byte that is not a TLS record', () => {
    const reader = new TlsHandshakeReader(() => true);
    reader.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(reader.failed).toBe('tls-bad-record');
  });
});
