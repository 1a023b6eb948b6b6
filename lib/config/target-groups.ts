/**
 * The target group of a service: its health check, draining and how it spreads requests over the
 * service's tasks. `targetGroupShape` and its rules are part of each service's settings
 * (`service.ts`).
 */

import { z } from 'zod';
import { ROUTING_ALGORITHMS } from './allowed';
import { report, whenValid } from './checks';
import { flag, integer, matching, oneOf, says, section, Settings, shown, unsettable, wholeNumber } from './fields';
import { MAX_DEREGISTRATION_DELAY_SECONDS, MAX_LB_COOKIE_DURATION_SECONDS } from '../alb/target-group-attributes';

const MATCHER = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;

/** HTTP codes a health check counts as success; ALB takes codes from 200 to 499. */
const matcherSchema = matching(MATCHER, 'HTTP codes like 200, 200,204 or 200-299').superRefine((matcher, ctx) => {
  for (const code of matcher.split(/[,-]/).map(Number)) {
    if (code < 200 || code > 499) report(ctx, [], `codes must be from 200 to 499 (got ${code})`);
  }
}, whenValid());

/** Health check of a target group (ALB semantics). */
export const healthCheckSchema = section({
  /** Path requested by the health check. @default '/health' */
  path: matching(/^\/[\x21-\x7e]{0,1023}$/, 'a path starting with / of at most 1024 printable characters'),
  /** Seconds between checks, 5–300. @default 30 */
  intervalSeconds: integer(5, 300),
  /** Seconds before a check fails, 2–120 and below the interval. @default 5 */
  timeoutSeconds: integer(2, 120),
  /** Consecutive successes before a target is healthy, 2–10. @default 2 */
  healthyThreshold: integer(2, 10),
  /** Consecutive failures before a target is unhealthy, 2–10. @default 2 */
  unhealthyThreshold: integer(2, 10),
  /** HTTP codes counted as success: `200`, `200,204` or `200-299` (codes 200–499). @default '200' */
  matcher: matcherSchema,
}).superRefine((hc, ctx) => {
  if (hc.timeoutSeconds >= hc.intervalSeconds) {
    report(ctx, ['timeoutSeconds'], (at) => `must be less than ${at('intervalSeconds')} (${hc.timeoutSeconds} >= ${hc.intervalSeconds})`);
  }
}, whenValid(['timeoutSeconds'], ['intervalSeconds']));

const slowStartParams = says((got) => `must be 0 (off) or an integer from 30 to 900 (got ${got})`);

/** The settings of one target group: how it checks, drains and spreads requests over its targets. */
export const targetGroupShape = {
  /**
   * Health check settings.
   * @default - `GET /health` every 30 s, timeout 5 s, 2 to become healthy, 2 to become unhealthy, 200
   */
  healthCheck: healthCheckSchema,
  /** Seconds a deregistering target drains, 0–3600 (the ALB's maximum). Keep it near your longest request. @default 30 */
  deregistrationDelaySeconds: integer(0, MAX_DEREGISTRATION_DELAY_SECONDS),
  /** Linear ramp-up of a new target's share, 0 (off) or 30–900 seconds; round_robin only. @default 0 */
  slowStartSeconds: wholeNumber(slowStartParams).refine((s) => s === 0 || (s >= 30 && s <= 900), slowStartParams),
  /** How requests are spread over targets. @default 'round_robin' */
  algorithm: oneOf(ROUTING_ALGORITHMS),
  /** Lower the weight of anomalous targets (weighted_random only). @default false */
  anomalyMitigation: flag(),
  /**
   * lb_cookie stickiness duration in seconds (1–604800); absent or `null` means no stickiness.
   * @default - none
   */
  stickinessSeconds: unsettable(integer(1, MAX_LB_COOKIE_DURATION_SECONDS)),
};

/** The rules between the settings of one target group, for any object holding `targetGroupShape`. */
export function checkTargetGroup(group: { slowStartSeconds: number; algorithm: string; anomalyMitigation: boolean }, ctx: z.core.$RefinementCtx<unknown>): void {
  // ELB rejects slow start with least_outstanding_requests at deploy time, and CDK rejects it with
  // weighted_random; failing here names the field instead.
  if (group.slowStartSeconds > 0 && group.algorithm !== 'round_robin') {
    report(ctx, ['slowStartSeconds'], `can only be used with algorithm "round_robin" (algorithm is ${shown(group.algorithm)})`);
  }
  if (group.anomalyMitigation && group.algorithm !== 'weighted_random') {
    report(ctx, ['anomalyMitigation'], `requires algorithm "weighted_random" (algorithm is ${shown(group.algorithm)})`);
  }
}

/** The fields `checkTargetGroup` reads. */
export const TARGET_GROUP_CHECK_READS = [['slowStartSeconds'], ['algorithm'], ['anomalyMitigation']] as const;

export type HealthCheckConfig = Settings<z.output<typeof healthCheckSchema>>;
