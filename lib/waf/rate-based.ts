/**
 * WAF's rate-based rule settings (AWS WAF Developer Guide, "Rate-based rule high-level settings"):
 * the web ACL construct, the config validation and the proxy's web ACL reader all take them from here.
 */

/** Evaluation windows a rate-based rule accepts, in seconds. */
export const RATE_LIMIT_WINDOWS_SECONDS = [60, 120, 300, 600] as const;
export type RateLimitWindowSeconds = (typeof RATE_LIMIT_WINDOWS_SECONDS)[number];

/** The window WAF uses when a rule leaves `EvaluationWindowSec` out. */
export const DEFAULT_RATE_LIMIT_WINDOW_SECONDS: RateLimitWindowSeconds = 300;

/** Requests per aggregation key in one window: WAF accepts 10 to 2,000,000,000. */
export const RATE_LIMIT_RANGE = { min: 10, max: 2_000_000_000 } as const;

/** Whether WAF accepts `limit` as a rate-based rule's limit. */
export function isRateLimit(limit: number): boolean {
  return Number.isInteger(limit) && limit >= RATE_LIMIT_RANGE.min && limit <= RATE_LIMIT_RANGE.max;
}
