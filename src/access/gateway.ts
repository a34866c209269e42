/**
 * @module access/gateway
 * The forward-auth decision: who is asking (the gateway session, from the in-process cache), from
 * where (trusted forwarding headers, zone, blocklists), on what (the application), and how risky
 * it is (the signals). Every decision is recorded and published. The database is touched only to
 * fill or re-validate the cache.
 */
import { newId } from '../core/index.js';
import { matchApp, pathOf } from './apps.js';
import { awarenessSignal, neutralAwareness } from './awareness.js';
import type { Blocklists } from './blocklist.js';
import type { Bursts } from './bursts.js';
import type { CachedSession, SessionCache } from './cache.js';
import { decide } from './decide.js';
import { type AccessDeps, SESSION_TOKEN_RE, sessionIdOf } from './deps.js';
import type { DeviceCookies } from './device.js';
import { type HeaderBag, readForwarded } from './forwarded.js';
import {
  asnSignal,
  countrySignal,
  type GeoSignals,
  type LoginPlace,
  networkOf,
  networkSignal,
  travelSignal,
} from './geo.js';
import { type CidrSet, parseIp } from './ip.js';
import type { DecisionRecorder } from './recorder.js';
import { originalUrl } from './return-url.js';
import {
  accountSignal,
  allowedHoursSignal,
  blocklistSignal,
  type DeviceState,
  deviceSignal,
  mfaFatigueSignal,
  roleSignal,
  sourceFailuresSignal,
  userFailuresSignal,
  usualHoursSignal,
  zoneSignal,
} from './signals.js';
import type { AccessStore } from './store.js';
import type { AppPolicy, Decision, ForwardedRequest, SignalResult, Zone } from './types.js';

/** How often a cached session is confirmed against the database. */
export const REVALIDATE_MS = 15_000;

/** The credentials a request carries (cookie values, raw). */
export interface Credentials {
  sessionToken?: string | undefined;
  deviceCookie?: string | undefined;
}

/** A decision and what the HTTP layer needs to answer it. */
export interface CheckOutcome {
  decision: Decision;
  flavour: 'nginx' | 'traefik' | null;
  /** For a sign-in or step-up on a protected application: the portal's login page with the return URL. */
  loginUrl: string | null;
}

export interface GatewayParts {
  deps: AccessDeps;
  store: AccessStore;
  cache: SessionCache;
  bursts: Bursts;
  blocklists: Blocklists;
  devices: DeviceCookies;
  recorder: DecisionRecorder;
  trusted: CidrSet;
  zones: Record<Exclude<Zone, 'internet'>, CidrSet>;
  geo: GeoSignals;
}

type SessionLookup = { entry: CachedSession } | { missing: string };

export class Gateway {
  private readonly revokedFor = new Set<string>();

  constructor(private readonly p: GatewayParts) {}

  private get apps(): readonly AppPolicy[] {
    return this.p.deps.config.applications;
  }

  zoneOf(ip: string | ReturnType<typeof parseIp>): Zone {
    const parsed = typeof ip === 'string' ? parseIp(ip) : ip;
    for (const z of ['lan', 'vpn', 'partner'] as const) if (this.p.zones[z].has(parsed)) return z;
    return 'internet';
  }

  /** The portal's base URL for a request to `proto://host`. */
  portalBase(proto: string, host: string): string {
    return (this.p.deps.config.portalUrl ?? `${proto}://${host}/access`).replace(/\/+$/, '');
  }

  /** `GET /access/check`: reads the proxy's headers, then decides. */
  async check(headers: HeaderBag, peer: string, creds: Credentials): Promise<CheckOutcome> {
    const fwd = readForwarded(headers, peer, this.p.trusted);
    if (!fwd.ok) {
      const d = this.record(null, null, null, 'deny', 100, [fwd.reason], peer);
      return { decision: await d, flavour: null, loginUrl: null };
    }
    return this.evaluate(fwd.request, creds);
  }

