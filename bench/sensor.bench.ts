/**
 * `sensor`: MB/s and packets/s of the sensor reading a large capture and extracting DICOM
 * identity (AE titles, implementation class UID and version name), beside tshark extracting the
 * same fields from the same file in the same run. The capture is built here, in a temporary
 * directory, from realistic traffic: DICOM associations (C-ECHO, and C-STORE of an image in 16 KiB
 * PDUs), HL7 over MLLP, bulk filler transfers and DNS over UDP. Size: BENCH_SENSOR_MB (200).
 * The process's CPU time is reported too (MB/s of CPU time), which holds on a busy machine. The
 * capture is read three times: the first read gives the figures; the median of the three is
 * `sensor.read.warm`, the rate once the parser is compiled (a live sensor's steady state).
 * Then Zeek ingestion, JSON and TSV, beside the bare parse of the same lines (zeek-ingest.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConversationFrame,
  type FrameAddresses,
  mllpFrame,
  pcapFileHeader,
  pcapRecord,
  Sensor,
  TcpConversation,
  udpFrame,
} from '../src/sensor/index.js';
import { type Benchmark, figure, median } from './figure.js';
import { zeekFigures } from './zeek-ingest.js';

const TARGET_MB = Number(process.env.BENCH_SENSOR_MB ?? 200);
const CLIENT_IP = '10.99.99.99';
const CLIENT_PORT = 40_000;

function pdu(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(body.length, 2);
  return Buffer.concat([h, body]);
}
function item(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}
const s = (v: string) => Buffer.from(v, 'latin1');

function associate(type: 1 | 2, called: string, calling: string, impl: string, version: string): Buffer {
  const fixed = Buffer.concat([
    Buffer.from([0, 1, 0, 0]),
    s(called.padEnd(16)),
    s(calling.padEnd(16)),
    Buffer.alloc(32),
  ]);
  const abstract = ['1.2.840.10008.1.1', '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.4'];
  const pcs = abstract.map((a, i) =>
    type === 1
      ? item(
          0x20,
          Buffer.concat([
            Buffer.from([2 * i + 1, 0, 0, 0]),
            item(0x30, s(a)),
            item(0x40, s('1.2.840.10008.1.2.1')),
            item(0x40, s('1.2.840.10008.1.2')),
          ]),
        )
      : item(0x21, Buffer.concat([Buffer.from([2 * i + 1, 0, 0, 0]), item(0x40, s('1.2.840.10008.1.2.1'))])),
  );
  const user = item(
    0x50,
    Buffer.concat([item(0x51, Buffer.from([0, 0, 0x40, 0])), item(0x52, s(impl)), item(0x55, s(version))]),
  );
  return pdu(type, Buffer.concat([fixed, item(0x10, s('1.2.840.10008.3.1.1.1')), ...pcs, user]));
}

function el(group: number, elem: number, v: Buffer, vr?: string): Buffer {
  if (!vr) {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(group, 0);
    h.writeUInt16LE(elem, 2);
    h.writeUInt32LE(v.length, 4);
    return Buffer.concat([h, v]);
  }
  const long = vr === 'OW' || vr === 'OB';
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(elem, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(v.length, 8);
  else h.writeUInt16LE(v.length, 6);
  return Buffer.concat([h, v]);
}
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

/** P-DATA-TF PDUs carrying one message, in fragments of at most `max` bytes. */
function pdata(ctx: number, command: boolean, data: Buffer, max = 16_372): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length || i === 0; i += max) {
    const part = data.subarray(i, i + max);
    const last = i + max >= data.length;
    const h = Buffer.alloc(6);
    h.writeUInt32BE(part.length + 2, 0);
    h[4] = ctx;
    h[5] = (command ? 1 : 0) | (last ? 2 : 0);
    out.push(pdu(4, Buffer.concat([h, part])));
  }
  return out;
}

