/**
 * @module sensor/tcpdump
 * Live capture as a `CaptureSource`: tcpdump (a well-kept capture tool) captures and writes pcap
 * to its standard output (`tcpdump -i IF --immediate-mode -w - -U [-- filter]`), and the sensor's
 * own reader parses that stream. Immediate mode hands packets over as they arrive, so a stop loses
 * none still waiting in the kernel's buffer. What goes wrong is told plainly: tcpdump missing (what to install), no permission
 * to capture (what to do), no such interface, a filter tcpdump refuses. Nothing here sends a
 * packet, and tcpdump's output is never written to disk.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { VigilError } from '../core/index.js';
import type { CaptureSource } from './capture-source.js';
import { processSource } from './process-source.js';

/** Options of `tcpdumpSource`. */
export interface TcpdumpOptions {
  /** The interface to capture on (`eth0`, `lo`, `any`). */
  interface: string;
  /** A BPF filter expression (tcpdump's syntax), e.g. `tcp port 104`. */
  filter?: string | undefined;
  /** The tcpdump program; default: found on PATH, then in /usr/sbin, /usr/bin, /sbin. */
  tcpdump?: string | undefined;
  /** Called once with tcpdump's `listening on …` line, when capture has really started. */
  onListening?: (line: string) => void;
  /** How long tcpdump may take to exit after `stop()` before it is killed (default 5 s). */
  stopGraceMs?: number | undefined;
}

/** A live capture: a `CaptureSource` whose outcome carries tcpdump's own counters. */
export interface TcpdumpSource extends CaptureSource {
  /** The command line run, for messages. */
  readonly command: readonly string[];
}

const INSTALL_HINT =
  'install it (Debian/Ubuntu: apt-get install tcpdump; RHEL/Fedora: dnf install tcpdump), or give its path with --tcpdump';

/** Interface names as the kernel allows them (and `any`); nothing a shell or getopt could misread. */
const IFACE = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,63}$/;

/** Where tcpdump is: the PATH first, then the places distributions install it. */
export function findTcpdump(envPath = process.env.PATH ?? ''): string | null {
  const dirs = [...envPath.split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'tcpdump');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Turns what a failed tcpdump printed into one clear error: what is wrong and what to do.
 * `stderr` is tcpdump's standard error (the first few kilobytes are enough).
 */
export function tcpdumpError(
  stderr: string,
  exitCode: number | null,
  options: { interface: string; filter?: string | undefined; tcpdump: string },
): VigilError {
  const first =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !/^listening on|^tcpdump: listening on/.test(l)) ?? '';
  const said = first.replace(/^tcpdump:\s*/, '').slice(0, 300);
  const iface = options.interface;
  if (/permission|not permitted|EPERM|cap_net_raw/i.test(stderr))
    return new VigilError(
      'FORBIDDEN',
      `tcpdump may not capture on ${iface} (${said || 'permission denied'}). Run vigil as root, or allow tcpdump to capture: setcap cap_net_raw,cap_net_admin=eip ${options.tcpdump}`,
    );
  if (/no such device|doesn't exist|does not exist|no such interface|not found|ENODEV|ENXIO/i.test(stderr))
    return new VigilError(
      'BAD_REQUEST',
      `no network interface named ${iface} (${said}). List the interfaces with \`ip link\` or \`tcpdump -D\`.`,
    );
  if (
    options.filter &&
    /syntax error|unknown (port|host|protocol|network|ether|proto)|illegal|parse|expression|invalid|unknown/i.test(
      stderr,
    )
  )
    return new VigilError(
      'BAD_REQUEST',
      `tcpdump refused the filter "${options.filter}": ${said}. Check the BPF syntax (man pcap-filter).`,
    );
  return new VigilError(
    'UNAVAILABLE',
    `tcpdump stopped with ${exitCode === null ? 'a signal' : `exit code ${exitCode}`}${said ? `: ${said}` : ''}`,
  );
}

/** tcpdump's closing counters (`N packets dropped by kernel`), when it printed them. */
export function tcpdumpCounters(stderr: string): { captured?: number; droppedByKernel?: number } {
  const out: { captured?: number; droppedByKernel?: number } = {};
  const captured = /(\d+) packets? captured/.exec(stderr);
  if (captured) out.captured = Number(captured[1]);
  const dropped = /(\d+) packets? dropped by kernel/.exec(stderr);
  if (dropped) out.droppedByKernel = Number(dropped[1]);
  return out;
}

/**
 * Starts `tcpdump -i IF --immediate-mode -w - -U [-- filter]` and reads its standard output (see
 * process-source.ts). `stop()` sends tcpdump SIGTERM: it flushes, prints its counters and exits.
 * The outcome is an error when tcpdump could not start or died by itself.
 */
export function tcpdumpSource(options: TcpdumpOptions): TcpdumpSource {
  const iface = options.interface;
  if (!IFACE.test(iface))
    throw new VigilError('BAD_REQUEST', `"${iface.slice(0, 80)}" is not a network interface name`);
  const program = options.tcpdump ?? findTcpdump();
  if (!program) throw new VigilError('UNAVAILABLE', `tcpdump is not installed: ${INSTALL_HINT}`);
  const filter = options.filter?.trim() || undefined;
  const args = ['-i', iface, '--immediate-mode', '-w', '-', '-U', ...(filter ? ['--', filter] : [])];
  let listening = false;
  const source = processSource({
    label: `tcpdump -i ${iface}${filter ? ` ${filter}` : ''}`,
    command: program,
    args,
    stopGraceMs: options.stopGraceMs,
    onStderr: (head) => {
      if (listening) return;
      const line = /listening on [^\n]*/.exec(head);
      if (!line) return;
      listening = true;
      options.onListening?.(line[0]);
    },
    counters: (end) => tcpdumpCounters(end.stderrTail),
    failure: (end) => {
      const err = end.spawnError;
      if (err?.code === 'ENOENT')
        return new VigilError('UNAVAILABLE', `tcpdump is not installed at ${program}: ${INSTALL_HINT}`);
      if (err?.code === 'EACCES')
        return new VigilError(
          'FORBIDDEN',
          `cannot run ${program}: permission denied. Run vigil as root, or make tcpdump executable for this user.`,
        );
      if (err) return new VigilError('UNAVAILABLE', `cannot start ${program}: ${err.message}`);
      return tcpdumpError(end.stderr, end.code, { interface: iface, filter, tcpdump: program });
    },
  });
  return { ...source, command: [program, ...args] };
}