  /** Decides one request already known to come through a trusted proxy (or the portal). */
  async evaluate(req: ForwardedRequest, creds: Credentials): Promise<CheckOutcome> {
    const now = this.p.deps.clock.now();
    const nowMs = now.getTime();
    const app = matchApp(this.apps, req.host, req.uri, req.proto);
    const out = (decision: Decision): CheckOutcome => {
      // Only a sign-in or a step-up sends the user to the portal, back to the original URL of a
      // protected application (most checks are allowed: no URL to build).
      const toPortal = app && (decision.decision === 'login' || decision.decision === 'step-up');
      const loginUrl = toPortal
        ? `${this.portalBase(req.proto, req.host)}/login?rd=${encodeURIComponent(originalUrl(req.proto, req.host, req.uri))}`
        : null;
      return { decision, flavour: req.flavour, loginUrl };
    };
    if (!app) {
      const reason = {
        signal: 'application',
        score: 100,
        deny: true,
        reason: `no protected application for ${req.host}${pathOf(req.uri).slice(0, 200)}`,
      };
      return out(await this.record(req, null, null, 'deny', 100, [reason]));
    }
    const ip = parseIp(req.clientIp);
    const zone = this.zoneOf(ip);
    const network: SignalResult[] = [
      blocklistSignal(this.p.blocklists.match(ip)),
      zoneSignal(zone, app),
      allowedHoursSignal(now, app),
    ];
    const hard = network.find((s) => s.deny);
    if (hard) return out(await this.record(req, app, null, 'deny', 100, network));

    const token = creds.sessionToken;
    if (!token)
      return out(
        await this.record(req, app, null, 'login', 0, [
          { signal: 'session', score: 0, reason: 'no gateway session: sign-in needed' },
        ]),
      );
    if (!SESSION_TOKEN_RE.test(token)) {
      return out(
        await this.record(req, app, null, 'login', 0, [
          { signal: 'session', score: 0, reason: 'malformed session cookie' },
        ]),
      );
    }
    const found = await this.sessionFor(token, nowMs);
    if ('missing' in found)
      return out(
        await this.record(req, app, null, 'login', 0, [
          { signal: 'session', score: 0, reason: found.missing },
        ]),
      );
    const s = found.entry;
    if (this.p.cache.isDisabled(s.userId)) {
      this.revokeAllOnce(s.userId);
      return out(await this.record(req, app, s, 'deny', 100, [accountSignal('disabled')]));
    }
    const device = this.deviceState(creds.deviceCookie, s, nowMs);
    const { bursts } = this.p;
    const w = bursts.windowMinutes;
    const mfa = bursts.mfaOf(s.username, nowMs);
    const signals: SignalResult[] = [
      ...network,
      accountSignal('active'),
      roleSignal(app, s.roles),
      usualHoursSignal(now.getHours(), s.hours),
      deviceSignal(device.state),
      userFailuresSignal(bursts.userFailuresOf(s.username, nowMs), w),
      sourceFailuresSignal(bursts.sourceFailuresOf(req.clientIp, nowMs), w),
      mfaFatigueSignal(mfa.prompts, mfa.failures, w),
      awarenessSignal((this.p.deps.awareness ?? neutralAwareness).stateOf(s.userId)),
      ...this.placeSignals(req.clientIp, ip, s),
    ];
    const validMs = this.p.deps.config.stepUpValidMinutes * 60_000;
    const stepUpDone =
      s.mfaAt !== null &&
      nowMs - s.mfaAt < validMs &&
      device.id !== null &&
      device.id === s.mfaDeviceId &&
      req.clientIp === s.mfaIp;
    const verdict = decide(app, signals, stepUpDone);
    if (verdict.decision === 'allow' && stepUpDone && verdict.risk >= app.stepUpRisk) {
      signals.push({ signal: 'step-up', score: 0, reason: 'MFA done recently on this device and address' });
    }
    const reasons = s.lastReasons && sameReasons(s.lastReasons, signals) ? s.lastReasons : signals;
    s.lastReasons = reasons;
    return out(await this.record(req, app, s, verdict.decision, verdict.risk, reasons));
  }

  /** New country, ASN and network of this request's address for the user, and the session's travel verdict. */
  private placeSignals(clientIp: string, ip: ReturnType<typeof parseIp>, s: CachedSession): SignalResult[] {
    const { geo } = this.p;
    const here = geo.lookup(clientIp);
    return [
      countrySignal(here, s.places, geo.coverage),
      asnSignal(here, s.places, geo.coverage),
      networkSignal(networkOf(ip), s.places),
      s.travel,
    ];
  }

  /** A sign-in that passed MFA from an address teaches its country, ASN and network. */
  private async learnPlace(userId: string, ipText: string, at: string): Promise<void> {
    const ip = parseIp(ipText);
    if (!ip) return;
    const here = this.p.geo.lookup(ipText);
    const { store } = this.p;
    if (here?.country) await store.rememberPlace(userId, 'country', here.country, at);
    if (here?.asn != null) await store.rememberPlace(userId, 'asn', String(here.asn), at);
    const net = networkOf(ip);
    if (net) await store.rememberPlace(userId, 'network', net, at);
  }

  private loginPlace(ip: string | null, at: string): LoginPlace | null {
    const ms = Date.parse(at);
    if (!ip || !Number.isFinite(ms)) return null;
    return { at: ms, ip, geo: this.p.geo.lookup(ip) };
  }

