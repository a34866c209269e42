/**
 * @module access/signals
 * The risk signals, each a pure function returning `{signal, score, reason}`. Scores add up to
 * the request's risk (0-100); a few signals are hard verdicts (`deny`) that no low score can
 * outweigh. The weights are deliberately simple and documented here, so an analyst can explain
 * every decision from its record.
 */
import type { Role } from '../core/index.js';
import { type HourHistogram, withinHours } from './hours.js';
import type { AppPolicy, SignalResult, Zone } from './types.js';

/** What the device cookie told us. */
export type DeviceState =
  | { kind: 'known' }
  | { kind: 'new' }
  | { kind: 'missing' }
  | { kind: 'invalid'; why: string };

/** A device this user has not signed in from is the classic sign of a stolen password or cookie. */
export function deviceSignal(state: DeviceState): SignalResult {
  switch (state.kind) {
    case 'known':
      return { signal: 'device', score: 0, reason: 'known device for this user' };
    case 'new':
      return { signal: 'device', score: 25, reason: 'new device for this user' };
    case 'missing':
      return { signal: 'device', score: 25, reason: 'no device cookie: unrecognised device' };
    case 'invalid':
      return { signal: 'device', score: 40, reason: `device cookie rejected: ${state.why}` };
  }
}

const ZONE_SCORES: Record<Zone, number> = { lan: 0, vpn: 5, partner: 10, internet: 20 };

/** The network the request comes from; an application may admit only some zones. */
export function zoneSignal(zone: Zone, app: Pick<AppPolicy, 'zones'> | null): SignalResult {
  if (app?.zones && !app.zones.includes(zone)) {
    return {
      signal: 'zone',
      score: 100,
      deny: true,
      reason: `network zone ${zone} is not allowed for this application`,
    };
  }
  return { signal: 'zone', score: ZONE_SCORES[zone], reason: `network zone ${zone}` };
}

/** The application's allowed hours (server local time): outside them, no one gets in. */
export function allowedHoursSignal(now: Date, app: Pick<AppPolicy, 'allowedHours'>): SignalResult {
  if (!app.allowedHours) return { signal: 'hours', score: 0, reason: 'application has no hour limits' };
  if (withinHours(now, app.allowedHours))
    return { signal: 'hours', score: 0, reason: 'within allowed hours' };
  const w = app.allowedHours;
  return {
    signal: 'hours',
    score: 100,
    deny: true,
    reason: `outside the application's allowed hours (${w.start}-${w.end}, days ${w.days.join(',')})`,
  };
}

/** Sign-ins at an hour this user (with enough history) has almost never used. */
export function usualHoursSignal(hour: number, histogram: HourHistogram): SignalResult {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total < 10)
    return {
      signal: 'usual-hours',
      score: 0,
      unknown: true,
      reason: `still learning this user's hours (${total} sign-ins)`,
    };
  const near =
    (histogram[hour] ?? 0) + (histogram[(hour + 23) % 24] ?? 0) + (histogram[(hour + 1) % 24] ?? 0);
  if (near / total < 0.03)
    return { signal: 'usual-hours', score: 15, reason: `unusual hour (${hour}:00) for this user` };
  return { signal: 'usual-hours', score: 0, reason: 'usual hour for this user' };
}

/** Failed sign-ins for this user in the recent window: someone may be guessing the password. */
export function userFailuresSignal(count: number, windowMinutes: number): SignalResult {
  const score = count >= 10 ? 40 : count >= 5 ? 20 : count >= 3 ? 10 : 0;
  return {
    signal: 'user-failures',
    score,
    reason: `${count} failed sign-ins for this user in ${windowMinutes} min`,
  };
}

/** Failed sign-ins from this address (any user): password spraying from one source. */
export function sourceFailuresSignal(count: number, windowMinutes: number): SignalResult {
  const score = count >= 30 ? 50 : count >= 10 ? 25 : count >= 5 ? 10 : 0;
  return {
    signal: 'source-failures',
    score,
    reason: `${count} failed sign-ins from this address in ${windowMinutes} min`,
  };
}

/** Many MFA prompts or denials in a short time: push-bombing, or a stolen password being tried. */
export function mfaFatigueSignal(prompts: number, failures: number, windowMinutes: number): SignalResult {
  const score = failures >= 5 || prompts >= 10 ? 40 : failures >= 3 || prompts >= 5 ? 20 : 0;
  return {
    signal: 'mfa-fatigue',
    score,
    reason: `${prompts} MFA prompts and ${failures} MFA failures in ${windowMinutes} min`,
  };
}

/** A disabled or terminated account is denied at once (its sessions are revoked too). */
export function accountSignal(status: 'active' | 'disabled'): SignalResult {
  return status === 'active'
    ? { signal: 'account', score: 0, reason: 'account active' }
    : { signal: 'account', score: 100, deny: true, reason: 'account disabled' };
}

/** A blocklisted address (a Tor exit list, a threat feed, an analyst's block) never gets in. */
export function blocklistSignal(listedIn: string | null): SignalResult {
  return listedIn
    ? {
        signal: 'blocklist',
        score: 100,
        deny: true,
        reason: `source address is on a blocklist (${listedIn})`,
      }
    : { signal: 'blocklist', score: 0, reason: 'source address on no blocklist' };
}

/** The application's roles; `any` admits every signed-in role. */
export function roleSignal(app: Pick<AppPolicy, 'roles'>, roles: readonly Role[]): SignalResult {
  if (app.roles === 'any' || roles.some((r) => app.roles.includes(r))) {
    return { signal: 'role', score: 0, reason: `role ${roles.join(',')} allowed` };
  }
  return {
    signal: 'role',
    score: 100,
    deny: true,
    reason: `role ${roles.join(',')} is not allowed (needs ${app.roles.join(' or ')})`,
  };
}
