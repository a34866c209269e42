/**
 * @module access/device
 * The long-lived device cookie that recognises a returning device: `v1.<deviceId>.<issuedAt>.<mac>`,
 * an HMAC-SHA256 under the key derived for `access-device`. A tampered, truncated or expired cookie
 * is a reason in the decision record (and the device counts as unrecognised), never a crash.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const MAX_LEN = 200;
const RE = /^v1\.([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export type DeviceCookieCheck = { ok: true; deviceId: string } | { ok: false; why: string };

/** Signs and checks device cookies with one key. */
export class DeviceCookies {
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
    const m = RE.exec(value);
    if (!m) return { ok: false, why: 'malformed' };
    const [, deviceId, issuedText, mac] = m;
    const issuedAt = Number(issuedText);
    const expected = Buffer.from(this.mac(deviceId!, issuedAt));
    const given = Buffer.from(mac!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, why: 'bad signature' };
    const ageDays = (nowMs / 1000 - issuedAt) / 86_400;
    if (ageDays > this.maxAgeDays) return { ok: false, why: 'expired' };
    if (ageDays < -1) return { ok: false, why: 'issued in the future' };
    return { ok: true, deviceId: deviceId! };
  }
}
