import { isThrottling } from './errors';

/** How calls are retried when AWS throttles them. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 6 */
  readonly attempts?: number;
  /** First backoff ceiling in ms; doubles each time. @default 200 */
  readonly baseMs?: number;
  /** Largest backoff ceiling in ms. @default 5000 */
  readonly maxMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Told about every throttled attempt, so a poller can slow down as a whole. */
  readonly onThrottle?: (error: unknown) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `call`, retrying throttling errors with exponential backoff and full jitter. */
export async function withThrottlingRetry<T>(call: () => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const attempts = policy.attempts ?? 6;
  const base = policy.baseMs ?? 200;
  const max = policy.maxMs ?? 5000;
  const wait = policy.sleep ?? sleep;
  const random = policy.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error)) throw error;
      policy.onThrottle?.(error);
      if (attempt >= attempts) throw error;
      await wait(Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1))));
    }
  }
}