function dicomStore(conv: TcpConversation, n: number): ConversationFrame[] {
  const f: ConversationFrame[] = [...conv.open()];
  f.push(
    ...conv.send(
      0,
      associate(1, 'PACS_MAIN', `CT_ROOM_${n % 7}`, '1.2.276.0.7230010.3.0.3.6.8', 'OFFIS_DCMTK_368'),
    ),
  );
  f.push(...conv.send(1, associate(2, 'PACS_MAIN', `CT_ROOM_${n % 7}`, '1.2.40.0.13.1.3', 'dcm4che-5.29')));
  const cmd = Buffer.concat([
    el(0, 0x0002, s('1.2.840.10008.5.1.4.1.1.2\0')),
    el(0, 0x0100, us(1)),
    el(0, 0x0110, us(1)),
    el(0, 0x0800, us(0)),
  ]);
  const ds = Buffer.concat([
    el(0x0008, 0x0060, s('CT'), 'CS'),
    el(0x0008, 0x0070, s('ACME Medical'), 'LO'),
    el(0x0008, 0x1010, s('CTROOM1 '), 'SH'),
    el(0x0008, 0x1090, s('Scanner 9000'), 'LO'),
    el(0x0010, 0x0010, s('DOE^JANE'), 'PN'),
    el(0x0010, 0x0020, s(`MRN${n}`.padEnd(8)), 'LO'),
    el(0x0018, 0x1000, s('SN-0042 '), 'LO'),
    el(0x0018, 0x1020, s('VA10'), 'LO'),
    el(0x7fe0, 0x0010, Buffer.alloc(512 * 1024, n & 255), 'OW'),
  ]);
  for (const p of [...pdata(3, true, cmd), ...pdata(3, false, ds)]) f.push(...conv.send(0, p));
  f.push(
    ...conv.send(1, pdata(3, true, Buffer.concat([el(0, 0x0100, us(0x8001)), el(0, 0x0900, us(0))]))[0]!),
  );
  f.push(...conv.send(0, pdu(5, Buffer.alloc(4))), ...conv.send(1, pdu(6, Buffer.alloc(4))), ...conv.close());
  return f;
}

function dicomEcho(conv: TcpConversation): ConversationFrame[] {
  const f: ConversationFrame[] = [...conv.open()];
  f.push(
    ...conv.send(0, associate(1, 'ANY-SCP', 'ECHOSCU', '1.2.276.0.7230010.3.0.3.6.2', 'OFFIS_DCMTK_362')),
  );
  f.push(
    ...conv.send(1, associate(2, 'ANY-SCP', 'ECHOSCU', '1.2.276.0.7230010.3.0.3.6.2', 'OFFIS_DCMTK_362')),
  );
  f.push(
    ...conv.send(0, pdata(1, true, Buffer.concat([el(0, 0x0100, us(0x30)), el(0, 0x0800, us(0x0101))]))[0]!),
  );
  f.push(
    ...conv.send(1, pdata(1, true, Buffer.concat([el(0, 0x0100, us(0x8030)), el(0, 0x0900, us(0))]))[0]!),
  );
  f.push(...conv.send(0, pdu(5, Buffer.alloc(4))), ...conv.send(1, pdu(6, Buffer.alloc(4))), ...conv.close());
  return f;
}

function hl7(conv: TcpConversation): ConversationFrame[] {
  const f: ConversationFrame[] = [...conv.open()];
  for (let i = 0; i < 5; i++) {
    const msg = `MSH|^~\\&|MONITOR|ICU|EHR|HOSP|20240101120000||ORU^R01|C${i}|P|2.5\rPID|1||MRN${i}^^^H^MR||DOE^JANE\r${'OBX|1|NM|8867-4^HR^LN||72|/min|||||F|||20240101||||PUMP-1\r'.repeat(20)}`;
    f.push(...conv.send(0, mllpFrame(msg)));
    f.push(
      ...conv.send(1, mllpFrame(`MSH|^~\\&|EHR|HOSP|MONITOR|ICU|20240101||ACK|A${i}|P|2.5\rMSA|AA|C${i}\r`)),
    );
  }
  return [...f, ...conv.close()];
}

