/**
 * @module cli/progress
 * A progress bar on a terminal (cli-progress), and plain periodic lines when output is not a TTY.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string): Progress {
  if (!process.stderr.isTTY) {
    let lastPct = -1;
    return {
      update(done, total) {
        const pct = total ? Math.floor((done / total) * 10) * 10 : 0;
        if (pct !== lastPct) {
          lastPct = pct;
          process.stderr.write(`${label}: ${done}/${total} (${pct}%)\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(18)} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
