/**
 * An open-loop HTTP load at a steady rate: request i is sent at start + i / rate (on the next
 * timer tick), whether or not earlier answers have come back, and its latency runs from when it
 * was sent to when its answer ended. Nothing the server does can delay a send, so a stall in the
 * server shows in every request sent meanwhile (no coordinated omission); a request sent while
 * all connections are busy waits for one, and that wait counts. Timing from the send rather
 * than the due time leaves out the timer's own lateness (up to a millisecond in Node), which is
 * the generator's, not the server's.
 *
 * autocannon's `overallRate` is not this: each connection sends its share of a second
 * back to back as fast as answers come, then waits for the next second, so a "1,000 requests/s"
 * run is a burst at full load every second, and its latencies are those of full load.
 */
import { Agent, request } from 'node:http';

export interface OpenLoopResult {
  /** Answers received (2xx and others). */
  total: number;
  non2xx: number;
  errors: number;
  /** Requests sent per second, measured. */
  rate: number;
  /** Latencies in ms, from when each request was sent. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface OpenLoopOptions {
  url: string;
  headers: Record<string, string>;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** At most this many connections (kept alive); a request due when all are busy waits for one. */
  connections?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function openLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections ?? 64 });
  const intervalMs = 1000 / opts.rate;
  const count = Math.round(opts.rate * opts.durationS);
  const latencies = new Float64Array(count);
  let done = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let lastSentAt = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const finish = (i: number, sentAt: number) => {
      latencies[i] = performance.now() - sentAt;
      if (++done === count) resolve();
    };
    const send = (i: number) => {
      const sentAt = performance.now();
      const req = request(opts.url, { agent, headers: opts.headers }, (res) => {
        if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        res.resume();
        res.on('end', () => finish(i, sentAt));
        res.on('error', () => {
          errors++;
          finish(i, sentAt);
        });
      });
      req.on('error', () => {
        errors++;
        finish(i, sentAt);
      });
      req.end();
    };
    // Every tick sends what has fallen due (a late tick, its backlog at once).
    const tick = () => {
      const due = Math.min(count, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) send(sent++);
      lastSentAt = performance.now();
      if (sent < count) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
    };
    tick();
  });
  agent.destroy();
  const sorted = latencies.sort();
  return {
    total: count,
    non2xx,
    errors,
    rate: count > 1 ? ((count - 1) * 1000) / (lastSentAt - start) : count,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}
