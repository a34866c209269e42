import { describe, expect, it } from 'vitest';
import { CaptureReader, readCapture } from './capture-reader.js';
import type { CaptureRecord } from './capture-types.js';
import { pcapFileHeader, pcapRecord } from './capture-writer.js';

const frames = [Buffer.from('first frame!'), Buffer.alloc(1500, 7), Buffer.from('x'), Buffer.alloc(60, 1)];

function pcap(opts: { nano?: boolean; bigEndian?: boolean } = {}): Buffer {
  return Buffer.concat([
    pcapFileHeader({ ...opts, linkType: 1 }),
    ...frames.map((f, i) => pcapRecord(1_700_000_000_000 + i * 1.5, f, opts)),
  ]);
}

function readAll(data: Buffer, chunk: number): { recs: CaptureRecord[]; reader: CaptureReader } {
  const reader = new CaptureReader();
  const recs: CaptureRecord[] = [];
  for (let i = 0; i < data.length; i += chunk) reader.push(data.subarray(i, i + chunk), (r) => recs.push(r));
  reader.end();
  return { recs, reader };
}

/** A pcapng file: SHB, an unknown block, IDB (with if_tsresol), EPBs and one SPB. */
function pcapng(le: boolean, tsresol?: number): Buffer {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length + ((4 - (body.length % 4)) % 4);
    const b = Buffer.alloc(len);
    const w = (v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
    w(type, 0);
    w(len, 4);
    body.copy(b, 8);
    w(len, len - 4);
    blocks.push(b);
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    le ? b.writeUInt32LE(v) : b.writeUInt32BE(v);
    return b;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    le ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
    return b;
  };
  block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)]));
  block(0x0bad, Buffer.from('unknown block body'));
  const opts =
    tsresol === undefined
      ? Buffer.alloc(0)
      : Buffer.concat([u16(9), u16(1), Buffer.from([tsresol, 0, 0, 0]), u16(0), u16(0)]);
  block(1, Buffer.concat([u16(1), u16(0), u32(65535), opts]));
  const unitsPerMs =
    tsresol === undefined ? 1000 : tsresol & 0x80 ? 2 ** (tsresol & 0x7f) / 1000 : 10 ** tsresol / 1000;
  frames.slice(0, 3).forEach((f, i) => {
    const ts = BigInt(Math.round((1_700_000_000_000 + i) * unitsPerMs));
    const pad = Buffer.alloc((4 - (f.length % 4)) % 4);
    block(
      6,
      Buffer.concat([
        u32(0),
        u32(Number(ts >> 32n)),
        u32(Number(ts & 0xffffffffn)),
        u32(f.length),
        u32(f.length),
        f,
        pad,
      ]),
    );
  });
  const last = frames[3]!;
  block(3, Buffer.concat([u32(last.length), last]));
  return Buffer.concat(blocks);
}

describe('pcap reader', () => {
  for (const opts of [{}, { nano: true }, { bigEndian: true }, { nano: true, bigEndian: true }]) {
    it(`reads ${JSON.stringify(opts)} at every chunk size`, () => {
      const data = pcap(opts);
      for (const chunk of [1, 2, 3, 7, 16, 17, 100, 1515, 4096, data.length]) {
        const { recs, reader } = readAll(data, chunk);
        expect(recs.map((r) => r.data.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
        expect(recs.map((r) => r.linkType)).toEqual([1, 1, 1, 1]);
        expect(recs[1]!.ts).toBeCloseTo(1_700_000_000_001.5, 3);
        expect(reader.stopped).toBeNull();
        expect(reader.skipped).toEqual({});
      }
    });
  }

  it('passes snaplen-cut records on with their original length', () => {
    const data = Buffer.concat([
      pcapFileHeader({ snaplen: 100 }),
      pcapRecord(0, Buffer.alloc(1500), { snaplen: 100 }),
    ]);
    const { recs } = readAll(data, 64);
    expect(recs[0]!.data.length).toBe(100);
    expect(recs[0]!.origLen).toBe(1500);
  });

  it('readCapture is an async iterator with an end report', async () => {
    let info: { records: number; stopped: string | null } | undefined;
    const got: number[] = [];
    async function* chunks() {
      yield pcap().subarray(0, 30);
      yield pcap().subarray(30);
    }
    for await (const r of readCapture(chunks(), { onEnd: (i) => (info = i) })) got.push(r.data.length);
    expect(got).toEqual(frames.map((f) => f.length));
    expect(info).toMatchObject({ records: 4, stopped: null });
  });
});

describe('pcapng reader', () => {
  for (const le of [true, false]) {
    for (const tsresol of [undefined, 9, 0x80 | 20]) {
      it(`reads ${le ? 'little' : 'big'}-endian sections with tsresol ${tsresol ?? 'default'}`, () => {
        const data = pcapng(le, tsresol);
        for (const chunk of [1, 5, 12, 64, data.length]) {
          const { recs, reader } = readAll(data, chunk);
          expect(recs.map((r) => r.data.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
          expect(recs[2]!.ts).toBeCloseTo(1_700_000_000_002, -1);
          expect(reader.skipped).toEqual({});
          expect(reader.stopped).toBeNull();
        }
      });
    }
  }

  it('a block length that would run past the file stops with a reason', () => {
    const data = pcapng(true);
    const { recs, reader } = readAll(data.subarray(0, data.length - 10), 100);
    expect(recs).toHaveLength(3);
    expect(reader.stopped).toBe('truncated-block');
  });

  it('a bogus block length stops cleanly', () => {
    const data = Buffer.from(pcapng(true));
    data.writeUInt32LE(0x7ffffff1, 28 + 4); // the unknown block after the 28-byte SHB
    const { recs, reader } = readAll(data, 100);
    expect(recs).toHaveLength(0);
    expect(reader.stopped).toBe('bogus-block-length');
    expect(reader.skipped).toEqual({ 'bogus-block-length': 1 });
  });
});
