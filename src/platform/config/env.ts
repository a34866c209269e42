/**
 * @module platform/config/env
 * Maps `VIGIL_*` environment variables onto configuration keys. The variable name is the key path
 * in upper snake case: `server.port` ← `VIGIL_SERVER_PORT`, `auth.sessionIdleMinutes` ←
 * `VIGIL_AUTH_SESSION_IDLE_MINUTES`. Short aliases: `VIGIL_PORT`, `VIGIL_HOST`. Values are coerced
 * by the schema's leaf type (numbers, booleans, comma-separated lists). An unknown `VIGIL_*`
 * variable is an error, except `VIGIL_CONFIG` (the file) and `VIGIL_TEST_*` (test settings).
 */
import { z } from 'zod';
import { VigilError } from '../../core/index.js';
import { configSchema } from './schema.js';

type Leaf = 'string' | 'number' | 'boolean' | 'array' | 'enum';

const ALIASES: Record<string, string> = { VIGIL_PORT: 'server.port', VIGIL_HOST: 'server.host' };
const IGNORED = (name: string) => name === 'VIGIL_CONFIG' || name.startsWith('VIGIL_TEST_');

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType };
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'prefault') && def.innerType) {
      s = def.innerType;
    } else return s;
  }
}

function leaves(schema: z.core.$ZodType, prefix: string[], out: Map<string, { path: string[]; leaf: Leaf }>) {
  const s = unwrap(schema);
  const type = (s._zod.def as { type: string }).type;
  if (s instanceof z.ZodObject) {
    for (const [k, child] of Object.entries(s.shape)) leaves(child as z.core.$ZodType, [...prefix, k], out);
    return;
  }
  // A list of objects (access.applications) is set in the config file only.
  const element = (s._zod.def as { element?: z.core.$ZodType }).element;
  if (type === 'array' && element && unwrap(element) instanceof z.ZodObject) return;
  const leaf: Leaf =
    type === 'number'
      ? 'number'
      : type === 'boolean'
        ? 'boolean'
        : type === 'array'
          ? 'array'
          : type === 'enum'
            ? 'enum'
            : 'string';
  const name = `VIGIL_${prefix.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
  out.set(name, { path: prefix, leaf });
}

const ENV_KEYS = (() => {
  const m = new Map<string, { path: string[]; leaf: Leaf }>();
  leaves(configSchema, [], m);
  for (const [alias, target] of Object.entries(ALIASES)) {
    const found = [...m.values()].find((v) => v.path.join('.') === target);
    if (found) m.set(alias, found);
  }
  return m;
})();

/** Every environment variable the configuration understands, for documentation. */
export function configEnvNames(): Array<{ env: string; key: string }> {
  return [...ENV_KEYS.entries()].map(([env, v]) => ({ env, key: v.path.join('.') }));
}

export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('VIGIL_') || raw === undefined || IGNORED(name)) continue;
    const spec = ENV_KEYS.get(name);
    if (!spec) {
      problems.push(`  - ${name}: unknown environment variable (no configuration key of that name)`);
      continue;
    }
    let value: unknown = raw;
    if (spec.leaf === 'number') {
      value = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(value as number)) {
        problems.push(
          `  - ${name} (${spec.path.join('.')}): expected a number, got ${JSON.stringify(raw.slice(0, 40))}`,
        );
        continue;
      }
    } else if (spec.leaf === 'boolean') {
      if (!/^(true|false|1|0)$/i.test(raw)) {
        problems.push(`  - ${name} (${spec.path.join('.')}): expected true or false`);
        continue;
      }
      value = /^(true|1)$/i.test(raw);
    } else if (spec.leaf === 'array') {
      value = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    }
    let node = out;
    for (const key of spec.path.slice(0, -1)) {
      node[key] = (node[key] as Record<string, unknown> | undefined) ?? {};
      node = node[key] as Record<string, unknown>;
    }
    node[spec.path[spec.path.length - 1]!] = value;
  }
  if (problems.length) throw new VigilError('CONFIG_INVALID', `Invalid environment:\n${problems.join('\n')}`);
  return out;
}
