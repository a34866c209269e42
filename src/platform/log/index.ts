/**
 * @module platform/log
 * Structured logs with pino. Secrets and bodies never reach a log line: request bodies are not
 * logged at all, and these paths are censored wherever they appear.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  'newPassword',
  'token',
  'secret',
  'code',
  '*.password',
  '*.newPassword',
  '*.token',
  '*.secret',
  '*.code',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'config.database.url',
  'config.bus.natsToken',
];

/**
 * What a request log line holds: method, path and id. The query string is dropped because search
 * parameters can carry PHI (a patient's name in a FHIR search); headers and bodies never appear.
 */
function requestSummary(req: { method?: string; url?: string; id?: string; ip?: string }) {
  return {
    method: req.method,
    path: typeof req.url === 'string' ? req.url.split('?')[0] : undefined,
    id: req.id,
    ip: req.ip,
  };
}

export interface LogOptions {
  level?: string;
  /** Where lines go (default stdout). Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'vigil' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { req: requestSummary },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/** A logger that writes nothing (tests, quiet CLI commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
