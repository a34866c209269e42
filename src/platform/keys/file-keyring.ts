/**
 * @module platform/keys/file-keyring
 * The default `KeyRing`: keys in a directory outside the database (0700; each file 0600), created
 * on first start. A key-encryption key (KEK) per version (`kek-0001.key`, …; the highest is
 * current) and one root secret (`root.key`) from which purpose-bound keys are derived with HKDF.
 * A key file that others can read stops start-up, as ssh does: a leaked key directory is a leaked
 * vault.
 *
 * Several processes share one key directory (a server, `vigil worker`s, the CLI). When one of them
 * rotates (`vigil keys rotate`), the others pick the new KEK up without a restart: `seal` checks
 * for the next version's file (one `stat`) and loads it, so new seals use it within one call;
 * `open` of a value sealed under a KEK this process has not loaded yet looks for that one file
 * (the id is four digits, so the look-up is one `stat` in this directory, nothing else) and loads
 * the directory when it is there. A KEK is never removed while a process runs.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { VigilError } from '../../core/index.js';
import type { KeyRing } from './keyring.js';

const KEK_RE = /^kek-(\d{4})\.key$/;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class FileKeyRing implements KeyRing {
  readonly #dir: string;
  readonly #keks = new Map<string, Buffer>();
  readonly #derived = new Map<string, Buffer>();
  #root: Buffer;
  #current = '';

  private constructor(dir: string) {
    this.#dir = dir;
    this.#root = Buffer.alloc(0);
  }

  /** Opens the key directory, creating it and the first keys when it is empty. */
  static open(dir: string): FileKeyRing {
    const ring = new FileKeyRing(dir);
    ring.#load();
    return ring;
  }

  #load(): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const dirMode = statSync(this.#dir).mode & 0o777;
    if (dirMode & 0o077) chmodSync(this.#dir, 0o700);
    const rootFile = path.join(this.#dir, 'root.key');
    if (!existsSync(rootFile)) writeKeyFile(rootFile, randomBytes(KEY_BYTES));
    this.#root = readKeyFile(rootFile);
    for (const name of readdirSync(this.#dir)) {
      const m = KEK_RE.exec(name);
      if (m) this.#keks.set(m[1]!, readKeyFile(path.join(this.#dir, name)));
    }
    if (this.#keks.size === 0) this.rotate();
    else this.#current = [...this.#keks.keys()].sort().at(-1)!;
  }

  currentKekId(): string {
    return this.#current;
  }

  kekIds(): string[] {
    return [...this.#keks.keys()].sort();
  }

  refresh(): string {
    for (const name of readdirSync(this.#dir)) {
      const m = KEK_RE.exec(name);
      if (m && !this.#keks.has(m[1]!)) this.#keks.set(m[1]!, readKeyFile(path.join(this.#dir, name)));
    }
    const newest = this.kekIds().at(-1);
    if (newest !== undefined && newest > this.#current) this.#current = newest;
    return this.#current;
  }

  /** Whether another process has added the KEK after the current one (one `stat`). */
  #newerOnDisk(): boolean {
    const next = String(Number(this.#current) + 1).padStart(4, '0');
    return existsSync(path.join(this.#dir, `kek-${next}.key`));
  }

  rotate(): string {
    // Another process may have rotated since this ring was opened: number after the newest on disk.
    this.refresh();
    const next = String(this.#keks.size === 0 ? 1 : Number(this.kekIds().at(-1)) + 1).padStart(4, '0');
    const file = path.join(this.#dir, `kek-${next}.key`);
    writeKeyFile(file, randomBytes(KEY_BYTES));
    // Read back: if another process created this version at the same moment, its key is the one.
    this.#keks.set(next, readKeyFile(file));
    this.#current = next;
    return next;
  }

  seal(plaintext: Buffer, aad: string): string {
    if (this.#newerOnDisk()) this.refresh();
    const kek = this.#keks.get(this.#current)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', kek, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return `v1.${this.#current}.${Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url')}`;
  }

  open(sealed: string, aad: string): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 3 || parts[0] !== 'v1')
      throw new VigilError('INTERNAL', 'Sealed value has an unknown format');
    let kek = this.#keks.get(parts[1]!);
    // Sealed under a KEK another process added since: load it (only a well-formed id is looked up).
    if (!kek && /^\d{4}$/.test(parts[1]!) && existsSync(path.join(this.#dir, `kek-${parts[1]}.key`))) {
      this.refresh();
      kek = this.#keks.get(parts[1]!);
    }
    if (!kek) throw new VigilError('INTERNAL', `Key ${parts[1]} is missing from the key directory`);
    const raw = Buffer.from(parts[2]!, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new VigilError('INTERNAL', 'Sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new VigilError('INTERNAL', 'Sealed value failed authentication (tampered, swapped or wrong key)');
    }
  }

  kekIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 3 ? parts[1] : undefined;
  }

  deriveKey(purpose: string): Buffer {
    let key = this.#derived.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.#root, Buffer.alloc(0), `vigil:${purpose}`, KEY_BYTES));
      this.#derived.set(purpose, key);
    }
    return Buffer.from(key); // a copy: a caller that changes it cannot corrupt the key
  }
}

/**
 * Writes a key atomically: a temporary file, then a hard link to the final name, which fails if
 * the name exists. Two processes starting at once on an empty directory never see a half-written
 * key; the loser of the race reads the winner's key.
 */
function writeKeyFile(file: string, key: Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function readKeyFile(file: string): Buffer {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new VigilError(
      'CONFIG_INVALID',
      `Key file ${file} is readable by others (mode ${mode.toString(8)}). Run: chmod 600 ${file}`,
    );
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES)
    throw new VigilError('CONFIG_INVALID', `Key file ${file} is damaged (expected 32 bytes)`);
  return key;
}