function bulk(conv: TcpConversation, bytes: number): ConversationFrame[] {
  const req = Buffer.from('GET /update.bin HTTP/1.1\r\nHost: updates.example\r\n\r\n');
  return [...conv.open(), ...conv.send(0, req), ...conv.send(1, Buffer.alloc(bytes, 0x55)), ...conv.close()];
}

function addr(dstIp: string, dstPort: number): FrameAddresses {
  return {
    srcMac: '02:00:00:00:00:01',
    dstMac: '02:00:00:00:00:02',
    src: CLIENT_IP,
    dst: dstIp,
    srcPort: CLIENT_PORT,
    dstPort,
  };
}

/** One unit of traffic as pcap records (template: client address patched per copy). */
function unitTemplate(): { data: Buffer; records: number[]; associations: number } {
  const frames: ConversationFrame[] = [
    ...dicomStore(new TcpConversation(addr('10.0.0.5', 104)), 1),
    ...dicomEcho(new TcpConversation({ ...addr('10.0.0.5', 104), srcPort: CLIENT_PORT + 1 })),
    ...hl7(new TcpConversation({ ...addr('10.0.0.6', 2575), srcPort: CLIENT_PORT + 2 })),
    ...bulk(new TcpConversation({ ...addr('10.0.0.7', 80), srcPort: CLIENT_PORT + 3 }), 384 * 1024),
  ];
  const dns = udpFrame({ ...addr('10.0.0.53', 53), srcPort: CLIENT_PORT + 4 }, Buffer.alloc(40, 1));
  const recs = [...frames.map((f) => f.frame), dns].map((f) => pcapRecord(0, f));
  const offsets: number[] = [];
  let p = 0;
  for (const r of recs) {
    offsets.push(p);
    p += r.length;
  }
  return { data: Buffer.concat(recs), records: offsets, associations: 2 };
}

export function buildCapture(file: string): { bytes: number; packets: number; associations: number } {
  const t = unitTemplate();
  const fd = openSync(file, 'w');
  writeSync(fd, pcapFileHeader());
  let bytes = 24;
  let units = 0;
  const client = CLIENT_IP.split('.').map(Number);
  const clientInt = ((client[0]! << 24) | (client[1]! << 16) | (client[2]! << 8) | client[3]!) >>> 0;
  while (bytes < TARGET_MB * 1024 * 1024) {
    const b = Buffer.from(t.data);
    const ip = ((10 << 24) | (1 << 20) | units) >>> 0;
    for (const off of t.records) {
      b.writeUInt32LE(1_700_000_000 + Math.floor(units / 10), off);
      const ipOff = off + 16 + 14;
      const srcIsClient = b.readUInt32BE(ipOff + 12) === clientInt;
      b.writeUInt32BE(ip, ipOff + (srcIsClient ? 12 : 16));
    }
    writeSync(fd, b);
    bytes += b.length;
    units++;
  }
  closeSync(fd);
  return { bytes, packets: units * t.records.length, associations: units * t.associations };
}

