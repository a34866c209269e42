/**
 * @module access/device
 * The long-lived device cookie that recognises a returning device: `v1.<deviceId>.<issuedAt>.<mac>`,
 * an HMAC-SHA256 under the key derived for `access-device`. A tampered, truncated or expired cookie
 * is a reason in the decision record (and the device counts as unrecognised), never a crash.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const MAX_LEN = 200;
/** Cookies whose signature was verified, remembered so a session's every request needs no HMAC. */
const VERIFIED_MAX = 20_000;
const RE = /^v1\.([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export type DeviceCookieCheck = { ok: true; deviceId: string } | { ok: false; why: string };

/** Signs and checks device cookies with one key. */
export class DeviceCookies {
  private readonly verified = new Map<string, { deviceId: string; issuedAt: number }>();

  constructor(
    private readonly key: Buffer,
    private readonly maxAgeDays: number,
  ) {}

  private mac(deviceId: string, issuedAt: number): string {
    return createHmac('sha256', this.key).update(`v1.${deviceId}.${issuedAt}`).digest('base64url');
  }

  /** A new device id and its cookie value. */
  issue(nowMs: number): { deviceId: string; value: string } {
    const deviceId = randomBytes(16).toString('base64url');
    const issuedAt = Math.floor(nowMs / 1000);
    return { deviceId, value: `v1.${deviceId}.${issuedAt}.${this.mac(deviceId, issuedAt)}` };
  }

  /** Verifies a cookie value (constant-time MAC comparison); says why when it is refused. */
  verify(value: string, nowMs: number): DeviceCookieCheck {
    if (value.length > MAX_LEN) return { ok: false, why: 'oversized' };
    // Only a value that passed the full check is remembered, byte for byte; its age is checked anew.
    const known = this.verified.get(value);
    if (known) return this.age(known.deviceId, known.issuedAt, nowMs);
    const m = RE.exec(value);
    if (!m) return { ok: false, why: 'malformed' };
    const [, deviceId, issuedText, mac] = m;
    const issuedAt = Number(issuedText);
    const expected = Buffer.from(this.mac(deviceId!, issuedAt));
    const given = Buffer.from(mac!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, why: 'bad signature' };
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(value, { deviceId: deviceId!, issuedAt });
    return this.age(deviceId!, issuedAt, nowMs);
  }

  private age(deviceId: string, issuedAt: number, nowMs: number): DeviceCookieCheck {
    const ageDays = (nowMs / 1000 - issuedAt) / 86_400;
    if (ageDays > this.maxAgeDays) return { ok: false, why: 'expired' };
    if (ageDays < -1) return { ok: false, why: 'issued in the future' };
    return { ok: true, deviceId };
  }
}
