/**
 * Per-key request counts over a sliding window, for rate-based rules. WAF counts "the requests for
 * the N seconds immediately preceding the current time"; keeping every timestamp would cost memory
 * per request, so each key keeps two counters: the current window and the one before it, and the
 * estimate weighs the previous one by how much of it still lies inside the sliding window. Within a
 * key's first window the count is exact. Windows start at a key's first request.
 *
 * Memory is bounded: at most `maxKeys` keys per rule. When full, keys idle for two windows go
 * first, then the oldest.
 */

interface Counter {
  /** Start of the current window, ms. */
  start: number;
  current: number;
  previous: number;
}

/** Keys tracked per rule by default (WAF itself tracks a bounded number of clients per rule). */
export const DEFAULT_MAX_KEYS = 100_000;

export class RateTracker {
  private readonly counters = new Map<string, Counter>();
  private readonly windowMs: number;

  constructor(
    windowSeconds: number,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {
    this.windowMs = windowSeconds * 1000;
  }

  /** Counts one request for `key` at `now` (ms) and returns the requests in the window ending now. */
  hit(key: string, now: number): number {
    let c = this.counters.get(key);
    if (c === undefined) {
      if (this.counters.size >= this.maxKeys) this.evict(now);
      c = { start: now, current: 0, previous: 0 };
      this.counters.set(key, c);
    } else {
      // Most recently seen last, so that eviction drops the least recently seen clients, never a busy one.
      this.counters.delete(key);
      this.counters.set(key, c);
    }
    if (now - c.start >= this.windowMs) {
      const windows = Math.floor((now - c.start) / this.windowMs);
      c.previous = windows === 1 ? c.current : 0;
      c.current = 0;
      c.start += windows * this.windowMs;
    }
    c.current++;
    const overlap = 1 - (now - c.start) / this.windowMs;
    return c.current + c.previous * overlap;
  }

  /** Keys tracked now (tests look at the bound). */
  get size(): number {
    return this.counters.size;
  }

  private evict(now: number): void {
    for (const [key, c] of this.counters) if (now - c.start >= 2 * this.windowMs) this.counters.delete(key);
    // Still full: the least recently seen keys (hit() keeps Map order by last use) make room for a tenth.
    if (this.counters.size < this.maxKeys) return;
    let drop = Math.max(1, Math.floor(this.maxKeys / 10));
    for (const key of this.counters.keys()) {
      this.counters.delete(key);
      if (--drop === 0) break;
    }
  }
}