/** `times` prints the shell's and then its children's user and system time: `0m1.250s 0m0.040s`. */
function childCpuSeconds(timesOutput: string): number | null {
  const line = timesOutput.trim().split('\n').at(-1) ?? '';
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(line.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : null;
}

/** Runs tshark under bash, whose `times` gives tshark's CPU time (it holds on a busy machine). */
async function tsharkRun(
  file: string,
): Promise<{ seconds: number; cpuSeconds: number | null; lines: number }> {
  const t0 = performance.now();
  const child = spawn(
    'bash',
    [
      '-c',
      'tshark "$@"; code=$?; times >&2; exit $code',
      'tshark',
      '-r',
      file,
      '-Y',
      'dicom.assoc.ae.called',
      '-T',
      'fields',
      '-e',
      'dicom.assoc.ae.called',
      '-e',
      'dicom.assoc.ae.calling',
      '-e',
      'dicom.userinfo.uid',
      '-e',
      'dicom.userinfo.version',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let lines = 0;
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    for (const c of d) if (c === 10) lines++;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4096);
  });
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`tshark exited with ${code}: ${stderr.slice(-400)}`);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: childCpuSeconds(stderr), lines };
}

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const sensorBenchmark: Benchmark = {
  name: 'sensor',
  description: `read a ${TARGET_MB} MB synthetic hospital capture, extracting DICOM identity, vs tshark -T fields`,
  async run(log) {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-sensor-'));
    try {
      const file = join(dir, 'capture.pcap');
      const built = buildCapture(file);
      const mb = statSync(file).size / 1e6;
      log(`capture: ${mb.toFixed(0)} MB, ${built.packets} packets, ${built.associations} DICOM associations`);
      // Three reads. The first, in a process that has not run the parser yet, is the headline
      // figure (as a `vigil sensor read` of a file is, and as tshark's single run is); the median
      // of the three is printed beside it as the warmed-up rate of a sensor that keeps reading.
      const runs: { seconds: number; cpuSeconds: number; packets: number }[] = [];
      for (let run = 0; run < 3; run++) {
        let assocs = 0;
        const sensor = new Sensor({
          patientIdKey: Buffer.alloc(32, 1),
          flows: false,
          onEvent: (e) => {
            if (e.kind === 'net.dicom.association') assocs++;
          },
        });
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const summary = await sensor.read(createReadStream(file, { highWaterMark: 4 << 20 }));
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        if (assocs !== built.associations)
          throw new Error(`sensor found ${assocs} of ${built.associations} associations`);
        log(
          `vigil, read ${run + 1}: ${(mb / seconds).toFixed(0)} MB/s, ${(summary.packets / seconds).toFixed(0)} packets/s, ${assocs} associations; CPU ${cpuSeconds.toFixed(2)} s = ${(mb / cpuSeconds).toFixed(0)} MB/s of CPU time`,
        );
        runs.push({ seconds, cpuSeconds, packets: summary.packets });
      }
      const { seconds: ours, cpuSeconds, packets } = runs[0]!;
      const warm = median(runs.map((r) => r.seconds));
      log(`vigil, median of the 3 reads: ${(mb / warm).toFixed(0)} MB/s`);
      const figures = [];
      if (hasTshark()) {
        const ts = await tsharkRun(file);
        // tshark prints one line per A-ASSOCIATE-RQ and one per -AC.
        if (ts.lines !== 2 * built.associations)
          log(`tshark: ${ts.lines} lines (expected ${2 * built.associations})`);
        log(
          `tshark: ${(mb / ts.seconds).toFixed(1)} MB/s, ${(packets / ts.seconds).toFixed(0)} packets/s${ts.cpuSeconds ? `; CPU ${ts.cpuSeconds.toFixed(2)} s = ${(mb / ts.cpuSeconds).toFixed(1)} MB/s of CPU time` : ''}`,
        );
        if (ts.cpuSeconds)
          figures.push(
            figure(
              'sensor.read.cpu',
              'MB/s of CPU time',
              mb / cpuSeconds,
              'tshark -T fields (DICOM identity), CPU time',
              mb / ts.cpuSeconds,
            ),
          );
        figures.push(
          figure('sensor.read', 'MB/s', mb / ours, 'tshark -T fields (DICOM identity)', mb / ts.seconds),
          figure('sensor.read.warm', 'MB/s', mb / warm, 'tshark -T fields (DICOM identity)', mb / ts.seconds),
          figure(
            'sensor.read.packets',
            'packets/s',
            packets / ours,
            'tshark -T fields (DICOM identity)',
            packets / ts.seconds,
          ),
        );
      } else {
        log('tshark is not installed: no peer figure');
        figures.push(
          figure('sensor.read', 'MB/s', mb / ours),
          figure('sensor.read.warm', 'MB/s', mb / warm),
          figure('sensor.read.packets', 'packets/s', packets / ours),
        );
      }
      rmSync(file);
      figures.push(...(await zeekFigures(dir, log)));
      return figures;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
