/**
 * @module access/types
 * The vocabulary of the gateway: a risk signal's verdict, a decision and its record. Every
 * decision carries the signals that made it, so an analyst can read why it was taken.
 */
import type { Role } from '../core/index.js';

/** One risk signal's verdict: a score (0-100, added up) and a reason a person can read. */
export interface SignalResult {
  signal: string;
  score: number;
  reason: string;
  /** A hard verdict: this signal alone denies, whatever the score. */
  deny?: boolean;
  /** True when the signal had no data to judge (e.g. no GeoIP database): it says so and scores 0. */
  unknown?: boolean;
}

/** allow, step-up (MFA now, then allow), deny, or login (no valid gateway session). */
export type DecisionKind = 'allow' | 'step-up' | 'deny' | 'login';

/** Network zones, from the configured ranges; everything else is `internet`. */
export type Zone = 'lan' | 'vpn' | 'partner' | 'internet';

/** The application a request is for, as configured under `access.applications`. */
export interface AppPolicy {
  name: string;
  host: string;
  pathPrefix: string;
  roles: 'any' | readonly Role[];
  stepUpRisk: number;
  denyRisk: number;
  allowedHours?:
    | {
        start: string;
        end: string;
        days: readonly number[];
      }
    | undefined;
  zones?: readonly Zone[] | undefined;
}

/** What the proxy told us about the original request, after the trust checks. */
export interface ForwardedRequest {
  /** `nginx` (auth_request, X-Original-*) or `traefik` (ForwardAuth, X-Forwarded-Uri/Method). */
  flavour: 'nginx' | 'traefik';
  method: string;
  host: string;
  proto: 'http' | 'https';
  uri: string;
  /** The client address: from X-Forwarded-For when the peer is a trusted proxy, else the peer. */
  clientIp: string;
}

/** The decision and everything that explains it; stored and published as `access.decision`. */
export interface Decision {
  id: string;
  time: string;
  decision: DecisionKind;
  risk: number;
  app: string | null;
  user: { id: string; name: string; roles: readonly Role[] } | null;
  sourceIp: string | null;
  host: string | null;
  path: string | null;
  method: string | null;
  reasons: readonly SignalResult[];
}
