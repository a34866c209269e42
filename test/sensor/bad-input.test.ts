/**
 * Corrupt input never crashes the sensor and never grows its memory: truncation at every offset of
 * a real capture, flipped bytes, wrong magic, bogus lengths inside DICOM and HL7, seeded random
 * mutations, and a large synthetic capture with far more connections than the table holds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DicomSession,
  Hl7Stream,
  makePatientIdHasher,
  mllpFrame,
  pcapFileHeader,
  pcapRecord,
  readCapture,
  Sensor,
  TcpConversation,
} from '../../src/sensor/index.js';
import { KEY, PCAP_DIR, runSensor, skipReason } from './support.js';

const skip = skipReason();
if (skip) console.warn(`bad-input.test.ts ${skip}`);
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

async function countRecords(data: Buffer, chunk = 997) {
  let n = 0;
  let info: { skipped: Record<string, number>; stopped: string | null } | undefined;
  async function* chunks() {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  }
  for await (const _r of readCapture(chunks(), { onEnd: (i) => (info = i) })) n++;
  return { n, info: info! };
}

describe.skipIf(skip !== null)('bad input on real captures', () => {
  const echo = skip ? Buffer.alloc(0) : readFileSync(`${PCAP_DIR}dicom-echo.pcap`);
  const store = skip ? Buffer.alloc(0) : readFileSync(`${PCAP_DIR}dicom-association-store.pcap`);

  it('a capture cut at every offset reads the whole records before the cut and says why it stopped', async () => {
    const full = await countRecords(echo);
    expect(full.n).toBe(25);
    expect(full.info.skipped).toEqual({});
    // Record boundaries, to know how many whole records precede each cut.
    const ends: number[] = [];
    for (let p = 24; p < echo.length; ) {
      p += 16 + echo.readUInt32LE(p + 8);
      ends.push(p);
    }
    for (let cut = 0; cut < echo.length; cut++) {
      const { n, info } = await countRecords(echo.subarray(0, cut), 61);
      expect(n, `cut at ${cut}`).toBe(ends.filter((e) => e <= cut).length);
      if (cut === 0) expect(info.stopped).toBe('empty');
      else if (cut < 24) expect(info.stopped).toBe('truncated-header');
      else if (!ends.includes(cut) && cut !== 24) expect(info.stopped).toBe('truncated-record');
    }
  });

  it('the full sensor survives a cut at every offset of the C-STORE capture', async () => {
    for (let cut = 0; cut < store.length; cut += 7) {
      const { summary, events } = await runSensor(store.subarray(0, cut), 1500);
      expect(summary.packets).toBeLessThanOrEqual(39);
      // Whatever got through, the patient's name never does.
      expect(JSON.stringify(events)).not.toContain('CEREBRIX');
    }
  });

  it('wrong magic stops cleanly with a reason', async () => {
    const bad = Buffer.from(echo);
    bad.writeUInt32LE(0xdeadbeef, 0);
    const { n, info } = await countRecords(bad);
    expect(n).toBe(0);
    expect(info.stopped).toBe('bad-magic');
    expect(info.skipped).toEqual({ 'bad-magic': 1 });
    const { summary } = await runSensor(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(summary.stopped).toBe('bad-magic');
  });

  it('a bogus record length costs that record: the reader resynchronises on the next ones', async () => {
    const bad = Buffer.from(echo);
    // Record 5 (index 4): an impossible length.
    let p = 24;
    for (let i = 0; i < 4; i++) p += 16 + bad.readUInt32LE(p + 8);
    bad.writeUInt32LE(0x7fff0000, p + 8);
    const { n, info } = await countRecords(bad);
    expect(info.skipped['bogus-record-header']).toBe(1);
    expect(info.stopped).toBeNull();
    expect(n).toBe(24);
    // The association is in later records and is still found.
    const { events } = await runSensor(bad);
    expect(events.filter((e) => e.kind === 'net.dicom.association')).toHaveLength(1);
  });

  it('snaplen-cut packets are counted, not parsed', async () => {
    const recs: Buffer[] = [pcapFileHeader({ snaplen: 60 })];
    for (let p = 24, i = 0; p < echo.length; i++) {
      const len = echo.readUInt32LE(p + 8);
      recs.push(pcapRecord(i, echo.subarray(p + 16, p + 16 + len), { snaplen: 60 }));
      p += 16 + len;
    }
    const { summary, events } = await runSensor(Buffer.concat(recs));
    expect(summary.packets).toBe(25);
    expect(summary.skipped['snaplen-cut']).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'net.dicom.association')).toHaveLength(0);
  });

  it('2,000 seeded mutations of the real captures: no throw, bounded output', async () => {
    const next = rng(20_240_601);
    for (let i = 0; i < 2000; i++) {
      const base = i % 2 ? store : echo;
      const m = Buffer.from(base);
      const kind = next();
      const flips = 1 + Math.floor(next() * 8);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(next() * m.length);
        if (kind < 0.5) m[at] = Math.floor(next() * 256);
        else m[at]! ^= 1 << Math.floor(next() * 8);
      }
      const cut = kind > 0.9 ? Math.floor(next() * m.length) : m.length;
      const { summary } = await runSensor(m.subarray(0, cut), 1 + Math.floor(next() * 4000));
      expect(summary.packets).toBeLessThanOrEqual(60);
    }
  });
});

describe('bogus lengths inside DICOM and HL7', () => {
  it('DICOM: bad PDU type, huge PDU length, bogus PDV and element lengths are skipped with reasons', () => {
    const reasons: string[] = [];
    const msgs: unknown[] = [];
    const mk = () =>
      new DicomSession({
        hashPatientId: hash,
        onMessage: (m) => msgs.push(m),
        onSkip: (r) => reasons.push(r),
      });
    mk().data(0, Buffer.from([0x09, 0, 0, 0, 0, 4, 1, 2, 3, 4]));
    const huge = Buffer.from([0x01, 0, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0]);
    mk().data(0, huge);
    // A P-DATA PDU whose PDV claims more than the PDU holds.
    const pdv = Buffer.from([0x04, 0, 0, 0, 0, 10, 0, 0, 0xff, 0, 1, 3, 0, 0, 0, 0]);
    mk().data(0, pdv);
    // A command set whose element length runs past its end.
    const cmd = Buffer.alloc(8);
    cmd.writeUInt16LE(0, 0);
    cmd.writeUInt16LE(0x0100, 2);
    cmd.writeUInt32LE(1000, 4);
    const pd = Buffer.alloc(6 + 6 + cmd.length);
    pd[0] = 4;
    pd.writeUInt32BE(6 + cmd.length, 2);
    pd.writeUInt32BE(2 + cmd.length, 6);
    pd[10] = 1;
    pd[11] = 3;
    cmd.copy(pd, 12);
    const s = mk();
    s.data(0, pd);
    s.close();
    expect(reasons).toEqual([
      'dicom-bad-pdu-type',
      'dicom-bogus-pdu-length',
      'dicom-bogus-pdv-length',
      'dicom-bogus-element-length',
    ]);
    expect(msgs).toEqual([]);
  });

  it('HL7: a frame without its end, a broken frame and a message without MSH', () => {
    const got: string[] = [];
    const reasons: string[] = [];
    const s = new Hl7Stream({
      hashPatientId: hash,
      onMessage: (m) => got.push(m.controlId),
      onSkip: (r) => reasons.push(r),
    });
    s.data(Buffer.from('\x0bMSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||X\r'));
    s.data(Buffer.from('\x0bMSH|^~\\&|A|B|C|D|20240101||ADT^A01|2|P|2.5\r\x1c\r'));
    s.data(Buffer.from('\x0bNOT HL7\x1c\r\x0bMSH|^~\\&|A|B|C|D|x||ADT^A01|3|P|2.5'));
    s.close();
    expect(got).toEqual(['2']);
    expect(reasons).toEqual(['hl7-broken-mllp-frame', 'hl7-no-msh', 'hl7-truncated-frame']);
  });
});

describe('memory stays flat on a large synthetic capture', () => {
  it('20,000 connections through a table of 1,000 and a 2 MiB buffer budget', {
    timeout: 120_000,
  }, async () => {
    const CONNS = 20_000;
    const maxTotal = 2 * 1024 * 1024;
    const sensor = new Sensor({
      patientIdKey: KEY,
      maxConnections: 1000,
      maxTotalBytes: maxTotal,
      flows: false,
    });
    const hl7 = mllpFrame(
      `MSH|^~\\&|LAB|H|EHR|H|20240101||ORU^R01|1|P|2.5\rPID|1||123\r${'OBX|1|ST|x||y\r'.repeat(250)}`,
    );
    let maxBuffered = 0;
    let maxConns = 0;
    // One client-side conversation as a template; each connection patches its source address
    // and port (the sensor does not verify checksums), so building the capture stays cheap.
    const c = new TcpConversation({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
      src: '10.0.0.0',
      dst: '10.200.0.1',
      srcPort: 1024,
      dstPort: 2575,
    });
    // No FIN: the connections stay open and only eviction frees them.
    const frames = [...c.open(), ...c.send(0, hl7)].filter((f) => f.dir === 0);
    const records = frames.map((f) => pcapRecord(0, f.frame));
    const template = Buffer.concat(records);
    const starts: number[] = [];
    for (let p = 0, k = 0; k < records.length; k++) {
      starts.push(p);
      p += records[k]!.length;
    }
    async function* capture() {
      yield pcapFileHeader();
      for (let i = 0; i < CONNS; i++) {
        const b = Buffer.from(template);
        for (const s of starts) {
          b.writeUInt32LE(Math.floor(i / 1000), s);
          b.writeUInt32BE((10 << 24) | i, s + 16 + 26);
          b.writeUInt16BE(1024 + (i % 60_000), s + 16 + 34);
        }
        yield b;
        const st = sensor.state();
        maxBuffered = Math.max(maxBuffered, st.bufferedBytes);
        maxConns = Math.max(maxConns, st.tcpConnections);
      }
    }
    const before = process.memoryUsage().heapUsed;
    const summary = await sensor.read(capture());
    const grown = process.memoryUsage().heapUsed - before;
    expect(summary.connections).toBe(CONNS);
    expect(summary.hl7Messages).toBe(CONNS);
    expect(summary.evictions).toBeGreaterThan(CONNS - 1000 - 1);
    expect(maxConns).toBeLessThanOrEqual(1000);
    expect(maxBuffered).toBeLessThanOrEqual(maxTotal + 16 * 1024);
    expect(summary.fileBytes).toBeGreaterThan(70 * 1024 * 1024);
    expect(grown).toBeLessThan(200 * 1024 * 1024);
  });
});
