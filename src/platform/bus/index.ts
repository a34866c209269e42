/**
 * @module platform/bus
 * The event bus's public face: the {@link Bus} interface, both implementations, and `createBus`,
 * which picks one from the configuration. Domains depend on `Bus` only, never on an implementation.
 */
import type { VigilConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Bus } from './bus.js';
import { MemoryBus } from './memory.js';
import { NatsBus } from './nats.js';

export { type Bus, type BusStats, type SubscribeOptions, type Subscription, subjectMatches } from './bus.js';
export { SUBSCRIBE_DEFAULTS } from './common.js';
export { EchoBus, type EventListener } from './echo.js';
export { DEFAULT_MEMORY_CAPACITY, MemoryBus, type MemoryBusOptions } from './memory.js';
export { consumerName, NatsBus, type NatsBusConnectOptions, type NatsBusOptions } from './nats.js';

/**
 * Builds the configured bus: `memory` (capacity `queueSize` per group) or `nats` (connects and
 * ensures the stream; rejects with an UNAVAILABLE `VigilError` if NATS cannot be reached).
 */
export async function createBus(config: VigilConfig['bus'], logger: Logger): Promise<Bus> {
  if (config.kind === 'nats') {
    return NatsBus.connect({ url: config.natsUrl, token: config.natsToken, stream: config.stream, logger });
  }
  return new MemoryBus({ capacity: config.queueSize, logger });
}
