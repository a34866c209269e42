import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVigilError, type VigilError } from '../../core/index.js';
import { configEnvNames, loadConfig, redactConfig, validateConfig } from './index.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** Runs `fn`, expects a CONFIG_INVALID VigilError and returns it. */
function configError(fn: () => unknown): VigilError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a configuration error').toBeDefined();
  expect(isVigilError(caught), `expected a VigilError, got ${String(caught)}`).toBe(true);
  const err = caught as VigilError;
  expect(err.code).toBe('CONFIG_INVALID');
  return err;
}

describe('loadConfig: defaults', () => {
  it('uses the documented defaults when there is no file, no VIGIL_* variable and no flag', () => {
    const config = loadConfig({ cwd: dir, env: {} });
    expect(config.server.port).toBe(8080);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.server.trustProxy).toEqual([]);
    expect(config.dataDir).toBe(path.join(dir, 'vigil-data'));
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(config.bus.kind).toBe('memory');
    expect(config.database.url).toBeUndefined();
    expect(config.log.level).toBe('info');
    expect(config.auth.sessionIdleMinutes).toBe(30);
    expect(config.keys.dir).toBeUndefined();
  });

  it('resolves a relative dataDir and keys.dir against the working directory', () => {
    const config = loadConfig({
      cwd: dir,
      env: {},
      overrides: { dataDir: 'state', keys: { dir: '../keys' } },
    });
    expect(config.dataDir).toBe(path.join(dir, 'state'));
    expect(config.keys.dir).toBe(path.resolve(dir, '../keys'));
  });
});

describe('loadConfig: files', () => {
  it('reads an explicit JSON file', () => {
    write(
      'conf/vigil.json',
      JSON.stringify({ server: { port: 9001, trustProxy: ['10.0.0.1'] }, log: { level: 'debug' } }),
    );
    const config = loadConfig({ cwd: dir, env: {}, file: 'conf/vigil.json' });
    expect(config.server.port).toBe(9001);
    expect(config.server.trustProxy).toEqual(['10.0.0.1']);
    expect(config.log.level).toBe('debug');
    // Keys the file does not name keep their defaults.
    expect(config.server.host).toBe('127.0.0.1');
  });

  it('reads an explicit YAML file given by absolute path', () => {
    const file = write(
      'settings.yaml',
      'server:\n  port: 9002\n  host: 0.0.0.0\nbus:\n  kind: nats\n  natsUrl: nats://broker:4222\n',
    );
    const config = loadConfig({ cwd: '/', env: {}, file });
    expect(config.server.port).toBe(9002);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.bus.kind).toBe('nats');
    expect(config.bus.natsUrl).toBe('nats://broker:4222');
  });

  it('finds vigil.config.json in the working directory without being told', () => {
    write('vigil.config.json', JSON.stringify({ server: { port: 9003 }, dataDir: 'here' }));
    const config = loadConfig({ cwd: dir, env: {} });
    expect(config.server.port).toBe(9003);
    expect(config.dataDir).toBe(path.join(dir, 'here'));
  });

  it('finds vigil.config.yaml in the working directory', () => {
    write('vigil.config.yaml', 'auth:\n  sessionIdleMinutes: 7\n');
    expect(loadConfig({ cwd: dir, env: {} }).auth.sessionIdleMinutes).toBe(7);
  });

  it('takes the file from VIGIL_CONFIG, and VIGIL_CONFIG itself is not an unknown variable', () => {
    write('other.yml', 'server:\n  port: 9004\n');
    const config = loadConfig({ cwd: dir, env: { VIGIL_CONFIG: 'other.yml' } });
    expect(config.server.port).toBe(9004);
  });

  it('treats an empty file as no settings', () => {
    write('empty.yaml', '');
    expect(loadConfig({ cwd: dir, env: {}, file: 'empty.yaml' }).server.port).toBe(8080);
  });
});

