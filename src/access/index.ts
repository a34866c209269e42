/**
 * @module access
 * The remote access gateway: a forward-auth decision service that nginx (`auth_request`) and
 * Traefik (ForwardAuth) ask before every request to a protected application, a sign-in portal
 * for the same users as the console, and the console's view of decisions, sessions and blocks.
 * This is the domain's only public face.
 */
import { existsSync } from 'node:fs';
import type { VigilEvent } from '../core/index.js';
import type { Subscription } from '../platform/bus/index.js';
import { AccessAdmin } from './admin.js';
import { Blocklists } from './blocklist.js';
import { Bursts } from './bursts.js';
import { SessionCache } from './cache.js';
import type { AccessDeps } from './deps.js';
import { DeviceCookies } from './device.js';
import { Enrolment } from './enrolment.js';
import { clientFrom, LIMITS } from './forwarded.js';
import { Gateway } from './gateway.js';
import { openGeoIp } from './geoip.js';
import { CidrSet, parseIp } from './ip.js';
import { ListWatcher, listFile, listSources } from './lists.js';
import { Portal } from './portal.js';
import { DecisionRecorder } from './recorder.js';
import { AccessStore } from './store.js';

export { type AwarenessSignals, type AwarenessState, neutralAwareness } from './awareness.js';
export type { AccessDeps } from './deps.js';
export type { AccountView } from './enrolment.js';
export type { HeaderBag } from './forwarded.js';
export type { CheckOutcome, Credentials } from './gateway.js';
export { type GeoInfo, type GeoSignals, noGeo } from './geo.js';
export { DEFAULT_GEO_PACKAGE, type GeoIp, type GeoSource, openGeoIp } from './geoip.js';
export { type ListUpdate, updateLists } from './lists.js';
export { accessMigrations } from './migrations.js';
export * from './pages.js';
export type { PortalStep, SecondFactor } from './portal.js';
export { safeReturnUrl } from './return-url.js';
export type { DecisionView } from './store.js';
export type { AccessBlockRow, AccessSessionRow } from './tables.js';
export type { AppPolicy, Decision, DecisionKind, ForwardedRequest, SignalResult, Zone } from './types.js';
export { type RelyingParty, relyingPartyOf } from './webauthn.js';
export { AccessAdmin, Enrolment, Gateway, Portal };

/** Cookie names of the gateway. */
export const ACCESS_COOKIES = {
  session: 'vigil_access',
  device: 'vigil_device',
  csrf: 'vigil_access_csrf',
} as const;

/** Days decisions are kept in the table (the bus and the activity log keep their own). */
export const DECISION_RETENTION_DAYS = 30;

const SEEN_IDS = 10_000;

/** The kinds of event that change what the gateway keeps in memory (sessions, bursts, blocks). */
const WATCHED_KINDS = ['auth.', 'user.', 'access.session.', 'access.block.'] as const;

