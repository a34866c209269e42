import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVigilError } from '../../core/index.js';
import { FileKeyRing } from './file-keyring.js';
import type { KeyRing } from './keyring.js';

let base: string;
let keyDir: string;

beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), 'vigil-keys-'));
  keyDir = path.join(base, 'data', 'keys');
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const modeOf = (p: string) => statSync(p).mode & 0o777;

/** Runs `fn`, expects a VigilError and returns its message. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isVigilError(err), `expected a VigilError, got ${String(err)}`).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected the call to throw');
}

/** The sealed string with one byte of its ciphertext part flipped. */
function flipByte(sealed: string, index: number): string {
  const [v, kek, body] = sealed.split('.') as [string, string, string];
  const raw = Buffer.from(body, 'base64url');
  raw[index % raw.length]! ^= 0x01;
  return `${v}.${kek}.${raw.toString('base64url')}`;
}

describe('FileKeyRing: the key directory', () => {
  it('creates the directory (0700) with root.key and kek-0001.key (0600) on first open', () => {
    expect(existsSync(keyDir)).toBe(false);
    const ring = FileKeyRing.open(keyDir);
    expect(modeOf(keyDir)).toBe(0o700);
    expect(readdirSync(keyDir).sort()).toEqual(['kek-0001.key', 'root.key']);
    expect(modeOf(path.join(keyDir, 'root.key'))).toBe(0o600);
    expect(modeOf(path.join(keyDir, 'kek-0001.key'))).toBe(0o600);
    expect(ring.currentKekId()).toBe('0001');
    expect(ring.kekIds()).toEqual(['0001']);
    // Two different random keys, 32 bytes each.
    const root = Buffer.from(readFileSync(path.join(keyDir, 'root.key'), 'utf8').trim(), 'base64');
    const kek = Buffer.from(readFileSync(path.join(keyDir, 'kek-0001.key'), 'utf8').trim(), 'base64');
    expect(root).toHaveLength(32);
    expect(kek).toHaveLength(32);
    expect(root.equals(kek)).toBe(false);
  });

  it('tightens a key directory that others can enter', () => {
    FileKeyRing.open(keyDir);
    chmodSync(keyDir, 0o755);
    FileKeyRing.open(keyDir);
    expect(modeOf(keyDir)).toBe(0o700);
  });

  it('reopening loads the same keys: a value sealed before opens after, and no new key is written', () => {
    const first = FileKeyRing.open(keyDir);
    const sealed = first.seal(Buffer.from('patient 42 allergy: penicillin'), 'patient:42:allergy');
    const derived = first.deriveKey('csrf');
    const files = readdirSync(keyDir).sort();

    const second = FileKeyRing.open(keyDir);
    expect(second.open(sealed, 'patient:42:allergy').toString()).toBe('patient 42 allergy: penicillin');
    expect(second.deriveKey('csrf').equals(derived)).toBe(true);
    expect(second.currentKekId()).toBe('0001');
    expect(readdirSync(keyDir).sort()).toEqual(files);
  });
});

