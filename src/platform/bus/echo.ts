/**
 * @module platform/bus/echo
 * A `Bus` decorator that hands every published event to in-process listeners synchronously, before
 * the bus has it. The gateway's session cache needs this: when identity disables a user or a
 * session is revoked in this process, the very next check must see it, not whenever the bus
 * delivers. Other processes learn the same through their bus subscription.
 */
import type { VigilEvent } from '../../core/index.js';
import type { Bus, BusStats, SubscribeOptions, Subscription } from './bus.js';

export type EventListener = (event: VigilEvent) => void;

export class EchoBus implements Bus {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly inner: Bus) {}

  get kind(): Bus['kind'] {
    return this.inner.kind;
  }

  /** Adds a listener; returns a function that removes it. A listener that throws is ignored. */
  listen(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async publish(events: readonly VigilEvent[]): Promise<void> {
    for (const e of events) {
      for (const l of this.listeners) {
        try {
          l(e);
        } catch {
          // A listener's failure must never fail the publisher.
        }
      }
    }
    await this.inner.publish(events);
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(options);
  }

  stats(): BusStats {
    return this.inner.stats();
  }

  ready(): Promise<boolean> {
    return this.inner.ready();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