describe('loadConfig: precedence', () => {
  it('names the environment variable that set a bad value', () => {
    expect(configError(() => loadConfig({ cwd: dir, env: { VIGIL_SERVER_PORT: '-1' } })).message).toContain(
      'server.port (VIGIL_SERVER_PORT): Too small',
    );
    expect(configError(() => loadConfig({ cwd: dir, env: { VIGIL_PORT: '70000' } })).message).toContain(
      'server.port (VIGIL_PORT)',
    );
    // A flag that overrides the variable is not blamed on it.
    const flagged = configError(() =>
      loadConfig({ cwd: dir, env: { VIGIL_PORT: '8081' }, overrides: { server: { port: -5 } } }),
    );
    expect(flagged.message).toContain('server.port: Too small');
    expect(flagged.message).not.toContain('VIGIL_PORT');
  });

  it('environment wins over the file, flags win over the environment', () => {
    write(
      'vigil.config.json',
      JSON.stringify({ server: { port: 9100, host: '10.1.1.1' }, log: { level: 'debug' } }),
    );
    const fromEnv = loadConfig({ cwd: dir, env: { VIGIL_SERVER_PORT: '9200' } });
    expect(fromEnv.server.port).toBe(9200);
    // Siblings from the file survive the merge.
    expect(fromEnv.server.host).toBe('10.1.1.1');
    expect(fromEnv.log.level).toBe('debug');

    const fromFlags = loadConfig({
      cwd: dir,
      env: { VIGIL_SERVER_PORT: '9200' },
      overrides: { server: { port: 9300 } },
    });
    expect(fromFlags.server.port).toBe(9300);
    expect(fromFlags.server.host).toBe('10.1.1.1');
  });

  it('maps VIGIL_AUTH_SESSION_IDLE_MINUTES to auth.sessionIdleMinutes as a number', () => {
    const config = loadConfig({ cwd: dir, env: { VIGIL_AUTH_SESSION_IDLE_MINUTES: '5' } });
    expect(config.auth.sessionIdleMinutes).toBe(5);
    expect(configEnvNames()).toContainEqual({
      env: 'VIGIL_AUTH_SESSION_IDLE_MINUTES',
      key: 'auth.sessionIdleMinutes',
    });
  });

  it('splits a comma-separated list variable', () => {
    const config = loadConfig({ cwd: dir, env: { VIGIL_SERVER_TRUST_PROXY: 'a, b,,' } });
    expect(config.server.trustProxy).toEqual(['a', 'b']);
    expect(loadConfig({ cwd: dir, env: { VIGIL_SERVER_TRUST_PROXY: 'a,b' } }).server.trustProxy).toEqual([
      'a',
      'b',
    ]);
  });

  it('accepts the short aliases VIGIL_PORT and VIGIL_HOST', () => {
    const config = loadConfig({ cwd: dir, env: { VIGIL_PORT: '7070', VIGIL_HOST: '0.0.0.0' } });
    expect(config.server.port).toBe(7070);
    expect(config.server.host).toBe('0.0.0.0');
  });

  it('maps VIGIL_DATA_DIR, VIGIL_BUS_KIND and VIGIL_DATABASE_URL', () => {
    const config = loadConfig({
      cwd: dir,
      env: { VIGIL_DATA_DIR: 'd', VIGIL_BUS_KIND: 'nats', VIGIL_DATABASE_URL: 'postgresql://u@h/db' },
    });
    expect(config.dataDir).toBe(path.join(dir, 'd'));
    expect(config.bus.kind).toBe('nats');
    expect(config.database.url).toBe('postgresql://u@h/db');
  });

  it('an empty or non-numeric number variable is an error naming the variable', () => {
    const empty = configError(() => loadConfig({ cwd: dir, env: { VIGIL_SERVER_PORT: '' } }));
    expect(empty.message).toContain('VIGIL_SERVER_PORT');
    const text = configError(() => loadConfig({ cwd: dir, env: { VIGIL_SERVER_PORT: 'abc' } }));
    expect(text.message).toContain('VIGIL_SERVER_PORT (server.port): expected a number');
  });
});

describe('loadConfig: environment variables', () => {
  it('rejects an unknown VIGIL_* variable by name', () => {
    const err = configError(() =>
      loadConfig({ cwd: dir, env: { VIGIL_FOO: '1', VIGIL_SERVER_PORT: '9000' } }),
    );
    expect(err.message).toContain('VIGIL_FOO');
    expect(err.message).toContain('unknown environment variable');
  });

  it('ignores VIGIL_TEST_* variables, VIGIL_CONFIG and variables without the prefix', () => {
    const config = loadConfig({
      cwd: dir,
      env: { VIGIL_TEST_PG_URL: 'postgres://x', VIGIL_TEST_ANYTHING: 'y', PATH: '/usr/bin', VIGILANT: '1' },
    });
    expect(config.server.port).toBe(8080);
  });
});