describe('FileKeyRing: seal and open', () => {
  let ring: KeyRing;
  beforeEach(() => {
    ring = FileKeyRing.open(keyDir);
  });

  it('round-trips binary, empty and large values', () => {
    const values = [Buffer.from([0, 1, 2, 255, 254]), Buffer.alloc(0), Buffer.alloc(256 * 1024, 7)];
    for (const value of values) {
      const sealed = ring.seal(value, 'row:1');
      expect(sealed).toMatch(/^v1\.0001\.[A-Za-z0-9_-]+$/);
      expect(ring.open(sealed, 'row:1').equals(value)).toBe(true);
    }
  });

  it('seals the same value differently each time (random IV) and never contains the plaintext', () => {
    const plaintext = Buffer.from('the same secret value');
    const a = ring.seal(plaintext, 'x');
    const b = ring.seal(plaintext, 'x');
    expect(a).not.toBe(b);
    expect(Buffer.from(a.split('.')[2]!, 'base64url').includes(plaintext)).toBe(false);
    expect(ring.open(a, 'x').equals(plaintext)).toBe(true);
    expect(ring.open(b, 'x').equals(plaintext)).toBe(true);
  });

  it('will not open a value under another aad: ciphertexts cannot be swapped between rows', () => {
    const sealedForAlice = ring.seal(Buffer.from('alice-mfa-secret'), 'users:alice:mfa');
    const message = failure(() => ring.open(sealedForAlice, 'users:bob:mfa'));
    expect(message).toMatch(/failed authentication/);
    expect(message).toMatch(/swapped|tampered/);
    // Still opens in its own place.
    expect(ring.open(sealedForAlice, 'users:alice:mfa').toString()).toBe('alice-mfa-secret');
  });

  it('detects a flipped byte anywhere: IV, ciphertext or tag', () => {
    const sealed = ring.seal(Buffer.from('vital signs'), 'obs:1');
    const length = Buffer.from(sealed.split('.')[2]!, 'base64url').length;
    for (const index of [0, 11, 12, 14, length - 16, length - 1]) {
      expect(failure(() => ring.open(flipByte(sealed, index), 'obs:1'))).toMatch(/failed authentication/);
    }
  });

  it('rejects truncated and garbled sealed strings with a clear message', () => {
    const sealed = ring.seal(Buffer.from('x'.repeat(40)), 'a');
    expect(failure(() => ring.open('v1.0001.AAAA', 'a'))).toMatch(/truncated/);
    expect(failure(() => ring.open('', 'a'))).toMatch(/unknown format/);
    expect(failure(() => ring.open('not a sealed value', 'a'))).toMatch(/unknown format/);
    expect(failure(() => ring.open(`v2.${sealed.slice(3)}`, 'a'))).toMatch(/unknown format/);
    expect(failure(() => ring.open(`${sealed}.extra`, 'a'))).toMatch(/unknown format/);
    expect(failure(() => ring.open(sealed.replace('.0001.', '.0042.'), 'a'))).toMatch(/Key 0042 is missing/);
    // Cut in the middle: the tag is now made of ciphertext bytes.
    expect(failure(() => ring.open(sealed.slice(0, sealed.length - 10), 'a'))).toMatch(
      /failed authentication/,
    );
  });
});

describe('FileKeyRing: rotation', () => {
  it('rotate() makes kek-0002 current; new seals use it and old seals still open, also after reopening', () => {
    const ring = FileKeyRing.open(keyDir);
    const old = ring.seal(Buffer.from('before'), 'r');
    expect(ring.kekIdOf(old)).toBe('0001');

    expect(ring.rotate()).toBe('0002');
    expect(ring.currentKekId()).toBe('0002');
    expect(ring.kekIds()).toEqual(['0001', '0002']);
    expect(modeOf(path.join(keyDir, 'kek-0002.key'))).toBe(0o600);

    const fresh = ring.seal(Buffer.from('after'), 'r');
    expect(ring.kekIdOf(fresh)).toBe('0002');
    expect(ring.open(old, 'r').toString()).toBe('before');
    expect(ring.open(fresh, 'r').toString()).toBe('after');

    const reopened = FileKeyRing.open(keyDir);
    expect(reopened.currentKekId()).toBe('0002');
    expect(reopened.open(old, 'r').toString()).toBe('before');
    expect(reopened.open(fresh, 'r').toString()).toBe('after');
    expect(reopened.kekIdOf(reopened.seal(Buffer.from('x'), 'r'))).toBe('0002');
  });

  it('kekIdOf returns undefined for something that is not a sealed value', () => {
    const ring = FileKeyRing.open(keyDir);
    expect(ring.kekIdOf('plain text')).toBeUndefined();
  });

  it('the root key (and so every derived key) does not change on rotation', () => {
    const ring = FileKeyRing.open(keyDir);
    const before = Buffer.from(ring.deriveKey('blind-index'));
    ring.rotate();
    expect(ring.deriveKey('blind-index').equals(before)).toBe(true);
    expect(FileKeyRing.open(keyDir).deriveKey('blind-index').equals(before)).toBe(true);
  });
});

