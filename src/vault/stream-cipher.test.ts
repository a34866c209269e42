import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DecryptStream, EncryptStream } from './stream-cipher.js';

const key = randomBytes(32);
const binding = 'Binary|b1|1';

async function collect(
  input: Buffer,
  transform: EncryptStream | DecryptStream,
  pieces = 7000,
): Promise<Buffer> {
  const out: Buffer[] = [];
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += pieces) parts.push(input.subarray(i, i + pieces));
  await pipeline(
    Readable.from(parts),
    transform,
    new Writable({
      write(chunk: Buffer, _e, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

const encrypt = (plain: Buffer, chunkSize = 1024) =>
  collect(plain, new EncryptStream({ dataKey: key, binding, chunkSize }));
const decrypt = (ct: Buffer, b = binding, k = key) =>
  collect(ct, new DecryptStream({ dataKey: k, binding: b }), 3001);

describe('stream cipher', () => {
  it('round-trips empty, exact-multiple and odd sizes, and reports SHA-256 and size both ways', async () => {
    for (const size of [0, 1, 1023, 1024, 1025, 4096, 10_000]) {
      const plain = randomBytes(size);
      const enc = new EncryptStream({ dataKey: key, binding, chunkSize: 1024 });
      const ct = await collect(plain, enc);
      const sha = createHash('sha256').update(plain).digest('hex');
      expect(await enc.digest()).toEqual({ sha256: sha, bytes: size });
      expect(ct.length).toBe(32 + Math.max(1, Math.ceil(size / 1024)) * 16 + size);
      const dec = new DecryptStream({ dataKey: key, binding, expectedSha256: sha });
      expect((await collect(ct, dec, 777)).equals(plain)).toBe(true);
      expect(await dec.digest()).toEqual({ sha256: sha, bytes: size });
    }
  });

  it('never contains the plaintext and differs each time', async () => {
    const plain = Buffer.from('PATIENT-SECRET '.repeat(200));
    const a = await encrypt(plain);
    const b = await encrypt(plain);
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from('PATIENT-SECRET'))).toBe(false);
  });

  it('detects truncation at a frame boundary, mid-frame, and of the header', async () => {
    const ct = await encrypt(randomBytes(5000));
    const frame = 1024 + 16;
    await expect(decrypt(ct.subarray(0, 32 + 2 * frame))).rejects.toThrow(/failed authentication/);
    await expect(decrypt(ct.subarray(0, ct.length - 5))).rejects.toThrow(/failed authentication/);
    await expect(decrypt(ct.subarray(0, 20))).rejects.toThrow(/truncated/);
    await expect(decrypt(ct.subarray(0, 32))).rejects.toThrow(/truncated/);
  });

  it('detects reordered frames, appended frames, flipped bytes, a wrong binding or key', async () => {
    const ct = await encrypt(randomBytes(5000));
    const frame = 1024 + 16;
    const f = (i: number) => ct.subarray(32 + i * frame, 32 + (i + 1) * frame);
    const swapped = Buffer.concat([ct.subarray(0, 32), f(1), f(0), ct.subarray(32 + 2 * frame)]);
    await expect(decrypt(swapped)).rejects.toThrow(/failed authentication/);
    await expect(decrypt(Buffer.concat([ct, f(0)]))).rejects.toThrow(/failed authentication/);
    for (const at of [10, 40, ct.length - 1]) {
      const bad = Buffer.from(ct);
      bad[at]! ^= 1;
      await expect(decrypt(bad)).rejects.toThrow(/Encrypted binary/);
    }
    await expect(decrypt(ct, 'Binary|b2|1')).rejects.toThrow(/failed authentication/);
    await expect(decrypt(ct, binding, randomBytes(32))).rejects.toThrow(/failed authentication/);
  });

  it('fails on a SHA-256 mismatch and on hostile headers', async () => {
    const ct = await encrypt(Buffer.from('abc'));
    await expect(
      collect(ct, new DecryptStream({ dataKey: key, binding, expectedSha256: '0'.repeat(64) })),
    ).rejects.toThrow(/SHA-256/);
    const huge = Buffer.from(ct);
    huge.writeUInt32BE(0xffffffff, 4);
    await expect(decrypt(huge)).rejects.toThrow(/chunk size/);
    await expect(decrypt(Buffer.alloc(64))).rejects.toThrow(/unknown format/);
  });

  it('keeps memory flat: 64 MiB streams through without buffering it', async () => {
    const total = 64 * 1024 * 1024;
    const piece = randomBytes(256 * 1024);
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) this.push(null);
        else {
          produced += piece.length;
          this.push(piece);
        }
      },
    });
    const enc = new EncryptStream({ dataKey: key, binding });
    const dec = new DecryptStream({ dataKey: key, binding });
    let seen = 0;
    let maxBuffered = 0;
    await pipeline(
      source,
      enc,
      dec,
      new Writable({
        write(chunk: Buffer, _e, done) {
          seen += chunk.length;
          maxBuffered = Math.max(maxBuffered, enc.readableLength + dec.readableLength + dec.writableLength);
          done();
        },
      }),
    );
    expect(seen).toBe(total);
    expect((await enc.digest()).sha256).toBe((await dec.digest()).sha256);
    // What waits inside the transforms stays a few frames, never the object.
    expect(maxBuffered).toBeLessThan(4 * 1024 * 1024);
  });
});