export interface Access {
  gateway: Gateway;
  portal: Portal;
  /** Self-service MFA for signed-in people (authenticator app, passkeys, recovery codes). */
  enrolment: Enrolment;
  admin: AccessAdmin;
  devices: DeviceCookies;
  /** The address of a client as the trusted proxies tell it (the peer itself otherwise). */
  clientAddress(headers: Record<string, string | string[] | undefined>, peer: string): string;
  /** Whether the browser reached us over HTTPS, as a trusted proxy says (for Secure cookies). */
  viaHttps(headers: Record<string, string | string[] | undefined>, peer: string): boolean;
  /** Re-reads the blocklist files that changed on disk (also done every `lists.reloadSeconds`). */
  reloadLists(): string[];
  /** Entries per loaded blocklist. */
  listCounts(): Record<string, number>;
  /** Writes and publishes the decisions still queued (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the gateway: loads blocklists, subscribes to the events that invalidate its cache. */
export async function createAccess(deps: AccessDeps): Promise<Access> {
  const { config, logger } = deps;
  const store = new AccessStore(deps.db, deps.offThread);
  const cache = new SessionCache();
  const bursts = new Bursts();
  const geo =
    deps.geo ??
    openGeoIp({
      cityFile: config.geoipCityFile,
      countryFile: config.geoipCountryFile,
      asnFile: config.geoipAsnFile,
      useDefault: config.geoipDefaultData,
    });
  if ('sources' in geo) logger.info({ sources: geo.sources }, 'access: GeoIP databases');
  // Downloaded lists that exist join the configured files; later downloads are picked up by the watcher.
  const downloaded = deps.listsDir
    ? listSources(config.lists).map((s) => listFile(deps.listsDir as string, s.name))
    : [];
  const listFiles = [...config.blocklistFiles, ...downloaded.filter((f) => existsSync(f))];
  const { blocklists, problems } = Blocklists.fromFiles(listFiles);
  for (const p of problems) logger.warn({ problem: p }, 'access blocklist');
  const watcher = new ListWatcher([...config.blocklistFiles, ...downloaded], (file) => {
    for (const p of blocklists.load(file)) logger.warn({ problem: p }, 'access blocklist');
    logger.info({ file, lists: blocklists.counts() }, 'access: blocklist reloaded');
  });
  for (const b of await store.blocks()) blocklists.add('console', b.cidr);
  const trusted = new CidrSet(config.trustedProxies);
  const zones = {
    lan: new CidrSet(config.zones.lan),
    vpn: new CidrSet(config.zones.vpn),
    partner: new CidrSet(config.zones.partner),
  };
  for (const set of [trusted, zones.lan, zones.vpn, zones.partner])
    if (set.rejected.length)
      logger.warn({ rejected: set.rejected.slice(0, 5) }, 'access: unreadable address ranges ignored');
  const devices = new DeviceCookies(deps.keys.deriveKey('access-device'), config.deviceCookieDays);
  const recorder = new DecisionRecorder(store, deps.bus, logger);
  const gateway = new Gateway({
    deps,
    store,
    cache,
    bursts,
    blocklists,
    devices,
    recorder,
    trusted,
    zones,
    geo,
  });
  const portal = new Portal(deps, store, cache);
  const enrolment = new Enrolment(deps, store, portal);
  const admin = new AccessAdmin(deps, store, cache, blocklists);

  const seen = new Set<string>();
  const onEvent = (e: VigilEvent) => {
    // Most events echoed here are the gateway's own decisions: nothing to learn from them.
    if (!WATCHED_KINDS.some((k) => e.kind.startsWith(k))) return;
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value as string);
    bursts.observe(e);
    const data = e.data ?? {};
    const dataUser = typeof data.userId === 'string' ? data.userId : undefined;
    switch (e.kind) {
      case 'user.disabled':
        if (dataUser) cache.markDisabled(dataUser);
        break;
      case 'user.enabled':
        if (dataUser) cache.markEnabled(dataUser);
        break;
      case 'auth.mfa.reset':
        if (dataUser) {
          cache.dropUser(dataUser);
          // An MFA reset removes every second factor, passkeys included.
          portal.passkeys
            .removeAll(dataUser)
            .catch((err: unknown) =>
              logger.warn({ err: (err as Error).message }, 'access: passkey reset failed'),
            );
        }
        break;
      case 'auth.logout':
      case 'auth.password.changed':
        if (e.user?.id) cache.dropUser(e.user.id);
        break;
      case 'access.session.revoked':
        if (typeof data.sessionId === 'string') cache.drop(data.sessionId);
        break;
      case 'access.block.added':
        if (typeof data.cidr === 'string') blocklists.add('console', data.cidr);
        break;
    }
  };
  const unlisten = deps.echo?.listen(onEvent);
  // Each process needs every invalidation, so the group is this process's own.
  const sub: Subscription = await deps.bus.subscribe({
    group: `access-cache-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    subjects: WATCHED_KINDS.map((k) => `vigil.${k}>`),
    handler: async (events) => {
      for (const e of events) onEvent(e);
    },
  });
  const pruneTimer = setInterval(() => {
    const before = new Date(deps.clock.now().getTime() - DECISION_RETENTION_DAYS * 86_400_000).toISOString();
    store
      .pruneDecisions(before)
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'access: prune failed'));
    store.pruneSessions(before).catch(() => {});
    store.pruneLogins(before).catch(() => {});
  }, 3_600_000);
  pruneTimer.unref();
  const reloadTimer =
    config.lists.reloadSeconds > 0
      ? setInterval(() => watcher.poll(), config.lists.reloadSeconds * 1000)
      : undefined;
  reloadTimer?.unref();

  return {
    gateway,
    portal,
    enrolment,
    admin,
    devices,
    clientAddress(headers, peer) {
      const xff = headers['x-forwarded-for'];
      if (!trusted.has(parseIp(peer)) || typeof xff !== 'string' || xff.length > LIMITS.xff) return peer;
      const client = clientFrom(xff, peer, trusted);
      return typeof client === 'string' ? client : peer;
    },
    viaHttps(headers, peer) {
      return trusted.has(parseIp(peer)) && headers['x-forwarded-proto'] === 'https';
    },
    reloadLists: () => watcher.poll(),
    listCounts: () => blocklists.counts(),
    flush: () => recorder.flush(),
    async close() {
      clearInterval(pruneTimer);
      if (reloadTimer) clearInterval(reloadTimer);
      unlisten?.();
      await recorder.flush();
      await sub.close();
    },
  };
}