describe('loadConfig: invalid settings name the key and the problem', () => {
  it('an unknown key in the file names its full path', () => {
    write('vigil.config.json', JSON.stringify({ server: { prot: 9000 } }));
    const err = configError(() => loadConfig({ cwd: dir, env: {} }));
    expect(err.message).toContain('server.prot: unknown key');
  });

  it('an unknown top-level key and an unknown nested key are both reported', () => {
    write('c.yaml', 'colour: blue\nauth:\n  sessionIdle: 5\n');
    const err = configError(() => loadConfig({ cwd: dir, env: {}, file: 'c.yaml' }));
    expect(err.message).toContain('colour: unknown key');
    expect(err.message).toContain('auth.sessionIdle: unknown key');
  });

  it('a negative port names server.port and says it is too small', () => {
    const err = configError(() => loadConfig({ cwd: dir, env: {}, overrides: { server: { port: -1 } } }));
    expect(err.message).toMatch(/server\.port: .*(small|>=\s*0)/i);
  });

  it('a string where a number belongs names the key and the expected type', () => {
    write('vigil.config.json', JSON.stringify({ server: { port: '8080' } }));
    const err = configError(() => loadConfig({ cwd: dir, env: {} }));
    expect(err.message).toMatch(/server\.port: .*expected number/);
  });

  it('an unknown enum value names the key and the allowed values', () => {
    const err = configError(() => loadConfig({ cwd: dir, env: { VIGIL_BUS_KIND: 'kafka' } }));
    expect(err.message).toContain('bus.kind');
    expect(err.message).toContain('memory');
    expect(err.message).toContain('nats');
  });

  it('reports several problems at once', () => {
    const err = configError(() =>
      validateConfig({ server: { port: 70000 }, auth: { sessionIdleMinutes: 0 }, log: { level: 'loud' } }),
    );
    expect(err.message).toContain('server.port');
    expect(err.message).toContain('auth.sessionIdleMinutes');
    expect(err.message).toContain('log.level');
  });

  it('rejects a database.url that is not postgres://', () => {
    const err = configError(() => loadConfig({ cwd: dir, env: { VIGIL_DATABASE_URL: 'mysql://u:p@h/db' } }));
    expect(err.message).toContain('database.url');
    expect(err.message).toContain('postgres://');
    // The rejected URL (it may hold a password) is not echoed.
    expect(err.message).not.toContain('u:p@h');
    expect(loadConfig({ cwd: dir, env: { VIGIL_DATABASE_URL: 'postgres://u@h/db' } }).database.url).toBe(
      'postgres://u@h/db',
    );
  });

  it('rejects a TLS certificate without its key (and the reverse)', () => {
    const certOnly = configError(() => validateConfig({ server: { tlsCertFile: '/etc/vigil/cert.pem' } }));
    expect(certOnly.message).toContain('server.tlsCertFile');
    expect(certOnly.message).toContain('set both or neither');
    configError(() => validateConfig({ server: { tlsKeyFile: '/etc/vigil/key.pem' } }));
    const both = validateConfig({ server: { tlsCertFile: '/c.pem', tlsKeyFile: '/k.pem' } });
    expect(both.server.tlsKeyFile).toBe('/k.pem');
  });
});

