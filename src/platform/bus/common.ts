/**
 * What both bus implementations share: subscription defaults and their validation, and the log
 * fields that describe a batch. Log lines name events by id and kind only: an event can carry
 * user names and patient references, which do not belong in logs.
 */
import type { VigilEvent } from '../../core/index.js';
import type { SubscribeOptions } from './bus.js';

/** Defaults documented on {@link SubscribeOptions}. */
export const SUBSCRIBE_DEFAULTS = { batchSize: 256, retryDelayMs: 1000, maxDeliver: 10 } as const;

/** Subscribe options with every default filled in. */
export type ResolvedSubscribeOptions = Required<SubscribeOptions>;

/** Fills in defaults and rejects nonsense early (a zero batch size would spin forever). */
export function resolveSubscribeOptions(options: SubscribeOptions): ResolvedSubscribeOptions {
  const resolved: ResolvedSubscribeOptions = {
    group: options.group,
    subjects: [...options.subjects],
    handler: options.handler,
    batchSize: options.batchSize ?? SUBSCRIBE_DEFAULTS.batchSize,
    retryDelayMs: options.retryDelayMs ?? SUBSCRIBE_DEFAULTS.retryDelayMs,
    maxDeliver: options.maxDeliver ?? SUBSCRIBE_DEFAULTS.maxDeliver,
  };
  if (resolved.group.trim() === '') throw new Error('bus subscribe: group must not be empty');
  if (resolved.subjects.length === 0) throw new Error('bus subscribe: at least one subject filter is needed');
  for (const s of resolved.subjects) {
    if (!/^[^\s.]+(\.[^\s.]+)*$/.test(s) || /(^|\.)>\./.test(s)) {
      throw new Error(`bus subscribe: invalid subject filter ${JSON.stringify(s)}`);
    }
  }
  if (!Number.isInteger(resolved.batchSize) || resolved.batchSize < 1) {
    throw new Error('bus subscribe: batchSize must be a positive integer');
  }
  if (!Number.isInteger(resolved.maxDeliver) || resolved.maxDeliver < 1) {
    throw new Error('bus subscribe: maxDeliver must be a positive integer');
  }
  if (!Number.isFinite(resolved.retryDelayMs) || resolved.retryDelayMs < 0) {
    throw new Error('bus subscribe: retryDelayMs must be zero or more');
  }
  return resolved;
}

/** Log fields for a batch: count, ids and distinct kinds; never the contents. */
export function batchLogFields(events: readonly Pick<VigilEvent, 'id' | 'kind'>[]): {
  count: number;
  ids: string[];
  kinds: string[];
} {
  return {
    count: events.length,
    ids: events.map((e) => e.id),
    kinds: [...new Set(events.map((e) => e.kind))],
  };
}

/** The error of a failed handler, reduced to what a log line may hold. */
export function errorLogFields(err: unknown): { name: string; message: string } {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: 'Error', message: String(err) };
}
