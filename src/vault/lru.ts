/**
 * @module vault/lru
 * A bounded least-recently-used map with an optional maximum age. The vault caches unwrapped data
 * keys in it: bounded, so memory does not grow with the number of patients; aged, so a key shredded
 * by another server process stops being usable here after at most `maxAgeMs`.
 */

/** Options of {@link LruCache}. */
export interface LruOptions {
  /** Most entries kept; the least recently used goes first. */
  maxEntries: number;
  /** Entries older than this are treated as absent (0 or absent: no age limit). */
  maxAgeMs?: number;
  /** Milliseconds now (a test clock); `Date.now` by default. */
  now?: () => number;
}

/** A bounded LRU map; `onEvict` lets the owner wipe a secret value when it leaves the cache. */
export class LruCache<K, V> {
  readonly #map = new Map<K, { value: V; at: number }>();
  readonly #max: number;
  readonly #maxAge: number;
  readonly #now: () => number;
  readonly #onEvict: ((value: V) => void) | undefined;

  constructor(options: LruOptions, onEvict?: (value: V) => void) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.#max = options.maxEntries;
    this.#maxAge = options.maxAgeMs ?? 0;
    this.#now = options.now ?? Date.now;
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    if (this.#maxAge > 0 && this.#now() - hit.at > this.#maxAge) {
      this.delete(key);
      return undefined;
    }
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.#map.delete(key);
    this.#map.set(key, hit);
    return hit.value;
  }

  set(key: K, value: V): void {
    const old = this.#map.get(key);
    if (old) {
      this.#map.delete(key);
      if (old.value !== value) this.#onEvict?.(old.value);
    }
    this.#map.set(key, { value, at: this.#now() });
    while (this.#map.size > this.#max) {
      const first = this.#map.keys().next();
      if (first.done) break;
      this.delete(first.value);
    }
  }

  delete(key: K): boolean {
    const hit = this.#map.get(key);
    if (!hit) return false;
    this.#map.delete(key);
    this.#onEvict?.(hit.value);
    return true;
  }

  clear(): void {
    for (const key of [...this.#map.keys()]) this.delete(key);
  }
}