  private deviceState(
    cookie: string | undefined,
    s: CachedSession,
    nowMs: number,
  ): { state: DeviceState; id: string | null } {
    if (!cookie) return { state: { kind: 'missing' }, id: null };
    const v = this.p.devices.verify(cookie, nowMs);
    if (!v.ok) return { state: { kind: 'invalid', why: v.why }, id: null };
    return { state: { kind: s.knownDevices.has(v.deviceId) ? 'known' : 'new' }, id: v.deviceId };
  }

  private revokeAllOnce(userId: string): void {
    if (this.revokedFor.has(userId)) return;
    this.revokedFor.add(userId);
    this.p.deps.identity.sessions.revokeAllFor(userId).catch((err: unknown) => {
      this.p.deps.logger.error(
        { err: (err as Error).message },
        'could not revoke sessions of a disabled user',
      );
    });
  }

  /** The cached session for a token, filled or re-validated from the database when needed. */
  async sessionFor(token: string, nowMs: number): Promise<SessionLookup> {
    const id = sessionIdOf(token);
    const { cache } = this.p;
    const cached = cache.get(id);
    if (cached) {
      if (cache.isDisabled(cached.userId)) return { entry: cached };
      if (cached.expiresAt <= nowMs) {
        cache.drop(id);
        return { missing: 'session expired (absolute timeout)' };
      }
      if (nowMs - cached.lastSeen >= this.p.deps.auth.sessionIdleMinutes * 60_000) {
        cache.drop(id);
        return { missing: 'session expired (idle timeout)' };
      }
      if (nowMs - cached.validatedAt < REVALIDATE_MS) {
        cached.lastSeen = nowMs;
        return { entry: cached };
      }
    }
    const principal = await this.p.deps.identity.sessions.authenticate(token);
    if (!principal) {
      cache.drop(id);
      return { missing: 'session unknown, expired or revoked' };
    }
    if (principal.state !== 'ok') return { missing: 'sign-in not finished' };
    const row = await this.p.store.session(id);
    if (!row) return { missing: 'not a gateway session' };
    if (row.revoked_at) {
      cache.drop(id);
      return { missing: 'session revoked' };
    }
    if (cached) {
      cached.validatedAt = nowMs;
      cached.lastSeen = nowMs;
      cached.roles = [principal.role];
      return { entry: cached };
    }
    if (row.mfa_at && row.mfa_ip) await this.learnPlace(principal.id, row.mfa_ip, row.mfa_at);
    if (row.ip)
      await this.p.store.recordLogin({
        session_id: id,
        user_id: principal.id,
        ip: row.ip,
        at: row.created_at,
      });
    const [devices, hours, places, previous] = await Promise.all([
      this.p.store.knownDevices(principal.id),
      this.p.store.hours(principal.id),
      this.p.store.knownPlaces(principal.id),
      this.p.store.previousLogin(principal.id, row.created_at, id),
    ]);
    const travel = travelSignal(
      previous ? this.loginPlace(previous.ip, previous.at) : null,
      this.loginPlace(row.ip, row.created_at),
      this.p.deps.config.impossibleTravelKmh,
      this.p.geo.coverage,
    );
    const entry: CachedSession = {
      id,
      userId: principal.id,
      username: principal.username,
      roles: [principal.role],
      expiresAt: Date.parse(row.created_at) + this.p.deps.auth.sessionAbsoluteHours * 3_600_000,
      lastSeen: nowMs,
      validatedAt: nowMs,
      deviceId: row.device_id,
      mfaAt: row.mfa_at ? Date.parse(row.mfa_at) : null,
      mfaDeviceId: row.mfa_device_id,
      mfaIp: row.mfa_ip,
      knownDevices: new Set(devices),
      hours,
      places,
      travel,
    };
    cache.set(entry);
    return { entry };
  }

  private async record(
    req: ForwardedRequest | null,
    app: AppPolicy | null,
    s: CachedSession | null,
    decision: Decision['decision'],
    risk: number,
    reasons: readonly SignalResult[],
    peer?: string,
  ): Promise<Decision> {
    const now = this.p.deps.clock.now();
    const d: Decision = {
      id: newId(now.getTime()),
      time: now.toISOString(),
      decision,
      risk,
      app: app?.name ?? null,
      user: s ? { id: s.userId, name: s.username, roles: s.roles } : null,
      sourceIp: req?.clientIp ?? peer?.slice(0, 64) ?? null,
      host: req?.host ?? null,
      path: req ? pathOf(req.uri).slice(0, 512) : null,
      method: req?.method ?? null,
      reasons,
    };
    await this.p.recorder.record(d);
    return d;
  }
}

/** True when both lists say the same, signal by signal. */
function sameReasons(a: readonly SignalResult[], b: readonly SignalResult[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.signal !== y.signal || x.score !== y.score || x.reason !== y.reason) return false;
    if (x.deny !== y.deny || x.unknown !== y.unknown) return false;
  }
  return true;
}
