/**
 * The DICOM identity the sensor extracts from real captures agrees with tshark's DICOM dissector
 * on the same files, and patient data never leaves the sensor except as a keyed hash.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePatientIdHasher } from '../../src/sensor/index.js';
import { KEY, PCAP_DIR, runSensor, skipReason } from './support.js';

const skip = skipReason(true);
if (skip) console.warn(`dicom-tshark.test.ts ${skip}`);

interface Identity {
  pduType: number;
  calledAe: string;
  callingAe: string;
  implementationClassUid: string;
  implementationVersionName: string;
}

function tsharkIdentities(file: string): Identity[] {
  const out = execFileSync(
    'tshark',
    [
      '-r',
      file,
      '-Y',
      'dicom.assoc.ae.called',
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-e',
      'dicom.pdu.type',
      '-e',
      'dicom.assoc.ae.called',
      '-e',
      'dicom.assoc.ae.calling',
      '-e',
      'dicom.userinfo.uid',
      '-e',
      'dicom.userinfo.version',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [type, called, calling, uid, version] = l.split('\t');
      return {
        pduType: Number(type!.split(',')[0]),
        calledAe: called!.trim(),
        callingAe: calling!.trim(),
        implementationClassUid: uid!.trim(),
        implementationVersionName: version!.trim(),
      };
    });
}

describe.skipIf(skip !== null)('DICOM identity against tshark', () => {
  for (const name of ['dicom-echo.pcap', 'dicom-association-store.pcap']) {
    it(`${name}: AE titles and implementation identity match tshark`, async () => {
      const file = `${PCAP_DIR}${name}`;
      const expected = tsharkIdentities(file);
      expect(expected.length).toBeGreaterThanOrEqual(2); // an RQ and an AC
      const { events, summary } = await runSensor(readFileSync(file));
      const assocs = events.filter((e) => e.kind === 'net.dicom.association');
      expect(assocs).toHaveLength(1);
      expect(summary.dicomAssociations).toBe(1);
      const d = assocs[0]!.data as {
        calledAe: string;
        callingAe: string;
        client: { implementationClassUid: string; implementationVersionName: string };
        server: { implementationClassUid: string; implementationVersionName: string };
      };
      const rq = expected.find((x) => x.pduType === 1)!;
      const ac = expected.find((x) => x.pduType === 2)!;
      const ours: Identity[] = [
        { pduType: 1, calledAe: d.calledAe, callingAe: d.callingAe, ...d.client },
        { pduType: 2, calledAe: d.calledAe, callingAe: d.callingAe, ...d.server },
      ].map((x) => ({
        pduType: x.pduType,
        calledAe: x.calledAe,
        callingAe: x.callingAe,
        implementationClassUid: x.implementationClassUid,
        implementationVersionName: x.implementationVersionName,
      }));
      expect(ours).toEqual([rq, ac]);
    });
  }

  it('dicom-echo.pcap: a C-ECHO request and its response', async () => {
    const { events } = await runSensor(readFileSync(`${PCAP_DIR}dicom-echo.pcap`));
    const cmds = events.filter((e) => e.kind === 'net.dicom.command').map((e) => e.data?.command);
    expect(cmds).toEqual(['C-ECHO-RQ', 'C-ECHO-RSP']);
  });

  it('dicom-association-store.pcap: C-STORE with equipment tags, patient data only as a hash', async () => {
    const file = `${PCAP_DIR}dicom-association-store.pcap`;
    // What tshark sees in the dataset: the patient's name and ID are really on the wire.
    const verbose = execFileSync('tshark', ['-r', file, '-Y', 'dicom', '-O', 'dicom'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const name = /\(0010,0010\)\s+\d+\s+Patient's Name\s+\[PN\]\s+(\S+)/.exec(verbose)?.[1];
    const pid = /\(0010,0020\)\s+\d+\s+Patient ID\s+\[LO\]\s+(\S+)/.exec(verbose)?.[1];
    const model = /\(0008,1090\)\s+\d+\s+Manufacturer's Model Name\s+\[LO\]\s+(\S+)/.exec(verbose)?.[1];
    expect(name && pid && model).toBeTruthy();

    const { events, summary } = await runSensor(readFileSync(file), 1000);
    expect(summary.retransmissions).toBeGreaterThanOrEqual(1); // frame 18 is a retransmission
    const store = events.find((e) => e.kind === 'net.dicom.command' && e.data?.command === 'C-STORE-RQ')!;
    expect(store).toBeDefined();
    expect(store.data?.affectedSopClassUid).toBe('1.2.840.10008.5.1.4.1.1.7');
    expect(store.data?.equipment).toEqual({ modality: 'SC', modelName: model });
    expect(store.data?.carriesPatientData).toBe(true);
    expect(store.patientRef).toBe(makePatientIdHasher(KEY)(pid!));
    const all = JSON.stringify([events, summary]);
    expect(all).not.toContain(name!);
    expect(all).not.toContain(pid!);
    expect(events.filter((e) => e.kind === 'net.dicom.command').map((e) => e.data?.command)).toEqual([
      'C-STORE-RQ',
      'C-STORE-RSP',
    ]);
  });

  it('the same captures converted to pcapng (editcap) give the same events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sensor-'));
    try {
      for (const name of ['dicom-echo.pcap', 'dicom-association-store.pcap']) {
        const ng = join(dir, `${name}ng`);
        execFileSync('editcap', ['-F', 'pcapng', `${PCAP_DIR}${name}`, ng], { stdio: 'ignore' });
        const strip = (es: { kind: string; data?: unknown; net?: unknown; time: string }[]) =>
          es.map((e) => ({ kind: e.kind, data: e.data, net: e.net, time: e.time }));
        const a = await runSensor(readFileSync(`${PCAP_DIR}${name}`));
        const b = await runSensor(readFileSync(ng), 333);
        expect(strip(b.events)).toEqual(strip(a.events));
        expect(b.summary.packets).toBe(a.summary.packets);
        expect(b.summary.skipped).toEqual({});
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
