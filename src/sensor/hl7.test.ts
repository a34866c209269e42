import { describe, expect, it } from 'vitest';
import { type Hl7Message, Hl7Stream, parseHl7 } from './hl7.js';
import { makePatientIdHasher } from './keyed-hash.js';

const hash = makePatientIdHasher(Buffer.alloc(32, 2));
const MSG = [
  'MSH|^~\\&|MONITOR\\T\\GW|ICU^1.2.3^ISO|EHR|HOSP|20240101120000||ORU^R01^ORU_R01|CTRL-1|P|2.5.1^^',
  'PID|1||MRN-1^^^HOSP^MR~SSN-9^^^USA^SS||DOE^JANE||19700101|F',
  'OBR|1',
  'OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F|||20240101||||PUMP-0042^ACME^1.2.3.4^ISO~MON-7',
].join('\r');

describe('parseHl7', () => {
  it('extracts the header, OBX-18 and PID-3 as hashes only', () => {
    const m = parseHl7(MSG, hash) as Hl7Message;
    expect(m).toEqual({
      sendingApplication: 'MONITOR&GW',
      sendingFacility: 'ICU^1.2.3^ISO',
      receivingApplication: 'EHR',
      receivingFacility: 'HOSP',
      messageType: { code: 'ORU', trigger: 'R01', structure: 'ORU_R01' },
      controlId: 'CTRL-1',
      version: '2.5.1',
      equipment: ['PUMP-0042', 'MON-7'],
      patientRefs: [hash('MRN-1'), hash('SSN-9')],
      carriesPatientData: true,
      segmentCount: 4,
    });
    const json = JSON.stringify(m);
    for (const phi of ['DOE', 'JANE', '19700101', 'MRN-1', 'SSN-9']) expect(json).not.toContain(phi);
  });

  it('accepts LF and CRLF segment ends, a BOM and other delimiters', () => {
    const alt = MSG.replace(/\|/g, '#').replace('MSH#^~\\&#', 'MSH#^~\\&#');
    for (const text of [MSG.replace(/\r/g, '\n'), MSG.replace(/\r/g, '\r\n'), `\uFEFF${MSG}`, alt]) {
      const m = parseHl7(text, hash) as Hl7Message;
      expect(m.controlId).toBe('CTRL-1');
      expect(m.equipment).toEqual(['PUMP-0042', 'MON-7']);
    }
  });

  it('rejects what is not HL7', () => {
    expect(parseHl7('PID|1', hash)).toBe('hl7-no-msh');
    expect(parseHl7('MSHA^~\\&', hash)).toBe('hl7-bad-delimiters');
  });
});

describe('Hl7Stream', () => {
  it('splits MLLP frames fed in arbitrary pieces', () => {
    const got: string[] = [];
    const s = new Hl7Stream({ hashPatientId: hash, onMessage: (m) => got.push(m.controlId) });
    const wire = Buffer.from(`\x0b${MSG}\x1c\r\x0b${MSG.replace('CTRL-1', 'CTRL-2')}\x1c\r`);
    for (let i = 0; i < wire.length; i += 5) s.data(wire.subarray(i, i + 5));
    s.close();
    expect(got).toEqual(['CTRL-1', 'CTRL-2']);
  });

  it('splits bare messages at MSH, the last one at the end of the stream', () => {
    const got: string[] = [];
    const s = new Hl7Stream({ hashPatientId: hash, onMessage: (m) => got.push(m.controlId) });
    s.data(Buffer.from(`${MSG}\r${MSG.replace('CTRL-1', 'CTRL-2')}\n`));
    expect(got).toEqual(['CTRL-1']);
    s.close();
    expect(got).toEqual(['CTRL-1', 'CTRL-2']);
  });
});
