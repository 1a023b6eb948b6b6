/**
 * Memory after a burst of closed connections. 10k idle TLS connections closed together leave
 * their sockets as garbage in V8's old space, and each holds its native TLS state (OpenSSL
 * objects and buffers) until the garbage is collected. An idle process allocates nothing, so V8
 * collects nothing: 15 s after the last close the heap still had 196 MB committed (16 MB live),
 * plus the pages V8 pools for reuse. A memory-reducing full GC once the burst is over frees the
 * native state and gives V8's pages back (docs/proxy.md, "Where it differs from the ALB").
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's gc() with the options of its gc extension (`--expose-gc`). */
type ExposedGc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

let exposedGc: ExposedGc | null | undefined;

/**
 * V8's gc(), taken from a fresh context after turning `--expose-gc` on just for it (the flag is
 * turned off again, so no other context gets a gc global). The process is not started with
 * `--expose-gc`, so every launcher (npm scripts, the container, cluster workers) behaves alike.
 */
function gcFunction(): ExposedGc | null {
  if (exposedGc !== undefined) return exposedGc;
  const global = (globalThis as { gc?: ExposedGc }).gc;
  if (typeof global === 'function') return (exposedGc = global);
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    exposedGc = typeof gc === 'function' ? (gc as ExposedGc) : null;
  } catch {
    exposedGc = null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return exposedGc;
}

/**
 * A full GC that reduces the heap's footprint: V8's "last resort" collection, the one behind its
 * low-memory notification, which also releases pooled pages (a regular full GC keeps them: 174 MB
 * after the 10k connections). Blocks for tens of milliseconds, so it runs only after a burst.
 * Returns whether it could run.
 */
export function releaseMemory(): boolean {
  const gc = gcFunction();
  if (gc === null) return false;
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}

/** When memory is released after connections close. */
export interface ConnectionBurstOptions {
  /** Closed connections that make a burst. @default 1000 */
  readonly burst?: number;
  /** A burst's closes happen within this time of its first one; slower churn is not a burst. @default 60000 ms */
  readonly windowMs?: number;
  /** How long no connection may close before the burst counts as over. @default 2000 ms */
  readonly quietMs?: number;
  /** What releases memory. @default releaseMemory (a memory-reducing full GC) */
  readonly release?: () => void;
}

/**
 * Counts closed client connections and releases memory once a burst of them is over: at least
 * `burst` closed within `windowMs`, then none for `quietMs`. Steady traffic rarely pays for it: a
 * busy proxy keeps closing connections (the quiet period never comes), slow churn never makes a
 * burst, and V8's own collections keep up with both.
 */
export class ConnectionBurstRelease {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly quietMs: number;
  private readonly release: () => void;
  private closed = 0;
  /** When the first close of the current count happened (performance.now()). */
  private firstCloseAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(options: ConnectionBurstOptions = {}) {
    this.burst = options.burst ?? 1000;
    this.windowMs = options.windowMs ?? 60_000;
    this.quietMs = options.quietMs ?? 2000;
    this.release = options.release ?? releaseMemory;
    if (!(this.burst >= 1)) throw new Error(`memoryRelease.burst must be 1 or more (got ${this.burst})`);
    if (!(this.windowMs > 0)) throw new Error(`memoryRelease.windowMs must be above 0 (got ${this.windowMs})`);
    if (!(this.quietMs >= 0)) throw new Error(`memoryRelease.quietMs must be 0 or more (got ${this.quietMs})`);
  }

  /** One client connection closed. */
  connectionClosed(): void {
    const now = performance.now();
    if (this.closed === 0 || (this.closed < this.burst && now - this.firstCloseAt > this.windowMs)) {
      this.closed = 0;
      this.firstCloseAt = now;
    }
    this.closed++;
    if (this.closed < this.burst) return;
    if (this.timer !== undefined) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.closed = 0;
      this.release();
    }, this.quietMs);
    this.timer.unref();
  }

  /** Cancels a pending release (the proxy is stopping). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
