/**
 * Helpers of the live-capture tests: whether tcpdump (and DCMTK) are here and capture on `lo` is
 * permitted, so a suite can skip with the reason instead of failing on a machine without them.
 */
import { execFileSync } from 'node:child_process';
import { findTcpdump } from '../../src/sensor/index.js';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const TCPDUMP = findTcpdump();

/** Why live capture on `lo` cannot be tested here, or null when it can. */
export function captureSkipReason(): string | null {
  if (!TCPDUMP) return 'skipped: tcpdump is not installed (Debian package tcpdump)';
  try {
    // -d opens the interface (as a capture would) and prints the compiled filter; nothing is captured.
    execFileSync(TCPDUMP, ['-d', '-i', 'lo', 'tcp port 9'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    return `skipped: capture on lo is not permitted here (${stderr.split('\n')[0]}); run as root or setcap cap_net_raw,cap_net_admin=eip ${TCPDUMP}`;
  }
  return null;
}

/** Why the DCMTK round trip cannot run, or null when it can. */
export function dcmtkSkipReason(): string | null {
  const missing = ['dump2dcm', 'storescp', 'storescu'].filter((c) => !has(c));
  return missing.length
    ? `skipped: DCMTK is not installed (missing ${missing.join(', ')}; Debian package dcmtk)`
    : null;
}

/** Whether `setpriv` can run a command as another user (root only), for the permission test. */
export function canDropPrivileges(): boolean {
  return process.getuid?.() === 0 && has('setpriv');
}
