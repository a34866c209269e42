import { describe, expect, it } from 'vitest';
import {
  type DicomCommand,
  type DicomMessage,
  DicomSession,
  looksLikeDicom,
  parseAssociate,
} from './dicom.js';
import { parseDataset } from './dicom-dataset.js';
import { makePatientIdHasher } from './keyed-hash.js';

const hash = makePatientIdHasher(Buffer.alloc(32, 1));

function item(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}
const str = (s: string) => Buffer.from(s, 'latin1');
const pad16 = (s: string) => Buffer.from(s.padEnd(16, ' '), 'latin1');

function pdu(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(body.length, 2);
  return Buffer.concat([h, body]);
}

function associate(type: 1 | 2, ts: string): Buffer {
  const fixed = Buffer.concat([
    Buffer.from([0, 1, 0, 0]),
    pad16('STORESCP'),
    pad16('MODALITY1'),
    Buffer.alloc(32),
  ]);
  const pc =
    type === 1
      ? item(
          0x20,
          Buffer.concat([
            Buffer.from([1, 0, 0, 0]),
            item(0x30, str('1.2.840.10008.5.1.4.1.1.2')),
            item(0x40, str(ts)),
          ]),
        )
      : item(0x21, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x40, str(ts))]));
  const user = item(
    0x50,
    Buffer.concat([
      item(0x51, Buffer.from([0, 0, 0x40, 0])),
      item(0x52, str('1.2.3.4.5\0')),
      item(0x55, str('TEST_IMPL_1')),
    ]),
  );
  return pdu(type, Buffer.concat([fixed, item(0x10, str('1.2.840.10008.3.1.1.1')), pc, user]));
}

function el(group: number, elem: number, vr: string | null, value: Buffer): Buffer {
  if (vr === null) {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(group, 0);
    h.writeUInt16LE(elem, 2);
    h.writeUInt32LE(value.length, 4);
    return Buffer.concat([h, value]);
  }
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(elem, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(value.length, 8);
  else h.writeUInt16LE(value.length, 6);
  return Buffer.concat([h, value]);
}
const us = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

function command(field: number, withDataset: boolean): Buffer {
  return Buffer.concat([
    el(0, 0x0002, null, str('1.2.840.10008.5.1.4.1.1.2\0')),
    el(0, 0x0100, null, us(field)),
    el(0, 0x0110, null, us(7)),
    el(0, 0x0800, null, us(withDataset ? 0 : 0x0101)),
  ]);
}

function pdv(ctx: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h.writeUInt32BE(data.length + 2, 0);
  h[4] = ctx;
  h[5] = flags;
  return Buffer.concat([h, data]);
}

function dataset(explicit: boolean): Buffer {
  const e = (g: number, n: number, vr: string, v: string) => el(g, n, explicit ? vr : null, str(v));
  // An undefined-length sequence whose item holds a Manufacturer that must not be taken.
  const seqStart = Buffer.alloc(explicit ? 12 : 8);
  seqStart.writeUInt16LE(0x0008, 0);
  seqStart.writeUInt16LE(0x1140, 2);
  if (explicit) {
    seqStart.write('SQ', 4, 'latin1');
    seqStart.writeUInt32LE(0xffffffff, 8);
  } else seqStart.writeUInt32LE(0xffffffff, 4);
  const itemStart = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
  const itemEnd = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]);
  const seqEnd = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([
    e(0x0008, 0x0060, 'CS', 'CT'),
    e(0x0008, 0x0070, 'LO', 'ACME Medical '),
    seqStart,
    itemStart,
    e(0x0008, 0x0070, 'LO', 'NESTED'),
    itemEnd,
    seqEnd,
    e(0x0008, 0x1010, 'SH', 'CT-ROOM-1 '),
    e(0x0008, 0x1090, 'LO', 'Scanner 9000'),
    e(0x0010, 0x0010, 'PN', 'DOE^JANE'),
    e(0x0010, 0x0020, 'LO', 'MRN12345'),
    e(0x0010, 0x0030, 'DA', '19700101'),
    e(0x0018, 0x1000, 'LO', 'SN-42 '),
    e(0x0018, 0x1020, 'LO', '1.0\\2.1'),
    el(0x7fe0, 0x0010, explicit ? 'OW' : null, Buffer.alloc(64)),
  ]);
}

