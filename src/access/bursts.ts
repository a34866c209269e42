/**
 * @module access/bursts
 * Recent failures and MFA prompts per user and per address, in memory, fed by identity's bus events
 * (`auth.login.failed`, `auth.mfa.challenged`, `auth.mfa.failed`) so every process sees the bursts
 * of all of them. Bounded: each key keeps at most a few dozen timestamps, and the least recently
 * touched keys go first when the map is full.
 */
import type { VigilEvent } from '../core/index.js';

const MAX_PER_KEY = 64;

/** Timestamps per key inside a sliding window. */
export class WindowCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 50_000,
  ) {}

  add(key: string, at: number): void {
    let list = this.hits.get(key);
    if (list) this.hits.delete(key);
    else list = [];
    list.push(at);
    if (list.length > MAX_PER_KEY) list.splice(0, list.length - MAX_PER_KEY);
    this.hits.set(key, list);
    if (this.hits.size > this.maxKeys) {
      const oldest = this.hits.keys().next().value;
      if (oldest !== undefined) this.hits.delete(oldest);
    }
  }

  count(key: string, now: number): number {
    const list = this.hits.get(key);
    if (!list) return 0;
    const from = now - this.windowMs;
    let n = 0;
    for (const t of list) if (t > from && t <= now + 60_000) n++;
    if (n === 0) this.hits.delete(key);
    return n;
  }
}

/** Burst counters of the gateway. */
export class Bursts {
  readonly windowMinutes: number;
  private readonly userFailures: WindowCounter;
  private readonly sourceFailures: WindowCounter;
  private readonly mfaPrompts: WindowCounter;
  private readonly mfaFailures: WindowCounter;

  constructor(windowMinutes = 10) {
    this.windowMinutes = windowMinutes;
    const ms = windowMinutes * 60_000;
    this.userFailures = new WindowCounter(ms);
    this.sourceFailures = new WindowCounter(ms);
    this.mfaPrompts = new WindowCounter(ms);
    this.mfaFailures = new WindowCounter(ms);
  }

  /** Counts one identity event (others are ignored). */
  observe(event: VigilEvent): void {
    const at = Date.parse(event.time);
    if (!Number.isFinite(at)) return;
    const user = event.user?.name?.toLowerCase();
    const ip = event.net?.srcIp;
    switch (event.kind) {
      case 'auth.login.failed':
        if (user) this.userFailures.add(user, at);
        if (ip) this.sourceFailures.add(ip, at);
        break;
      case 'auth.mfa.failed':
        if (user) this.mfaFailures.add(user, at);
        if (ip) this.sourceFailures.add(ip, at);
        break;
      case 'auth.mfa.challenged':
        if (user) this.mfaPrompts.add(user, at);
        break;
    }
  }

  userFailuresOf(username: string, now: number): number {
    return this.userFailures.count(username, now);
  }

  sourceFailuresOf(ip: string, now: number): number {
    return this.sourceFailures.count(ip, now);
  }

  mfaOf(username: string, now: number): { prompts: number; failures: number } {
    return { prompts: this.mfaPrompts.count(username, now), failures: this.mfaFailures.count(username, now) };
  }
}