describe('FileKeyRing: a rotation by another process', () => {
  it('seal picks up a KEK another process added, and open loads the KEK a value names', () => {
    const server = FileKeyRing.open(keyDir);
    const cli = FileKeyRing.open(keyDir);
    const before = server.seal(Buffer.from('a'), 'x');
    expect(cli.rotate()).toBe('0002');
    // The other process's value opens here although this ring never loaded 0002 itself.
    const byCli = cli.seal(Buffer.from('b'), 'x');
    const reader = FileKeyRing.open(keyDir);
    expect(server.kekIds()).toEqual(['0001']);
    expect(server.open(byCli, 'x').toString()).toBe('b');
    expect(server.kekIds()).toEqual(['0001', '0002']);
    // New seals here use the new KEK from the next call on.
    const third = FileKeyRing.open(keyDir);
    cli.rotate();
    expect(third.currentKekId()).toBe('0002');
    expect(third.kekIdOf(third.seal(Buffer.from('c'), 'x'))).toBe('0003');
    expect(third.currentKekId()).toBe('0003');
    expect(reader.open(before, 'x').toString()).toBe('a');
  });

  it('rotate() after another process rotated numbers after the newest on disk', () => {
    const a = FileKeyRing.open(keyDir);
    const b = FileKeyRing.open(keyDir);
    expect(a.rotate()).toBe('0002');
    expect(b.rotate()).toBe('0003');
    expect(a.refresh()).toBe('0003');
    expect(readdirSync(keyDir).filter((n) => n.startsWith('kek-'))).toHaveLength(3);
  });

  it('an unknown or malformed KEK id is refused with the usual message, touching nothing else', () => {
    const ring = FileKeyRing.open(keyDir);
    const sealed = ring.seal(Buffer.from('a'), 'x');
    const body = sealed.split('.')[2]!;
    expect(failure(() => ring.open(`v1.0042.${body}`, 'x'))).toMatch(/0042 is missing/);
    expect(failure(() => ring.open(`v1.../root.${body}`, 'x'))).toMatch(/unknown format|missing/);
    expect(failure(() => ring.open(`v1.root.${body}`, 'x'))).toMatch(/missing/);
    expect(ring.kekIds()).toEqual(['0001']);
  });
});

describe('FileKeyRing: derived keys', () => {
  it('is stable per purpose, differs across purposes and across key directories', () => {
    const ring = FileKeyRing.open(keyDir);
    const csrf = ring.deriveKey('csrf');
    const blind = ring.deriveKey('blind-index');
    expect(csrf).toHaveLength(32);
    expect(blind).toHaveLength(32);
    expect(ring.deriveKey('csrf').equals(csrf)).toBe(true);
    expect(csrf.equals(blind)).toBe(false);

    const other = FileKeyRing.open(path.join(base, 'other-keys'));
    expect(other.deriveKey('csrf').equals(csrf)).toBe(false);
    expect(other.deriveKey('blind-index').equals(blind)).toBe(false);
  });

  it('a value sealed under one key directory does not open under another', () => {
    const ring = FileKeyRing.open(keyDir);
    const other = FileKeyRing.open(path.join(base, 'other-keys'));
    const sealed = ring.seal(Buffer.from('x'), 'a');
    expect(failure(() => other.open(sealed, 'a'))).toMatch(/failed authentication/);
  });
});

describe('FileKeyRing: unsafe or damaged key files stop the start', () => {
  it('a key file others can read stops open with a message containing chmod 600', () => {
    FileKeyRing.open(keyDir);
    const kek = path.join(keyDir, 'kek-0001.key');
    chmodSync(kek, 0o644);
    const message = failure(() => FileKeyRing.open(keyDir));
    expect(message).toContain('chmod 600');
    expect(message).toContain(kek);
    expect(message).toContain('644');

    chmodSync(kek, 0o600);
    const root = path.join(keyDir, 'root.key');
    chmodSync(root, 0o640);
    expect(failure(() => FileKeyRing.open(keyDir))).toContain(`chmod 600 ${root}`);
    chmodSync(root, 0o600);
    expect(FileKeyRing.open(keyDir).currentKekId()).toBe('0001');
  });

  it('a key file of the wrong length is reported as damaged', () => {
    FileKeyRing.open(keyDir);
    const kek = path.join(keyDir, 'kek-0001.key');
    writeFileSync(kek, `${Buffer.alloc(16, 1).toString('base64')}\n`, { mode: 0o600 });
    const message = failure(() => FileKeyRing.open(keyDir));
    expect(message).toContain(kek);
    expect(message).toMatch(/damaged/);
  });

  it('an empty or garbled root key is reported as damaged', () => {
    FileKeyRing.open(keyDir);
    const root = path.join(keyDir, 'root.key');
    writeFileSync(root, '', { mode: 0o600 });
    expect(failure(() => FileKeyRing.open(keyDir))).toMatch(/root\.key is damaged/);
    writeFileSync(root, 'this is not base64 at all!!\n', { mode: 0o600 });
    expect(failure(() => FileKeyRing.open(keyDir))).toMatch(/root\.key is damaged/);
  });
});
