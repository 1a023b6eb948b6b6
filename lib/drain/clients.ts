/**
 * How the drain's SDK clients are configured, for the Lambda and the CLI alike: every call bounded
 * in time, and one retry loop (lib/drain/retry.ts) instead of two nested ones.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** A TCP/TLS connection not set up by then is abandoned (and retried): AWS endpoints connect in milliseconds. */
export const CONNECTION_TIMEOUT_MS = 3_000;
/**
 * A request not answered by then is abandoned with a TimeoutError (and retried). Every call the
 * drain makes is a small control-plane read or write that AWS answers well within a second.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

/** What the SDK clients of a drain share. */
export interface DrainClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Per-request bound in ms (the CLI lowers it to its --timeout). @default REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
}

/**
 * Client options: one SDK attempt per call, because the drain's own retry wraps every call with
 * the SDK's classification and, unlike the SDK's loop, knows the run's deadline — nested loops
 * would multiply the waits past it. The request handler bounds connect, request and idle time
 * (the SDK's defaults are none: a silent endpoint would hang a run until the Lambda timeout).
 */
export function drainClientConfig(config: DrainClientConfig = {}) {
  const requestTimeout = Math.max(1, Math.min(REQUEST_TIMEOUT_MS, config.requestTimeoutMs ?? REQUEST_TIMEOUT_MS));
  return {
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(CONNECTION_TIMEOUT_MS, requestTimeout),
      requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeout,
    }),
  };
}