describe('loadConfig: unreadable files', () => {
  it('malformed JSON names the file and says JSON', () => {
    const file = write('vigil.config.json', '{"server": {"port": 80,}');
    const err = configError(() => loadConfig({ cwd: dir, env: {} }));
    expect(err.message).toContain(file);
    expect(err.message).toContain('not valid JSON');
  });

  it('malformed YAML names the file and says YAML, on one line', () => {
    const file = write('bad.yaml', 'server:\n  port: [1, 2\n  host: x\n');
    const err = configError(() => loadConfig({ cwd: dir, env: {}, file: 'bad.yaml' }));
    expect(err.message).toContain(file);
    expect(err.message).toContain('not valid YAML');
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('a file holding an array (or a scalar) is refused', () => {
    const file = write('list.json', '[{"server": {"port": 1}}]');
    const err = configError(() => loadConfig({ cwd: dir, env: {}, file: 'list.json' }));
    expect(err.message).toContain(file);
    expect(err.message).toContain('must hold an object');
    write('scalar.yaml', 'just a string\n');
    expect(configError(() => loadConfig({ cwd: dir, env: {}, file: 'scalar.yaml' })).message).toContain(
      'must hold an object',
    );
  });

  it('a file larger than 1 MiB is refused', () => {
    const file = write('huge.json', `{"dataDir": "${'x'.repeat(1024 * 1024 + 10)}"}`);
    const err = configError(() => loadConfig({ cwd: dir, env: {}, file: 'huge.json' }));
    expect(err.message).toContain(file);
    expect(err.message).toContain('1 MiB');
  });

  it('a file exactly 1 MiB long is still read', () => {
    const head = '{"dataDir": "';
    const tail = '"}';
    write('big.json', `${head}${'y'.repeat(1024 * 1024 - head.length - tail.length)}${tail}`);
    expect(loadConfig({ cwd: dir, env: {}, file: 'big.json' }).dataDir).toMatch(/y{1000}$/);
  });

  it.runIf(existsSync('/dev/zero'))('an endless file (/dev/zero) is refused without reading it whole', () => {
    const err = configError(() => loadConfig({ cwd: dir, env: {}, file: '/dev/zero' }));
    expect(err.message).toContain('/dev/zero');
    expect(err.message).toContain('1 MiB');
  });

  it('a directory given as the file is an error naming it', () => {
    mkdirSync(path.join(dir, 'conf.d'));
    const err = configError(() => loadConfig({ cwd: dir, env: {}, file: 'conf.d' }));
    expect(err.message).toContain(path.join(dir, 'conf.d'));
  });

  it('a missing explicit file is an error naming it (not a silent fallback to defaults)', () => {
    const err = configError(() => loadConfig({ cwd: dir, env: {}, file: 'missing.json' }));
    expect(err.message).toContain(path.join(dir, 'missing.json'));
    expect(err.message).toMatch(/cannot read/i);
  });
});

describe('loadConfig: hostile input', () => {
  afterEach(() => {
    // Clean up, should a failing test have polluted the prototype.
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  it('__proto__ keys in a JSON file do not pollute Object.prototype', () => {
    write(
      'vigil.config.json',
      '{"__proto__": {"polluted": "yes"}, "server": {"__proto__": {"polluted": "yes"}, "port": 9000}}',
    );
    let result: unknown;
    try {
      result = loadConfig({ cwd: dir, env: {} });
    } catch (err) {
      expect(isVigilError(err)).toBe(true);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    if (result) expect((result as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('__proto__ keys in a YAML file do not pollute Object.prototype', () => {
    write('vigil.config.yaml', '__proto__:\n  polluted: yes\nserver:\n  __proto__:\n    polluted: yes\n');
    try {
      loadConfig({ cwd: dir, env: {} });
    } catch (err) {
      expect(isVigilError(err)).toBe(true);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('__proto__ in the flags is dropped by the merge', () => {
    const overrides = JSON.parse('{"__proto__": {"polluted": "yes"}, "server": {"port": 9000}}') as Record<
      string,
      unknown
    >;
    const config = loadConfig({ cwd: dir, env: {}, overrides });
    expect(config.server.port).toBe(9000);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('the loaded configuration', () => {
  it('is deeply frozen: assigning throws in strict mode', () => {
    const config = loadConfig({ cwd: dir, env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.server.trustProxy)).toBe(true);
    expect(() => {
      (config as { dataDir: string }).dataDir = '/elsewhere';
    }).toThrow(TypeError);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.server.trustProxy as string[]).push('0.0.0.0/0');
    }).toThrow(TypeError);
    expect(config.server.port).toBe(8080);
    expect(config.server.trustProxy).toEqual([]);
  });

  it('does not share default arrays between two loads', () => {
    const a = loadConfig({ cwd: dir, env: {} });
    const b = loadConfig({ cwd: dir, env: { VIGIL_SERVER_TRUST_PROXY: '10.0.0.1' } });
    expect(a.server.trustProxy).toEqual([]);
    expect(b.server.trustProxy).toEqual(['10.0.0.1']);
  });

  it('redactConfig hides database.url and bus.natsToken and leaves everything else', () => {
    const config = loadConfig({
      cwd: dir,
      env: { VIGIL_DATABASE_URL: 'postgres://u:secret@h/db', VIGIL_BUS_NATS_TOKEN: 'nats-secret' },
    });
    const redacted = redactConfig(config);
    const text = JSON.stringify(redacted);
    expect(text).not.toContain('secret');
    expect(redacted.database).toEqual({ url: '[redacted]', poolSize: 10 });
    expect((redacted.bus as Record<string, unknown>).natsToken).toBe('[redacted]');
    expect((redacted.bus as Record<string, unknown>).natsUrl).toBe('nats://127.0.0.1:4222');
    expect(redacted.server).toEqual(config.server);
    expect(redacted.auth).toEqual(config.auth);
    expect(redacted.dataDir).toBe(config.dataDir);
    // The configuration itself is untouched.
    expect(config.database.url).toBe('postgres://u:secret@h/db');
  });

  it('redactConfig leaves unset secrets absent rather than inventing a placeholder', () => {
    const redacted = redactConfig(loadConfig({ cwd: dir, env: {} }));
    expect((redacted.database as Record<string, unknown>).url).toBeUndefined();
    expect((redacted.bus as Record<string, unknown>).natsToken).toBeUndefined();
  });
});
