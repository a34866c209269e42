/**
 * @module platform/bus/nats
 * The distributed bus: NATS JetStream. Events are stored in one stream (file storage, kept for a
 * configurable age) and every group is a durable pull consumer, so `vigil worker` processes on many
 * machines share a group's work, and a group that is down catches up when it comes back.
 *
 * Delivery is at least once: an event whose batch is not acknowledged within `ack_wait` (the member
 * died, or its handler hung) goes to another member. Publishing uses the event id as the JetStream
 * message id, so a publisher that retries a batch does not store its events twice (within the
 * stream's duplicate window). Consumers still dedupe by event id.
 *
 * Events of one subject published together travel together: up to {@link MAX_EVENTS_PER_MESSAGE}
 * of them (and {@link MAX_MESSAGE_BYTES}) in one message holding a JSON array, whose message id
 * is a hash of their ids (the same batch published again is stored once). JetStream's work (store,
 * deliver, acknowledge) is per message, and on one machine it cost more than detection itself;
 * grouped, it is shared by the events of a message. A lone event is a message of its own, its
 * JSON object under its id, as before. Members accept both forms; members older than this
 * grouping understand only the single form and would drop the grouped messages as malformed, so
 * an installation upgrades its `vigil worker` processes before the server that publishes.
 */
import { createHash } from 'node:crypto';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { subjectOf, VigilError, type VigilEvent } from '../../core/index.js';
import type { Logger } from '../log/index.js';
import type { Bus, BusStats, SubscribeOptions, Subscription } from './bus.js';
import { type ResolvedSubscribeOptions, resolveSubscribeOptions } from './common.js';
import { type NatsCounters, NatsSubscription } from './nats-subscription.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Publishes in flight at once: concurrent enough to hide round trips, bounded for huge batches. */
const PUBLISH_WINDOW = 512;
/** Events of one subject grouped into one message, at most (see the module comment). */
export const MAX_EVENTS_PER_MESSAGE = 64;
/** Bytes of JSON grouped into one message, at most (NATS's default max payload is 1 MiB). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** One message to publish: its subject, payload and message id. */
interface Outgoing {
  subject: string;
  payload: string;
  msgID: string;
  events: number;
}

export interface NatsBusOptions {
  logger: Logger;
  /** JetStream stream holding Vigil's events (default `VIGIL`). */
  stream?: string;
  /** How long the stream keeps events (default 7 days). */
  maxAgeMs?: number;
  /** Time a member has to acknowledge a batch before it is redelivered to another (default 30 s). */
  ackWaitMs?: number;
  /**
   * Prefix for every subject (`<prefix>.vigil.<kind>`), for installations or test runs that share
   * one NATS account: two streams may not capture the same subjects. Default none.
   */
  subjectPrefix?: string;
  /** How long an idle pull request waits on the server before it is renewed (default 10 s, min 1 s). */
  fetchExpiresMs?: number;
}

