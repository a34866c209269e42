/**
 * @module server/app
 * Builds the Fastify application from the services: plugins in a fixed order (errors, security
 * headers, cookies, rate limits, OpenAPI, authentication), then one route plugin per domain, then
 * the console. `server/` only parses, authorizes, calls the domain and maps the result.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { VigilError } from '../core/index.js';
import { fastAccessCheck } from './access-check.js';
import { registerConsole } from './console.js';
import { registerAuthentication, sessionCookieFor } from './plugins/authenticate.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { accessRoutes } from './routes/access.js';
import { alertRoutes } from './routes/alerts.js';
import { authRoutes } from './routes/auth.js';
import { awarenessRoutes } from './routes/awareness.js';
import { awarenessTrackingRoutes } from './routes/awareness-tracking.js';
import { baselineRoutes } from './routes/baselines.js';
import { careRoutes } from './routes/care.js';
import { caseRoutes } from './routes/cases.js';
import { deviceRoutes } from './routes/devices.js';
import { fhirRoutes } from './routes/fhir.js';
import { fhirBinaryRoutes } from './routes/fhir-binary.js';
import { healthRoutes } from './routes/health.js';
import { overviewRoutes } from './routes/overview.js';
import { SCIM_PREFIX, scimRoutes } from './routes/scim.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import { vaultAdminRoutes } from './routes/vault-admin.js';
import type { Services } from './services.js';

export interface AppOptions {
  /** Reports whether a graceful shutdown has begun (readiness turns 503). */
  isClosing?: () => boolean;
  /** Folder of the built console (default: dist/web of this package). */
  consoleDir?: string;
  /** Told about every route as it is registered (the deny-by-default test lists them all). */
  onRoute?: (route: { method: string | string[]; url: string; access: unknown }) => void;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function buildApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const tls = Boolean(config.server.tlsCertFile && config.server.tlsKeyFile);
  const isClosing = options.isClosing ?? (() => false);
  // The listener answers the gateway's forward-auth checks itself, before Fastify (access-check.ts).
  const accessCheck = fastAccessCheck({
    access: services.access,
    logger: services.logger,
    parseCookie: (header) => app.parseCookie(header),
    tls,
    isClosing,
  });
  const app = Fastify({
    loggerInstance: services.logger,
    genReqId: () => randomUUID(),
    trustProxy: config.server.trustProxy.length ? [...config.server.trustProxy] : false,
    bodyLimit: config.server.bodyLimit,
    serverFactory: (handler, opts) => {
      const listener = (req: IncomingMessage, res: ServerResponse) => {
        if (!accessCheck(req, res)) handler(req, res);
      };
      const server = tls
        ? createHttpsServer(
            { cert: readFileSync(config.server.tlsCertFile!), key: readFileSync(config.server.tlsKeyFile!) },
            listener,
          )
        : createHttpServer(listener);
      // What Fastify sets on a server it makes itself (its defaults filled in).
      const o = opts as { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };
      server.keepAliveTimeout = o.keepAliveTimeout ?? 72_000;
      server.requestTimeout = o.requestTimeout ?? 0;
      server.setTimeout(o.connectionTimeout ?? 0);
      return server;
    },
    routerOptions: { maxParamLength: 200 },
  }) as unknown as FastifyInstance;

  const onRoute = options.onRoute;
  if (onRoute)
    app.addHook('onRoute', (r) => onRoute({ method: r.method, url: r.url, access: r.config?.access }));
  // The API speaks JSON only; anything else is refused with 415 before a handler sees it.
  app.removeContentTypeParser('text/plain');
  // FHIR clients send application/fhir+json: the same JSON parser (and its 400 on malformed JSON).
  app.addContentTypeParser(
    'application/fhir+json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerSecurityHeaders(app, tls);
  await app.register(fastifyCookie);
  await app.register(fastifyRateLimit, {
    global: false,
    // Thrown, so the one error handler answers it in the usual shape, with the wait in details.
    errorResponseBuilder: (_request, context) =>
      new VigilError(
        'RATE_LIMITED',
        `Too many attempts from your address. Wait ${Math.ceil(context.ttl / 1000)} seconds and try again.`,
        {
          details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        },
      ),
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Vigil API', version: VERSION, description: 'Security operations for hospitals.' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieFor(tls).name },
          token: { type: 'http', scheme: 'bearer', description: 'An API token: vgl_<id>.<secret>' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
    transform: jsonSchemaTransform,
  });

  const cookie = sessionCookieFor(tls);
  registerAuthentication(app, services.identity, cookie);

  await app.register(healthRoutes, { services, isClosing });
  await app.register(authRoutes, {
    identity: services.identity,
    cookie,
    rateLimitPerMinute: config.auth.rateLimitPerMinute,
    sessionAbsoluteHours: config.auth.sessionAbsoluteHours,
  });
  await app.register(userRoutes, { identity: services.identity });
  await app.register(tokenRoutes, { identity: services.identity });
  await app.register(overviewRoutes, { services });
  await app.register(accessRoutes, {
    access: services.access,
    identity: services.identity,
    config: config.access,
    tls,
    rateLimitPerMinute: config.auth.rateLimitPerMinute,
    sessionAbsoluteHours: config.auth.sessionAbsoluteHours,
  });

  await app.register(fhirRoutes, { vault: services.vault });
  await app.register(fhirBinaryRoutes, { vault: services.vault, upload: config.vault.upload });
  await app.register(vaultAdminRoutes, { vault: services.vault });
  await app.register(careRoutes, { vault: services.vault, identity: services.identity });
  await app.register(alertRoutes, {
    alerts: services.detect.alerts,
    outputs: services.detect.outputs,
    identity: services.identity,
    product: { name: 'Vigil', vendor: 'Vigil', version: VERSION },
  });
  await app.register(caseRoutes, { cases: services.detect.cases });
  await app.register(awarenessRoutes, { awareness: services.awareness });
  await app.register(awarenessTrackingRoutes, { awareness: services.awareness });
  await app.register(scimRoutes, { awareness: services.awareness, prefix: SCIM_PREFIX });
  await app.register(deviceRoutes, { devices: services.devices });
  await app.register(baselineRoutes, { baselines: services.detect.baselines });

  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  await registerConsole(app, options.consoleDir);
  return app;
}
