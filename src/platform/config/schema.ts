/**
 * @module platform/config/schema
 * The one configuration schema, with every default. Unknown keys are errors (`strict`), so a typo
 * never silently falls back to a default. Environment variables map onto it by name:
 * `auth.sessionIdleMinutes` ← `VIGIL_AUTH_SESSION_IDLE_MINUTES` (see env.ts).
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

export const configSchema = z
  .object({
    /** Where Vigil keeps its SQLite database, keys and other state. */
    dataDir: z.string().min(1).default('./vigil-data'),
    server: z
      .object({
        /** Interface to listen on. Keep 127.0.0.1 unless TLS or a reverse proxy fronts Vigil. */
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        /** Trust X-Forwarded-* from these proxies (addresses or CIDRs); empty trusts none. */
        trustProxy: z.array(z.string()).default([]),
        /** Largest JSON body, in bytes. */
        bodyLimit: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /** TLS certificate and key files; when set, Vigil serves HTTPS and cookies are Secure. */
        tlsCertFile: z.string().optional(),
        tlsKeyFile: z.string().optional(),
        /** Milliseconds to finish in-flight requests on SIGTERM before closing. */
        shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /** `postgres://…` to use PostgreSQL; empty for SQLite under dataDir. Secret (may hold a password). */
        url: z.string().optional(),
        /** PostgreSQL pool size. */
        poolSize: z.number().int().min(1).max(200).default(10),
      })
      .strict()
      .prefault({}),
    bus: z
      .object({
        kind: z.enum(['memory', 'nats']).default('memory'),
        natsUrl: z.string().default('nats://127.0.0.1:4222'),
        /** Secret: NATS auth token, if the server needs one. */
        natsToken: z.string().optional(),
        /** JetStream stream that holds Vigil's events. */
        stream: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('VIGIL'),
        /** Memory bus: events queued per consumer group before publishers wait. */
        queueSize: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    keys: z
      .object({
        /** Key directory (0700, files 0600). Default: `<dataDir>/keys`. Keep it off the database's backups. */
        dir: z.string().optional(),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        sessionIdleMinutes: z.number().int().min(1).max(1440).default(30),
        sessionAbsoluteHours: z.number().int().min(1).max(168).default(12),
        passwordMinLength: z.number().int().min(8).max(256).default(12),
        /** Failed logins before each further attempt must wait (doubling from 1 s). */
        backoffAfter: z.number().int().min(1).max(100).default(3),
        /** Failed logins in a row that lock the account. */
        lockoutThreshold: z.number().int().min(2).max(100).default(10),
        lockoutMinutes: z.number().int().min(1).max(1440).default(15),
        /** Requests per minute per address on the login and MFA routes. */
        rateLimitPerMinute: z.number().int().min(1).max(10_000).default(30),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /** Days of events kept in the database for the console and investigations. */
        retentionDays: z.number().int().min(1).max(3650).default(30),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type VigilConfig = z.infer<typeof configSchema>;

/** Paths whose values are secrets: redacted in `vigil config print` and in logs. */
export const SECRET_PATHS: ReadonlySet<string> = new Set(['database.url', 'bus.natsToken']);