describe('DICOM Upper Layer', () => {
  it('parses A-ASSOCIATE-RQ: AE titles, context, presentation contexts, user info', () => {
    const a = parseAssociate(associate(1, '1.2.840.10008.1.2.1'));
    expect(a).toEqual({
      type: 'associate-rq',
      calledAe: 'STORESCP',
      callingAe: 'MODALITY1',
      applicationContext: '1.2.840.10008.3.1.1.1',
      presentationContexts: [
        { id: 1, abstractSyntax: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxes: ['1.2.840.10008.1.2.1'] },
      ],
      maxPduLength: 16384,
      implementationClassUid: '1.2.3.4.5',
      implementationVersionName: 'TEST_IMPL_1',
    });
    expect(looksLikeDicom(associate(1, '1.2'))).toBe(true);
    expect(looksLikeDicom(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false);
  });

  for (const [explicit, ts] of [
    [true, '1.2.840.10008.1.2.1'],
    [false, '1.2.840.10008.1.2'],
  ] as const) {
    it(`C-STORE with a ${explicit ? 'explicit' : 'implicit'} VR dataset split across PDUs keeps only equipment`, () => {
      const msgs: [DicomMessage, number][] = [];
      const s = new DicomSession({ hashPatientId: hash, onMessage: (m, d) => msgs.push([m, d]) });
      s.data(0, associate(1, ts));
      s.data(1, associate(2, ts));
      const ds = dataset(explicit);
      const wire = Buffer.concat([
        pdu(4, pdv(1, 0x03, command(0x0001, true))),
        pdu(4, pdv(1, 0x00, ds.subarray(0, 50))),
        pdu(4, pdv(1, 0x02, ds.subarray(50))),
      ]);
      // Byte by byte: PDUs split anywhere still parse.
      for (let i = 0; i < wire.length; i++) s.data(0, wire.subarray(i, i + 1));
      s.data(1, pdu(4, pdv(1, 0x03, command(0x8001, false))));
      s.close();
      const cmds = msgs.filter(([m]) => m.type === 'command').map(([m]) => m as DicomCommand);
      expect(cmds.map((c) => c.command)).toEqual(['C-STORE-RQ', 'C-STORE-RSP']);
      expect(cmds[0]!.dataset).toEqual({
        equipment: {
          modality: 'CT',
          manufacturer: 'ACME Medical',
          stationName: 'CT-ROOM-1',
          modelName: 'Scanner 9000',
          deviceSerialNumber: 'SN-42',
          softwareVersions: '1.0\\2.1',
        },
        patientRef: hash('MRN12345'),
        carriesPatientData: true,
      });
      const json = JSON.stringify(msgs);
      expect(json).not.toContain('DOE');
      expect(json).not.toContain('MRN12345');
      expect(json).not.toContain('19700101');
    });
  }

  it('A-ASSOCIATE-RJ, release and abort', () => {
    const msgs: DicomMessage[] = [];
    const s = new DicomSession({ hashPatientId: hash, onMessage: (m) => msgs.push(m) });
    s.data(1, pdu(3, Buffer.from([0, 1, 2, 7])));
    s.data(0, pdu(5, Buffer.alloc(4)));
    s.data(1, pdu(6, Buffer.alloc(4)));
    s.data(0, pdu(7, Buffer.alloc(4)));
    expect(msgs).toEqual([
      { type: 'associate-rj', result: 1, source: 2, reason: 7 },
      { type: 'release-rq' },
      { type: 'release-rp' },
      { type: 'abort' },
    ]);
  });

  it('a dataset cut by the capture prefix yields what came before the cut', () => {
    const ds = dataset(true);
    const info = parseDataset(ds.subarray(0, 40), true, hash);
    expect(info.equipment).toEqual({ modality: 'CT', manufacturer: 'ACME Medical' });
    expect(info.error).toBeUndefined();
  });
});
