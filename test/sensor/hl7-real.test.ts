/**
 * The 70 real HL7 v2 sample messages parse, never leak names, and survive a trip through a
 * capture this test writes: MLLP over TCP with reordered and retransmitted segments, read back
 * through the full reader, decoders, reassembly and HL7 parser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ConversationFrame,
  makePatientIdHasher,
  mllpFrame,
  parseHl7,
  pcapFileHeader,
  pcapRecord,
  TcpConversation,
} from '../../src/sensor/index.js';
import { HL7_DIR, KEY, runSensor, skipReason } from './support.js';

const skip = skipReason();
if (skip) console.warn(`hl7-real.test.ts ${skip}`);
const hash = makePatientIdHasher(KEY);

function load(): { file: string; text: string }[] {
  return readdirSync(HL7_DIR)
    .filter((f) => f.endsWith('.hl7'))
    .sort()
    .map((file) => ({ file, text: readFileSync(`${HL7_DIR}${file}`, 'utf8') }));
}

/** Names in PID-5 (patient) and PID-6 (mother's maiden name), naively split on the usual delimiters. */
function namesIn(text: string): string[] {
  const out: string[] = [];
  const msh = text.split(/\r\n|\r|\n/)[0] ?? '';
  for (const seg of text.split(/\r\n|\r|\n/)) {
    if (!seg.startsWith('PID|')) continue;
    const f = seg.split('|');
    for (const field of [f[5], f[6]]) {
      for (const part of (field ?? '').split(/[~^&]/)) {
        // Only distinctive tokens: long enough, and not also part of the header we do keep.
        if (part.length >= 4 && !msh.includes(part)) out.push(part);
      }
    }
  }
  return out;
}

/** The MSH fields as a naive split reads them, to compare with the parser. */
function mshOf(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)[0]!;
  return line.split('|');
}

describe.skipIf(skip !== null)('HL7 v2 real messages', () => {
  it('all 70 messages parse, with MSH fields and no names', () => {
    const files = load();
    expect(files).toHaveLength(70);
    let withPid = 0;
    let withObx18 = 0;
    for (const { file, text } of files) {
      const m = parseHl7(text, hash);
      if (typeof m === 'string') throw new Error(`${file}: ${m}`);
      const msh = mshOf(text);
      expect(m.controlId, file).toBe(msh[9]);
      expect(m.messageType.code, file).toBe(msh[8]!.split('^')[0]);
      expect(m.version, file).toBe(msh[11]!.split('^')[0]);
      expect(m.sendingApplication, file).toBe(msh[2]);
      expect(m.receivingFacility, file).toBe(msh[5]);
      const hasPid = /(^|[\r\n])PID\|/.test(text);
      expect(m.carriesPatientData, file).toBe(hasPid);
      if (hasPid) {
        withPid++;
        expect(m.patientRefs.length, file).toBeGreaterThan(0);
        for (const r of m.patientRefs) expect(r).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      }
      if (m.equipment.length) withObx18++;
      const json = JSON.stringify(m);
      for (const name of namesIn(text)) expect(json, `${file} leaks ${name}`).not.toContain(name);
    }
    expect(withPid).toBeGreaterThan(50);
    expect(withObx18).toBeGreaterThan(0);
  });

  it('MLLP over TCP in a written capture, out of order and retransmitted, reads back every message', async () => {
    const files = load();
    const frames: ConversationFrame[] = [];
    // Two connections, messages alternated between them; a small MSS so messages span segments.
    const convs = [0, 1].map(
      (i) =>
        new TcpConversation(
          {
            srcMac: '02:00:00:00:00:0a',
            dstMac: '02:00:00:00:00:0b',
            src: `10.1.0.${10 + i}`,
            dst: '10.2.0.5',
            srcPort: 40_000 + i,
            dstPort: 2575,
            ...(i === 1 ? { vlan: 42 } : {}),
          },
          [0xfffff000 + i, 77], // near the 32-bit wrap on purpose
        ),
    );
    for (const c of convs) frames.push(...c.open());
    const ackFor = (text: string) => {
      const msh = mshOf(text);
      return `MSH|^~\\&|ENGINE|HOSP|${msh[2]}|${msh[3]}|20240101||ACK^A01|ACK${msh[9]}|P|2.5\rMSA|AA|${msh[9]}\r`;
    };
    files.forEach(({ text }, i) => {
      const c = convs[i % 2]!;
      const data = c.send(0, mllpFrame(text.replace(/^\uFEFF/, '').replace(/\r?\n/g, '\r')), 536);
      // Reorder: swap neighbouring segments; retransmit one segment of every third message.
      for (let j = 0; j + 1 < data.length; j += 2) [data[j], data[j + 1]] = [data[j + 1]!, data[j]!];
      if (i % 3 === 0 && data.length > 1) data.push(data[0]!);
      frames.push(...data, ...c.send(1, mllpFrame(ackFor(text))));
    });
    for (const c of convs) frames.push(...c.close());
    const capture = Buffer.concat([
      pcapFileHeader(),
      ...frames.map((f, i) => pcapRecord(1_700_000_000_000 + i, f.frame)),
    ]);

    const { events, summary } = await runSensor(capture, 3000, { maxBytesPerDirection: 1 << 20 });
    const msgs = events.filter((e) => e.kind === 'net.hl7.message');
    const fromClient = msgs.filter((e) => e.net?.dstPort === 2575).map((e) => e.data?.controlId);
    expect(fromClient.sort()).toEqual(files.map(({ text }) => mshOf(text)[9]).sort());
    expect(msgs.filter((e) => e.net?.srcPort === 2575)).toHaveLength(70); // the ACKs
    expect(summary.hl7Messages).toBe(140);
    expect(summary.retransmissions).toBeGreaterThan(0);
    expect(summary.skipped).toEqual({});
    const json = JSON.stringify(events);
    for (const { text } of files) for (const name of namesIn(text)) expect(json).not.toContain(name);
  });

  it('with the default 16 KiB prefix, the first messages of each connection still come out', async () => {
    const files = load().slice(0, 6);
    const c = new TcpConversation({
      srcMac: '02:00:00:00:00:0a',
      dstMac: '02:00:00:00:00:0b',
      src: '10.1.0.10',
      dst: '10.2.0.5',
      srcPort: 40_000,
      dstPort: 2575,
    });
    const frames = [...c.open()];
    for (const { text } of files) frames.push(...c.send(0, mllpFrame(text)));
    frames.push(...c.close());
    const capture = Buffer.concat([pcapFileHeader(), ...frames.map((f, i) => pcapRecord(i, f.frame))]);
    const { events } = await runSensor(capture);
    const got = events.filter((e) => e.kind === 'net.hl7.message').map((e) => e.data?.controlId);
    let bytes = 0;
    const fits = files.filter(({ text }) => {
      bytes += mllpFrame(text).length;
      return bytes <= 16 * 1024;
    });
    expect(got).toEqual(fits.map(({ text }) => mshOf(text)[9]));
  });
});
