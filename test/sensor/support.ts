/**
 * Helpers of the sensor's real-data tests: where the shared data is, whether tshark is there,
 * and running the whole sensor over a buffer or file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VigilEvent } from '../../src/core/events.js';
import { Sensor, type SensorOptions, type SensorSummary } from '../../src/sensor/index.js';

export const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const PCAP_DIR = `${DATA}pcap/`;
export const HL7_DIR = `${DATA}hl7v2/`;
export const hasData = existsSync(PCAP_DIR) && existsSync(HL7_DIR);

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const hasTshark = which('tshark');

/** Why a real-data suite skips, or null when it runs. */
export function skipReason(needTshark = false): string | null {
  if (!hasData) return `skipped: ${DATA} is missing (the shared real data sits beside the repository)`;
  if (needTshark && !hasTshark) return 'skipped: tshark is not installed (Debian package tshark)';
  return null;
}

export const KEY = Buffer.alloc(32, 0x5a);

/** Runs the sensor over chunks of a buffer and returns its events and summary. */
export async function runSensor(
  data: Buffer,
  chunkSize = 4096,
  options: Partial<SensorOptions> = {},
): Promise<{ events: VigilEvent[]; summary: SensorSummary }> {
  const events: VigilEvent[] = [];
  const sensor = new Sensor({ patientIdKey: KEY, onEvent: (e) => events.push(e), ...options });
  async function* chunks() {
    for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
  }
  const summary = await sensor.read(chunks());
  return { events, summary };
}
