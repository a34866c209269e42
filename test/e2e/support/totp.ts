/**
 * TOTP codes for the test, as an authenticator app would make them (otplib v13: SHA-1, 6 digits,
 * 30 s). A server refuses a code whose time step was already used, so `freshCode` waits for the
 * next step when needed.
 */
import { generate } from 'otplib';

const PERIOD = 30;

export function timeStep(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000 / PERIOD);
}

export interface TotpCode {
  code: string;
  step: number;
}

/** A code from a time step later than `afterStep`, with at least `marginSeconds` left in its window. */
export async function freshCode(secret: string, afterStep = -1, marginSeconds = 4): Promise<TotpCode> {
  for (;;) {
    const now = Date.now();
    const step = timeStep(now);
    const left = PERIOD - ((now / 1000) % PERIOD);
    if (step > afterStep && left >= marginSeconds) {
      const code = await generate({ secret, epoch: Math.floor(now / 1000) });
      return { code, step };
    }
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left * 1000) + 250));
  }
}
