/**
 * @module platform/config/load
 * Loads the configuration: defaults ← config file (JSON or YAML) ← `VIGIL_*` environment ← command
 * line flags. Validated once and deep-frozen. Any problem throws a `VigilError('CONFIG_INVALID')`
 * whose message names each key and what is wrong with it.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { VigilError } from '../../core/index.js';
import { configEnvNames, envOverrides } from './env.js';
import { configSchema, SECRET_PATHS, type VigilConfig } from './schema.js';

export interface LoadConfigOptions {
  /** Explicit config file (`--config`); otherwise `vigil.config.json|yaml|yml` in the working directory. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: values from command-line flags (e.g. `{ server: { port: 9000 } }`). */
  overrides?: Record<string, unknown>;
  cwd?: string;
}

const DEFAULT_FILES = ['vigil.config.json', 'vigil.config.yaml', 'vigil.config.yml'];
const MAX_CONFIG_BYTES = 1024 * 1024;

export function loadConfig(options: LoadConfigOptions = {}): Readonly<VigilConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const fileName =
    options.file ?? env.VIGIL_CONFIG ?? DEFAULT_FILES.find((f) => existsSync(path.join(cwd, f)));
  const fromFile = fileName ? readConfigFile(path.resolve(cwd, fileName)) : {};
  const fromEnv = envOverrides(env);
  const merged = deepMerge(deepMerge(fromFile, fromEnv), options.overrides ?? {});
  // A bad value set by an environment variable is reported under the variable's name too.
  const envNames = new Map(
    configEnvNames()
      .filter(({ env: name }) => env[name] !== undefined)
      .map(({ env: name, key }) => [key, name]),
  );
  const origin = (key: string) =>
    hasPath(fromEnv, key) && !hasPath(options.overrides ?? {}, key) ? envNames.get(key) : undefined;
  return validateConfig(merged, cwd, origin);
}

function hasPath(obj: Record<string, unknown>, key: string): boolean {
  let node: unknown = obj;
  for (const part of key.split('.')) {
    if (!isPlainObject(node) || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

export function validateConfig(
  input: unknown,
  cwd = process.cwd(),
  origin: (key: string) => string | undefined = () => undefined,
): Readonly<VigilConfig> {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new VigilError(
      'CONFIG_INVALID',
      `Invalid configuration:\n${formatIssues(result.error.issues, origin)}`,
    );
  }
  const config = result.data;
  config.dataDir = path.resolve(cwd, config.dataDir);
  if (config.keys.dir) config.keys.dir = path.resolve(cwd, config.keys.dir);
  if (config.database.url && !/^postgres(ql)?:\/\//.test(config.database.url)) {
    throw new VigilError(
      'CONFIG_INVALID',
      'Invalid configuration:\n  - database.url: must be a postgres:// URL (leave it empty for SQLite under dataDir)',
    );
  }
  if (Boolean(config.server.tlsCertFile) !== Boolean(config.server.tlsKeyFile)) {
    throw new VigilError(
      'CONFIG_INVALID',
      'Invalid configuration:\n  - server.tlsCertFile/server.tlsKeyFile: set both or neither',
    );
  }
  return deepFreeze(config);
}

/** Reads at most MAX_CONFIG_BYTES + 1 bytes, so a huge file (or /dev/zero) is refused without being read whole. */
function readBounded(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const read = readSync(fd, buf, n, buf.length - n, null);
      if (read === 0) break;
      n += read;
      if (n > MAX_CONFIG_BYTES) throw new Error('larger than 1 MiB');
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readBounded(file).toString('utf8');
  } catch (err) {
    throw new VigilError('CONFIG_INVALID', `Cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new VigilError(
      'CONFIG_INVALID',
      `Config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new VigilError('CONFIG_INVALID', `Config file ${file} must hold an object of settings`);
  }
  return parsed as Record<string, unknown>;
}

export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  origin: (key: string) => string | undefined = () => undefined,
): string {
  return issues
    .map((issue) => {
      const key = issue.path.join('.');
      const from = key ? origin(key) : undefined;
      const where = `${key || '(root)'}${from ? ` (${from})` : ''}`;
      if (issue.code === 'unrecognized_keys') {
        const base = issue.path.length ? `${issue.path.join('.')}.` : '';
        return issue.keys.map((k) => `  - ${base}${k}: unknown key`).join('\n');
      }
      return `  - ${where}: ${issue.message}`;
    })
    .join('\n');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The configuration with secrets replaced by `"[redacted]"`, for printing. */
export function redactConfig(config: Readonly<VigilConfig>): Record<string, unknown> {
  const walk = (obj: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (SECRET_PATHS.has(p) && v !== undefined) out[k] = '[redacted]';
      else out[k] = isPlainObject(v) ? walk(v, p) : v;
    }
    return out;
  };
  return walk(config as unknown as Record<string, unknown>, '');
}
