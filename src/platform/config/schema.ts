/**
 * @module platform/config/schema
 * The one configuration schema, with every default. Unknown keys are errors (`strict`), so a typo
 * never silently falls back to a default. Environment variables map onto it by name:
 * `auth.sessionIdleMinutes` ← `VIGIL_AUTH_SESSION_IDLE_MINUTES` (see env.ts).
 */
import { z } from 'zod';
import { ROLES } from '../../core/index.js';

const port = z.number().int().min(0).max(65535);

/** Alert outputs: a name (used in logs, the API and the derived webhook key), a level, retries. */
const outputName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _');
const alertLevel = z.enum(['informational', 'low', 'medium', 'high', 'critical']);
const secretEnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
  .refine((n) => !n.startsWith('VIGIL_'), 'VIGIL_ names are configuration keys; choose another name');
const outputDelivery = {
  /** Attempts per delivery (the first included), with exponential backoff from retryBaseMs. */
  maxAttempts: z.number().int().min(1).max(20).default(6),
  retryBaseMs: z.number().int().min(10).max(600_000).default(1000),
  /** Deliveries waiting at most; when full the oldest is dropped (and counted). */
  queueSize: z.number().int().min(1).max(100_000).default(1000),
};

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
    access: z
      .object({
        /**
         * Applications the reverse proxy protects: a request's host and path select the first that
         * matches. A request that matches none is denied.
         */
        applications: z
          .array(
            z
              .object({
                name: z.string().min(1).max(100),
                /** Host as the proxy forwards it (`X-Forwarded-Host`), lower case, optional `:port`. */
                host: z.string().min(1).max(253),
                pathPrefix: z.string().startsWith('/').default('/'),
                /** Roles allowed in; `any` admits every signed-in role. */
                roles: z.union([z.literal('any'), z.array(z.enum(ROLES)).min(1)]).default('any'),
                /** Risk (0-100) from which MFA is asked again, and from which access is denied. */
                stepUpRisk: z.number().int().min(0).max(100).default(40),
                denyRisk: z.number().int().min(1).max(101).default(80),
                /** Hours of the day (24 h, local time of the server) the application may be used. */
                allowedHours: z
                  .object({
                    start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
                    end: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/),
                    /** ISO weekdays, 1 = Monday. */
                    days: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5, 6, 7]),
                  })
                  .strict()
                  .optional(),
                /** Network zones allowed; default all. */
                zones: z
                  .array(z.enum(['lan', 'vpn', 'partner', 'internet']))
                  .min(1)
                  .optional(),
              })
              .strict(),
          )
          .default([]),
        /** Address ranges (CIDR) of the hospital's networks; everything else is `internet`. */
        zones: z
          .object({
            lan: z.array(z.string()).default([]),
            vpn: z.array(z.string()).default([]),
            partner: z.array(z.string()).default([]),
          })
          .strict()
          .prefault({}),
        /** Proxies whose `X-Forwarded-For` is believed (addresses or CIDRs); others' is ignored. */
        trustedProxies: z.array(z.string()).default(['127.0.0.1', '::1']),
        /** Public base URL of the portal (`https://apps.hospital.org/access`); default: same origin. */
        portalUrl: z.string().url().optional(),
        /** Minutes a step-up MFA check stays valid for the session. */
        stepUpValidMinutes: z.number().int().min(1).max(1440).default(15),
        /** Days a recognised-device cookie lives. */
        deviceCookieDays: z.number().int().min(1).max(730).default(180),
        /** Speed (km/h) between two sign-ins above which travel is impossible. */
        impossibleTravelKmh: z.number().int().min(100).max(20_000).default(900),
        /**
         * The hospital's own MaxMind-format databases (GeoIP2/GeoLite2 City, Country, ASN). City
         * gives coordinates (impossible travel); ASN the network operator.
         */
        geoipCityFile: z.string().optional(),
        geoipCountryFile: z.string().optional(),
        geoipAsnFile: z.string().optional(),
        /** Use the country database of the npm data package when no file answers (country only). */
        geoipDefaultData: z.boolean().default(true),
        /** Files of addresses/CIDRs to deny (one per line, `#` comments), e.g. a Tor exit list. */
        blocklistFiles: z.array(z.string()).default([]),
        /** Blocklists `vigil access update-lists` downloads; the gateway reloads them without a restart. */
        lists: z
          .object({
            /** The Tor Project's list of exit addresses; empty: not downloaded. */
            torExitUrl: z.string().default('https://check.torproject.org/torbulkexitlist'),
            /** Further lists: a name (the file `<name>.txt`) and an http(s) URL. */
            sources: z
              .array(
                z
                  .object({
                    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/),
                    url: z.string().url(),
                  })
                  .strict(),
              )
              .default([]),
            /** Where downloaded lists are kept; default `<dataDir>/access-lists`. */
            dir: z.string().optional(),
            /** Seconds between the gateway's checks of the list files for changes (0: at start only). */
            reloadSeconds: z.number().int().min(0).max(86_400).default(30),
            /** Seconds one download may take. */
            timeoutSeconds: z.number().int().min(1).max(600).default(30),
            /** Largest list accepted, in bytes. */
            maxBytes: z.number().int().min(1024).max(1_073_741_824).default(50_000_000),
          })
          .strict()
          .prefault({}),
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
    /**
     * Detection alerts: deduplication, evidence kept, and where new alerts are sent. Output
     * secrets (webhook keys, SMTP passwords) are never written here: name a file or an environment
     * variable that holds them (see the README, "Alert outputs").
     */
    alerts: z
      .object({
        /** Occurrences of one rule on one entity within this many minutes join one alert (0: never). */
        dedupWindowMinutes: z
          .number()
          .int()
          .min(0)
          .max(7 * 24 * 60)
          .default(60),
        /** Events kept as evidence per alert (the first ones). */
        evidenceEvents: z.number().int().min(1).max(100).default(10),
        /** Largest size of one kept event, in bytes (longer strings are cut first). */
        evidenceEventBytes: z.number().int().min(256).max(65_536).default(4096),
        /** Signed webhooks (HMAC-SHA256 of the body in `X-Vigil-Signature`). */
        webhooks: z
          .array(
            z
              .object({
                name: outputName,
                url: z
                  .string()
                  .url()
                  .regex(/^https?:\/\//, 'an http(s) URL'),
                /** File holding the HMAC key; else `secretEnv`; else a key derived from the key ring. */
                secretFile: z.string().min(1).optional(),
                /** Environment variable holding the HMAC key (not a `VIGIL_` name). */
                secretEnv: secretEnvName.optional(),
                minLevel: alertLevel.default('low'),
                timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
                ...outputDelivery,
              })
              .strict(),
          )
          .default([]),
        /** Syslog receivers: RFC 5424 with a CEF payload over UDP, TCP or TLS (octet counting). */
        syslog: z
          .array(
            z
              .object({
                name: outputName,
                host: z.string().min(1).max(253),
                /** Default 514 (UDP, TCP) or 6514 (TLS). */
                port: port.min(1).optional(),
                transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
                /** Syslog facility 0-23 (4 security/auth, 10 authpriv, 13 log audit, 16-23 local0-7). */
                facility: z.number().int().min(0).max(23).default(4),
                /** HOSTNAME in the header; default this machine's name. */
                hostname: z.string().min(1).max(255).optional(),
                appName: z.string().min(1).max(48).default('vigil'),
                /** TLS: CA certificates to trust (PEM file); default the system's. */
                caFile: z.string().min(1).optional(),
                /** TLS: client certificate and key (PEM files) for mutual TLS. */
                certFile: z.string().min(1).optional(),
                keyFile: z.string().min(1).optional(),
                verifyTls: z.boolean().default(true),
                minLevel: alertLevel.default('low'),
                timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
                ...outputDelivery,
              })
              .strict(),
          )
          .default([]),
        /** Email recipients of new alerts, through an SMTP server. */
        email: z
          .array(
            z
              .object({
                name: outputName,
                host: z.string().min(1).max(253),
                port: port.min(1).default(587),
                security: z.enum(['tls', 'starttls', 'none']).default('starttls'),
                username: z.string().min(1).max(320).optional(),
                /** File, or environment variable (not a `VIGIL_` name), holding the SMTP password. */
                passwordFile: z.string().min(1).optional(),
                passwordEnv: secretEnvName.optional(),
                verifyTls: z.boolean().default(true),
                from: z.string().min(3).max(320),
                to: z.array(z.string().email()).min(1).max(50),
                minLevel: alertLevel.default('high'),
                /** Console base URL for a link to the alert in the message. */
                consoleUrl: z.string().url().optional(),
                ...outputDelivery,
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .superRefine((a, ctx) => {
        const seen = new Set<string>();
        for (const o of [...a.webhooks, ...a.syslog, ...a.email]) {
          if (seen.has(o.name))
            ctx.addIssue({ code: 'custom', message: `output name ${o.name} is used twice` });
          seen.add(o.name);
        }
      })
      .prefault({}),
    /** The device inventory. */
    devices: z
      .object({
        /**
         * A YAML file of extra classification rules (same schema as content/devices/classification.yml);
         * its rules come before the shipped ones. A bad file stops start-up with its line and reason.
         */
        classificationFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** Device behaviour baselines (peers, ports, protocols, hourly volume per device). */
    baselines: z
      .object({
        /** Days a device learns from its traffic (from first sight or a reset) before anomalies are raised. */
        learningDays: z.number().min(0.01).max(365).default(7),
        /** Peers remembered per device; a device with more while learning raises no new-peer alerts. */
        maxPeers: z.number().int().min(1).max(10_000).default(256),
        /** Ports remembered per device (used and served); same rule as peers. */
        maxPorts: z.number().int().min(1).max(10_000).default(64),
        /** Width of the normal hourly volume, in scaled MADs either side of the median. */
        tolerance: z.number().min(1).max(100).default(5),
      })
      .strict()
      .prefault({}),
    awareness: z
      .object({
        /**
         * The report mailbox: an inbound SMTP endpoint that the hospital's mail relay forwards the
         * "report phishing" address to; a forwarded simulation counts as reported. Off by default.
         */
        reportMailbox: z
          .object({
            enabled: z.boolean().default(false),
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number().int().min(0).max(65_535).default(2525),
            /** Largest forwarded message accepted, in bytes. */
            maxBytes: z
              .number()
              .int()
              .min(1024)
              .max(50 * 1024 * 1024)
              .default(10 * 1024 * 1024),
            /** Recipient addresses accepted; empty accepts any (the relay decides). */
            recipients: z.array(z.string().min(3).max(254)).max(50).default([]),
            /** TLS certificate and key files (PEM); when both are set the mailbox offers STARTTLS. */
            tlsCertFile: z.string().min(1).optional(),
            tlsKeyFile: z.string().min(1).optional(),
          })
          .strict()
          .refine((m) => Boolean(m.tlsCertFile) === Boolean(m.tlsKeyFile), {
            message: 'tlsCertFile and tlsKeyFile: set both or neither',
          })
          .prefault({}),
        /** Phishing campaigns' SMTP connections: one pool per sending profile while a campaign sends. */
        sending: z
          .object({
            /** Connections open at once per sending profile. */
            maxConnections: z.number().int().min(1).max(50).default(5),
            /** Messages sent on one connection before it is replaced by a fresh one. */
            maxMessagesPerConnection: z.number().int().min(1).max(10_000).default(100),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    vault: z
      .object({
        /**
         * Sign an audit checkpoint every N audit entries (0: never). Smaller bounds how many of the
         * newest entries could be cut off unnoticed; each checkpoint is one Ed25519 signature.
         */
        auditCheckpointEvery: z.number().int().min(0).max(1_000_000).default(1000),
        /**
         * How many days after a finished Encounter its participants keep a care relationship with
         * the patient (open Encounters always give one).
         */
        careWindowDays: z.number().int().min(0).max(3650).default(30),
        /** How long a break-the-glass grant lasts, in minutes. */
        breakGlassMinutes: z
          .number()
          .int()
          .min(5)
          .max(24 * 60)
          .default(60),
        /** Files (FHIR Binary) uploaded to the vault: streamed, encrypted, never held whole in memory. */
        upload: z
          .object({
            /** Largest file, in bytes (default 50 MiB); a larger upload is refused with 413 as it arrives. */
            maxBytes: z
              .number()
              .int()
              .min(1024)
              .max(4 * 1024 * 1024 * 1024)
              .default(50 * 1024 * 1024),
            /** Media types accepted (lower case `type/subtype`); anything else is refused with 415. */
            contentTypes: z
              .array(
                z
                  .string()
                  .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/)
                  .refine(
                    (t) =>
                      !/^application\/([a-z0-9.+-]*\+)?json$|^application\/x-www-form-urlencoded$/.test(t),
                    {
                      message: 'JSON and form bodies are not files',
                    },
                  ),
              )
              .min(1)
              .default(['application/pdf', 'image/png', 'image/jpeg', 'text/plain', 'application/dicom']),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type VigilConfig = z.infer<typeof configSchema>;

/** Paths whose values are secrets: redacted in `vigil config print` and in logs. */
export const SECRET_PATHS: ReadonlySet<string> = new Set(['database.url', 'bus.natsToken']);