export interface NatsBusConnectOptions extends NatsBusOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`; comma-separated for a cluster. */
  url: string;
  /** Auth token, if the server requires one. Never logged. */
  token?: string;
}

/** {@link Bus} on NATS JetStream: one stream, one durable pull consumer per group. */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly stream: string;
  private readonly js: JetStreamClient;
  private readonly logger: Logger;
  private readonly maxAgeMs: number;
  private readonly ackWaitMs: number;
  private readonly prefix: string;
  private readonly fetchExpiresMs: number;
  private readonly members = new Set<NatsSubscription>();
  private readonly counters: NatsCounters = { published: 0, delivered: 0, redelivered: 0 };
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    options: NatsBusOptions,
  ) {
    this.js = jetstream(nc);
    this.logger = options.logger;
    this.stream = options.stream ?? 'VIGIL';
    this.maxAgeMs = options.maxAgeMs ?? 7 * DAY_MS;
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
    this.fetchExpiresMs = Math.max(1000, options.fetchExpiresMs ?? 10_000);
    this.prefix = options.subjectPrefix ? `${options.subjectPrefix}.` : '';
    if (!/^[A-Za-z0-9_-]+$/.test(this.stream))
      throw new Error('NatsBus: stream name must match [A-Za-z0-9_-]+');
    if (
      options.subjectPrefix !== undefined &&
      !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(options.subjectPrefix)
    ) {
      throw new Error('NatsBus: subjectPrefix must be dot-separated [A-Za-z0-9_-] tokens');
    }
    if (!(this.maxAgeMs > 0) || !(this.ackWaitMs > 0))
      throw new Error('NatsBus: maxAgeMs and ackWaitMs must be > 0');
  }

  /** Connects (reconnecting forever if the server goes away later) and ensures the stream exists. */
  static async connect(options: NatsBusConnectOptions): Promise<NatsBus> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.url.split(',').map((s) => s.trim()),
        token: options.token,
        name: 'vigil',
        maxReconnectAttempts: -1,
      });
    } catch (err) {
      throw new VigilError('UNAVAILABLE', `cannot connect to NATS at ${redactUrl(options.url)}`, {
        cause: err,
      });
    }
    try {
      return await NatsBus.fromConnection(nc, options);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** Builds the bus on an open connection, which it then owns (`close` drains it). */
  static async fromConnection(nc: NatsConnection, options: NatsBusOptions): Promise<NatsBus> {
    const bus = new NatsBus(nc, await jetstreamManager(nc), options);
    await bus.ensureStream();
    return bus;
  }

  /** The subject of an event kind on this bus (with the prefix, if any). */
  subjectFor(kind: string): string {
    return this.prefix + subjectOf(kind);
  }

  /**
   * Stores the events (each under its id as message id) with bounded concurrency and resolves when
   * JetStream has acknowledged all of them. On failure some may be stored: retrying the same batch
   * is safe, duplicates within the window are dropped by the server.
   */
  async publish(events: readonly VigilEvent[]): Promise<void> {
    if (this.closing) throw new VigilError('UNAVAILABLE', 'the NATS bus is closed');
    const messages = this.messagesOf(events);
    for (let i = 0; i < messages.length; i += PUBLISH_WINDOW) {
      const chunk = messages.slice(i, i + PUBLISH_WINDOW);
      try {
        await Promise.all(chunk.map((m) => this.js.publish(m.subject, m.payload, { msgID: m.msgID })));
      } catch (err) {
        throw new VigilError('UNAVAILABLE', 'NATS did not store the events', { cause: err });
      }
      for (const m of chunk) this.counters.published += m.events;
    }
  }

  /**
   * The messages of a batch: events grouped by subject (in order within a subject), once per id,
   * a message per event or per run of up to MAX_EVENTS_PER_MESSAGE (see the module comment).
   */
  private messagesOf(events: readonly VigilEvent[]): Outgoing[] {
    const bySubject = new Map<string, { ids: string[]; jsons: string[] }>();
    const seen = new Set<string>();
    for (const e of events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      const subject = this.subjectFor(e.kind);
      let g = bySubject.get(subject);
      if (!g) {
        g = { ids: [], jsons: [] };
        bySubject.set(subject, g);
      }
      g.ids.push(e.id);
      g.jsons.push(JSON.stringify(e));
    }
    const out: Outgoing[] = [];
    for (const [subject, { ids, jsons }] of bySubject) {
      let start = 0;
      while (start < jsons.length) {
        let end = start + 1;
        let bytes = jsons[start]!.length;
        while (
          end < jsons.length &&
          end - start < MAX_EVENTS_PER_MESSAGE &&
          bytes + jsons[end]!.length + 1 <= MAX_MESSAGE_BYTES
        )
          bytes += jsons[end++]!.length + 1;
        if (end - start === 1) out.push({ subject, payload: jsons[start]!, msgID: ids[start]!, events: 1 });
        else
          out.push({
            subject,
            payload: `[${jsons.slice(start, end).join(',')}]`,
            msgID: `batch-${createHash('sha256')
              .update(ids.slice(start, end).join('\n'))
              .digest('base64url')
              .slice(0, 32)}`,
            events: end - start,
          });
        start = end;
      }
    }
    return out;
  }

  /**
   * Joins a group: creates or updates its durable consumer (named after the group), then pulls.
   * A new group starts with events published from now on; an existing one resumes where it was.
   */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closing) throw new VigilError('UNAVAILABLE', 'the NATS bus is closed');
    const resolved = resolveSubscribeOptions(options);
    const filters = resolved.subjects.map((s) => this.prefix + s);
    const multi = filters.length > 1;
    const serverFilters = !multi || supportsMultipleFilters(this.nc.info?.version);
    const info = await this.ensureConsumer(
      consumerName(resolved.group),
      resolved,
      serverFilters ? filters : [],
    );
    if (this.closing) throw new VigilError('UNAVAILABLE', 'the NATS bus is closed');
    if (!serverFilters) {
      this.logger.info(
        { group: resolved.group, version: this.nc.info?.version },
        'bus: NATS server older than 2.10 takes one filter per consumer; filtering in the client',
      );
    }
    const member = new NatsSubscription({
      consumer: this.js.consumers.getConsumerFromInfo(info),
      options: resolved,
      clientFilters: serverFilters ? null : filters,
      fetchExpiresMs: this.fetchExpiresMs,
      counters: this.counters,
      logger: this.logger,
      isConnectionClosed: () => this.nc.isClosed(),
      onClosed: (m) => this.members.delete(m),
    });
    this.members.add(member);
    return member;
  }

  /**
   * `delivered` counts events handed to handlers by this process (redeliveries included, malformed
   * messages not); `redelivered` the part of them JetStream had delivered before. `queued` is always
   * 0: events wait in JetStream, not in this process.
   */
  stats(): BusStats {
    return { ...this.counters, queued: 0 };
  }

  /** True when the connection is up and JetStream answers for the stream (within 2 s). */
  async ready(): Promise<boolean> {
    if (this.closing || this.nc.isClosed() || this.nc.isDraining()) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000)));
    const probe = this.jsm.streams.info(this.stream).then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every member (in-flight batches finish and are acked), then drains the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.members].map((m) => m.close()));
      if (this.nc.isClosed()) return;
      try {
        await this.nc.drain();
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'bus: NATS drain failed');
      }
    })();
    return this.closing;
  }

  /** Creates the stream, or updates its subjects and age limits if it exists. */
  private async ensureStream(): Promise<void> {
    const subject = this.subjectFor('>');
    const limits = {
      max_age: nanos(this.maxAgeMs),
      duplicate_window: nanos(Math.min(2 * 60_000, this.maxAgeMs)),
    };
    try {
      const existing = await this.jsm.streams
        .info(this.stream)
        .catch(nullIfMissing(JetStreamApiCodes.StreamNotFound));
      if (existing === null) {
        await this.jsm.streams.add({
          name: this.stream,
          subjects: [subject],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          ...limits,
        });
        return;
      }
      const c = existing.config;
      const subjects = c.subjects.includes(subject) ? c.subjects : [...c.subjects, subject];
      if (
        subjects !== c.subjects ||
        c.max_age !== limits.max_age ||
        c.duplicate_window !== limits.duplicate_window
      ) {
        await this.jsm.streams.update(this.stream, { subjects, ...limits });
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new VigilError('UNAVAILABLE', `cannot set up NATS stream ${this.stream}: ${why}`, { cause: err });
    }
  }

  /** Creates the group's durable consumer, or updates the settings a member may change. */
  private async ensureConsumer(
    name: string,
    o: ResolvedSubscribeOptions,
    filters: readonly string[],
  ): Promise<ConsumerInfo> {
    const settings: Partial<ConsumerConfig> = {
      description: `Vigil group ${o.group}`.slice(0, 200),
      ack_wait: nanos(this.ackWaitMs),
      max_deliver: o.maxDeliver,
      // Exactly one of the two is set; the other is cleared, or an update would keep an old filter.
      filter_subject: filters.length === 1 ? filters[0] : undefined,
      filter_subjects: filters.length > 1 ? [...filters] : undefined,
    };
    const missing = nullIfMissing(JetStreamApiCodes.ConsumerNotFound);
    const existing = await this.jsm.consumers.info(this.stream, name).catch(missing);
    if (existing === null) {
      try {
        return await this.jsm.consumers.add(this.stream, {
          ...settings,
          durable_name: name,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
        });
      } catch (err) {
        // Another member created it meanwhile with other settings: fall through to an update.
        if ((await this.jsm.consumers.info(this.stream, name).catch(missing)) === null) throw err;
      }
    }
    return this.jsm.consumers.update(this.stream, name, settings);
  }
}

/**
 * The durable consumer name for a group: NATS allows only `[A-Za-z0-9_-]`. Other characters become
 * `_`, and a short hash of the original keeps distinct groups (`a.b`, `a_b`) distinct.
 */
export function consumerName(group: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(group)) return group;
  const hash = createHash('sha256').update(group).digest('hex').slice(0, 10);
  return `${group.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 53)}_${hash}`;
}

/** Several filters per consumer (`filter_subjects`) arrived in NATS 2.10. */
export function supportsMultipleFilters(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  const major = Number(m[1]);
  return major > 2 || (major === 2 && Number(m[2]) >= 10);
}

function nullIfMissing(code: number): (err: unknown) => null {
  return (err) => {
    if (err instanceof JetStreamApiError && err.code === code) return null;
    throw err;
  };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//[redacted]@');
}
