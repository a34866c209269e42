/**
 * `awareness`: a phishing campaign to 10,000 recipients (BENCH_AWARENESS_RECIPIENTS) through a
 * local SMTP server (`smtp-server` on loopback, plain SMTP, counting messages): messages per second
 * and the process's peak RSS while the campaign is created and sent (recipients are written and
 * read a page at a time, so it should not grow with the count); the peer is nodemailer sending the
 * same messages raw through a pool with the same settings (`awareness.sending`: connections and
 * messages per connection), without claim, render, record or event; at most 1,000 of them, enough
 * for a rate.
 * Then tracking events per second on the HTTP endpoints (pixel opens and clicks over real HTTP,
 * autocannon in this process, each request from its own forwarded address so the per-address
 * rate limit is not what is measured).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { type Benchmark, type Figure, figure } from './figure.js';

const RECIPIENTS = Number(process.env.BENCH_AWARENESS_RECIPIENTS ?? 10_000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const KEEP_RAW = 200;

async function smtpSink(): Promise<{
  port: number;
  count(): number;
  /** performance.now() at every 1,000th message. */
  marks: number[];
  raws: string[];
  close(): Promise<void>;
}> {
  let count = 0;
  const marks: number[] = [];
  const raws: string[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    // No reverse DNS of each client: slow, and nothing here uses the name.
    disableReverseLookup: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    maxClients: 1000,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        if (raws.length < KEEP_RAW) chunks.push(c);
      });
      stream.on('end', () => {
        count++;
        if (count % 1000 === 0) marks.push(performance.now());
        if (raws.length < KEEP_RAW) raws.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as AddressInfo).port,
    count: () => count,
    marks,
    raws,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const awarenessBenchmark: Benchmark = {
  name: 'awareness',
  description: `phishing campaign to ${RECIPIENTS} recipients over local SMTP, then tracking events over HTTP`,
  async run(log) {
    const { validateConfig } = await import('../src/platform/config/index.js');
    const { silentLogger } = await import('../src/platform/log/index.js');
    const { buildApp, createServices } = await import('../src/server/index.js');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-awareness-'));
    const figures: Figure[] = [];
    const sink = await smtpSink();
    const services = await createServices(
      validateConfig({ dataDir, server: { trustProxy: ['127.0.0.1'] } }),
      silentLogger(),
    );
    try {
      const { awareness } = services;
      const t0 = performance.now();
      const rows = ['email,name,department'];
      for (let i = 0; i < RECIPIENTS; i++) rows.push(`p${i}@hospital.example,Person ${i},Ward ${i % 40}`);
      await awareness.directory.importCsv(rows.join('\n'));
      log(`directory: ${RECIPIENTS} people imported in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }, 50);
      const profile = await awareness.profiles.create({
        name: 'bench sink',
        host: '127.0.0.1',
        port: sink.port,
        security: 'none',
        fromAddress: 'IT Desk <it@hospital-support.example>',
      });
      const campaign = await awareness.campaigns.create({
        name: 'bench',
        templateId: 'password-expiry',
        profileId: profile.id,
        baseUrl: 'https://vigil.hospital.example/',
        departments: Array.from({ length: 40 }, (_, i) => `Ward ${i}`),
        ratePerMinute: 100_000,
      });
      const start = performance.now();
      let sent = 0;
      while (sent < RECIPIENTS) {
        const n = await awareness.sendDueCampaigns();
        if (n === 0) break;
        sent += n;
      }
      const seconds = (performance.now() - start) / 1000;
      clearInterval(sampler);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const rate = sink.count() / seconds;
      const status = await awareness.campaigns.get(campaign.id);
      log(
        `campaign: ${sink.count()} messages received by the sink in ${seconds.toFixed(1)} s (id ${campaign.id}, ${status.status}; senders still open: ${awareness.campaigns.openSenders()})`,
      );
      if (sink.count() !== RECIPIENTS) throw new Error(`the sink received ${sink.count()} of ${RECIPIENTS}`);
      // The rate should not fall as the campaign goes on (nothing per message grows with its size).
      const m = sink.marks;
      if (m.length >= 3)
        log(
          `campaign rate: second thousand ${(1000 / ((m[1]! - m[0]!) / 1000)).toFixed(0)} msg/s, last thousand ${(1000 / ((m[m.length - 1]! - m[m.length - 2]!) / 1000)).toFixed(0)} msg/s`,
        );

      // Peer: nodemailer alone, the same messages raw, through a pool with the same settings.
      const { maxConnections, maxMessagesPerConnection } = services.config.awareness.sending;
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: sink.port,
        ignoreTLS: true,
        pool: true,
        maxConnections,
        maxMessages: maxMessagesPerConnection,
      });
      const raws = sink.raws.slice();
      const before = sink.count();
      const peerStart = performance.now();
      // The same per-message cost whatever the count: 1,000 sends (or fewer) are enough for its rate.
      const peerCount = Math.min(RECIPIENTS, 1000);
      await Promise.all(
        Array.from({ length: peerCount }, (_, i) =>
          transport.sendMail({
            envelope: { from: 'it@hospital-support.example', to: [`p${i}@hospital.example`] },
            raw: raws[i % raws.length]!,
          }),
        ),
      );
      const peerRate = (sink.count() - before) / ((performance.now() - peerStart) / 1000);
      transport.close();
      log(`peer: ${peerCount} raw messages through a nodemailer pool of ${maxConnections} connections`);
      figures.push(figure('awareness.campaign', 'messages/s', rate, 'nodemailer pooled raw send', peerRate));
      figures.push(figure('awareness.campaign.peak_rss', 'MiB', peakRss / 2 ** 20));
      figures.push(figure('awareness.campaign.rss_growth', 'MiB', (peakRss - rssBefore) / 2 ** 20));
      figures.push(figure('awareness.process.max_rss', 'MiB', process.resourceUsage().maxRSS / 1024));

      // Tracking over HTTP.
      const ids = (
        await services.database.db
          .withTables<{ awareness_recipients: { tracking_id: string; campaign_id: string } }>()
          .selectFrom('awareness_recipients')
          .select('tracking_id')
          .where('campaign_id', '=', campaign.id)
          .execute()
      ).map((r) => r.tracking_id);
      const app = await buildApp(services);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const browser = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36';
      for (const kind of ['o', 'c'] as const) {
        let i = 0;
        const result = await autocannon({
          url,
          connections: 16,
          duration: DURATION_S,
          requests: [
            {
              method: 'GET',
              setupRequest: (req) => {
                const n = i++;
                const id = ids[n % ids.length]!;
                return {
                  ...req,
                  path: kind === 'o' ? `/t/o/${id}.gif` : `/t/c/${id}`,
                  headers: {
                    'user-agent': browser,
                    'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
                  },
                };
              },
            },
          ],
        });
        const ok = kind === 'o' ? result['2xx'] : result['3xx'];
        log(
          `tracking ${kind === 'o' ? 'open' : 'click'}: ${ok} answered, non-2xx/3xx ${result.non2xx - (kind === 'c' ? result['3xx'] : 0)}, errors ${result.errors}, p99 ${result.latency.p99} ms`,
        );
        figures.push(
          figure(`awareness.tracking.${kind === 'o' ? 'open' : 'click'}`, 'events/s', ok / DURATION_S),
        );
      }
      await app.close();
      return figures;
    } finally {
      await services.close();
      await sink.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
