/**
 * The lists a setting must be one of, each taken from where the fact lives: CDK's enums for the
 * TLS policies and the log retentions, the shared ALB vocabulary (`lib/alb/`) for the routing
 * algorithms. Nothing here retypes a list another module already owns.
 */

import { SslPolicy } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ROUTING_ALGORITHMS, type RoutingAlgorithm } from '../alb/routing-algorithms';
import { RATE_LIMIT_WINDOWS_SECONDS, type RateLimitWindowSeconds } from '../waf/rate-based';

export { ROUTING_ALGORITHMS, type RoutingAlgorithm };

/**
 * Modern policies only: TLS 1.3 offered and TLS 1.2 as the floor. `TLS13-1-0-*` and `TLS13-1-1-*`
 * also offer TLS 1.3 but still accept TLS 1.0/1.1, so they are left out. A policy CDK adds to
 * `SslPolicy` in a later release is allowed as soon as the dependency is updated.
 */
export const MODERN_TLS_POLICIES: readonly string[] = Object.values(SslPolicy).filter((policy) => /^ELBSecurityPolicy-TLS13-1-[23]-/.test(policy));

/**
 * Retention periods CloudWatch Logs accepts, in days, ascending: CDK's `RetentionDays` without
 * `INFINITE`, which is CDK's marker for "never expire" (9999 is no CloudWatch value) and would let
 * logs grow without bound.
 */
export const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays)
  .filter((days): days is RetentionDays => typeof days === 'number' && days !== RetentionDays.INFINITE)
  .sort((a, b) => a - b);

/** Desync mitigation modes we allow: `monitor` is left out on purpose (it blocks nothing). */
export const DESYNC_MITIGATION_MODES = ['defensive', 'strictest'] as const;
export type DesyncMitigationMode = (typeof DESYNC_MITIGATION_MODES)[number];

/** Content types an ALB fixed-response action accepts. */
export const FIXED_RESPONSE_CONTENT_TYPES = ['text/plain', 'text/css', 'text/html', 'application/javascript', 'application/json'] as const;
export type FixedResponseContentType = (typeof FIXED_RESPONSE_CONTENT_TYPES)[number];

/** `X-Frame-Options` values the ALB listener attribute accepts (ALLOW-FROM is obsolete). */
export const FRAME_OPTIONS = ['DENY', 'SAMEORIGIN'] as const;
export type FrameOptions = (typeof FRAME_OPTIONS)[number];

/** Evaluation windows a WAF rate-based rule accepts, in seconds (lib/waf/rate-based.ts). */
export { RATE_LIMIT_WINDOWS_SECONDS, type RateLimitWindowSeconds };
