/**
 * @module server/routes/awareness-tracking
 * The public routes a simulated phishing message points at: the open pixel, the click, the report
 * link and the landing page. They are public by nature (the recipient is not signed in), so they
 * are rate-limited per address, reveal nothing about unknown ids (the pixel, click and report
 * answer exactly the same either way), never echo what was posted, and never answer 500.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Awareness,
  landingHtml,
  notAvailableHtml,
  PIXEL_GIF,
  reportedHtml,
  type TrackingContext,
  teachingHtml,
} from '../../awareness/index.js';

const idParams = z.object({ id: z.string().max(200) });

/** Per-address budget of tracking requests (a whole ward behind one NAT address still fits). */
const RATE = { max: 300, timeWindow: 60_000 };

export const awarenessTrackingRoutes: FastifyPluginAsyncZod<{ awareness: Awareness }> = async (
  app,
  { awareness },
) => {
  // The landing form posts url-encoded fields; parsed here only, nothing of it is logged or kept.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  const ctx = (request: FastifyRequest): TrackingContext => {
    const ua = request.headers['user-agent'];
    return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : undefined };
  };
  const html = (reply: FastifyReply, body: string, status = 200) =>
    reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
  // Tracking must never break the page a person sees: a failure is logged, the answer is the same.
  const quietly = async <T>(request: FastifyRequest, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (err) {
      request.log.error({ err }, 'awareness tracking failed');
      return null;
    }
  };
  // The console's training page, on the public address the campaign's links use.
  const trainingUrl = (baseUrl: string) => `${baseUrl}/training`;

  app.get(
    '/t/o/:id.gif',
    { config: { access: 'public', rateLimit: RATE }, schema: { hide: true, params: idParams } },
    async (request, reply) => {
      await quietly(request, () => awareness.tracking.record('open', request.params.id, ctx(request)));
      return reply.header('cache-control', 'no-store').type('image/gif').send(PIXEL_GIF);
    },
  );

  app.get(
    '/t/c/:id',
    { config: { access: 'public', rateLimit: RATE }, schema: { hide: true, params: idParams } },
    async (request, reply) => {
      await quietly(request, () => awareness.tracking.record('click', request.params.id, ctx(request)));
      // The same redirect for every id: the landing route decides what to show.
      return reply
        .header('cache-control', 'no-store')
        .redirect(`/t/l/${encodeURIComponent(request.params.id)}`, 302);
    },
  );

  app.get(
    '/t/r/:id',
    { config: { access: 'public', rateLimit: RATE }, schema: { hide: true, params: idParams } },
    async (request, reply) => {
      await quietly(request, () =>
        awareness.tracking.record('report', request.params.id, ctx(request), { via: 'link' }),
      );
      return html(reply, reportedHtml());
    },
  );

  app.get(
    '/t/l/:id',
    { config: { access: 'public', rateLimit: RATE }, schema: { hide: true, params: idParams } },
    async (request, reply) => {
      const page = await quietly(request, async () => {
        const r = await awareness.tracking.recipient(request.params.id);
        if (r?.status !== 'sent') return null;
        const campaign = await awareness.campaigns.get(r.campaign_id);
        const landing = awareness.campaigns.landing(campaign.landingId);
        if (landing) return landingHtml(landing, `/t/l/${request.params.id}`);
        const template = await awareness.campaigns.template(campaign.templateId);
        return teachingHtml({
          signs: template?.signs ?? [],
          submitted: false,
          courseTitle: phishingTitle(awareness),
          trainingUrl: trainingUrl(campaign.baseUrl),
        });
      });
      return page ? html(reply, page) : html(reply, notAvailableHtml(), 404);
    },
  );

  app.post(
    '/t/l/:id',
    { config: { access: 'public', rateLimit: RATE }, schema: { hide: true, params: idParams } },
    async (request, reply) => {
      const page = await quietly(request, async () => {
        const r = await awareness.tracking.recipient(request.params.id);
        if (r?.status !== 'sent') return null;
        const campaign = await awareness.campaigns.get(r.campaign_id);
        const landing = awareness.campaigns.landing(campaign.landingId);
        const body =
          request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
        // Only the names of non-password fields that were filled in; no value is ever kept.
        const fields = (landing?.fields ?? [])
          .filter(
            (f) =>
              f.type !== 'password' &&
              typeof body[f.name] === 'string' &&
              (body[f.name] as string).length > 0,
          )
          .map((f) => f.name);
        const passwordGiven = (landing?.fields ?? []).some(
          (f) =>
            f.type === 'password' && typeof body[f.name] === 'string' && (body[f.name] as string).length > 0,
        );
        await awareness.tracking.record('submit', request.params.id, ctx(request), { fields, passwordGiven });
        const template = await awareness.campaigns.template(campaign.templateId);
        return teachingHtml({
          signs: template?.signs ?? [],
          submitted: true,
          courseTitle: phishingTitle(awareness),
          trainingUrl: trainingUrl(campaign.baseUrl),
        });
      });
      return page ? html(reply, page) : html(reply, notAvailableHtml(), 404);
    },
  );
};

function phishingTitle(awareness: Awareness): string | null {
  return awareness.training.curriculum.courses.find((c) => c.threat === 'phishing')?.title ?? null;
}
