/**
 * @module core/ids
 * Identifiers. `newId` is a UUIDv7 (time-ordered, so indexes stay compact and ids sort by creation).
 */
import { randomBytes, randomUUID } from 'node:crypto';

// Random bytes are drawn 4 KiB at a time: one call to the CSPRNG per 256 ids instead of one per id
// (ids are made for every event and decision, on hot paths).
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolAt = POOL_BYTES;

function random16(): Buffer {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  return out;
}

/** The last millisecond and the 12-bit counter within it (RFC 9562 §6.2, method 1). */
let lastMs = -1;
let seq = 0;

/**
 * A UUIDv7. Ids made in this process are strictly increasing, even within one millisecond (a
 * 12-bit counter in `rand_a`; when it runs out the timestamp moves on by a millisecond), so "newest
 * first" by (time, id) is exact.
 */
export function newId(now: number = Date.now()): string {
  const bytes = random16();
  let ms: number;
  let counter: number;
  if (now > lastMs) {
    lastMs = now;
    seq = bytes.readUInt16BE(6) & 0x7ff; // a random start with room to count up
    [ms, counter] = [lastMs, seq];
  } else if (lastMs - now < 1000) {
    if (++seq > 0xfff) {
      lastMs += 1;
      seq = 0;
    }
    [ms, counter] = [lastMs, seq];
  } else {
    // An id for a past moment (an event read from an old log): its own time, a random counter.
    [ms, counter] = [now, bytes.readUInt16BE(6) & 0xfff];
  }
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An unguessable token of `bytes` random bytes, base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export { randomUUID };
