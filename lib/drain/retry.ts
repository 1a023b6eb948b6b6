import { isRetryableAwsError, isThrottling, RetriesExhausted } from './errors';

/** How calls are retried when AWS throttles them or fails in a way that may pass (5xx, resets, timeouts). */
export interface RetryPolicy {
  /** Attempts in all, the first included; `Infinity` retries until `deadline`. @default 6 */
  readonly attempts?: number;
  /** Epoch ms after which no retry starts: a Lambda run's deadline, the CLI's --timeout. @default none */
  readonly deadline?: number;
  /** First backoff ceiling in ms; doubles each time. @default 200 */
  readonly baseMs?: number;
  /** Largest backoff ceiling in ms. @default 5000 */
  readonly maxMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
  /** Told about every throttled attempt, so a poller can slow down as a whole. */
  readonly onThrottle?: (error: unknown) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `call`, retrying the errors the SDK classifies as retryable with exponential backoff and full jitter. */
export async function withRetry<T>(call: () => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const attempts = policy.attempts ?? 6;
  const base = policy.baseMs ?? 200;
  const max = policy.maxMs ?? 5000;
  const wait = policy.sleep ?? sleep;
  const random = policy.random ?? Math.random;
  const now = policy.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryableAwsError(error)) throw error;
      if (isThrottling(error)) policy.onThrottle?.(error);
      if (attempt >= attempts) throw new RetriesExhausted(error, 'attempts', attempt);
      const ms = Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1)));
      if (policy.deadline !== undefined && now() + ms >= policy.deadline) throw new RetriesExhausted(error, 'deadline', attempt);
      await wait(ms);
    }
  }
}
