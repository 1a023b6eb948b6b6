/**
 * Target group attribute keys (`TargetGroupAttributes` in the template,
 * DescribeTargetGroupAttributes in the API) that Albatross sets or reads, and the ALB's values when
 * one is absent (docs/alb-behaviour.md §11–14).
 */
export const TARGET_GROUP_ATTRIBUTES = {
  deregistrationDelaySeconds: 'deregistration_delay.timeout_seconds',
  slowStartSeconds: 'slow_start.duration_seconds',
  algorithm: 'load_balancing.algorithm.type',
  anomalyMitigation: 'load_balancing.algorithm.anomaly_mitigation',
  crossZone: 'load_balancing.cross_zone.enabled',
  stickinessEnabled: 'stickiness.enabled',
  stickinessType: 'stickiness.type',
  lbCookieDurationSeconds: 'stickiness.lb_cookie.duration_seconds',
  appCookieDurationSeconds: 'stickiness.app_cookie.duration_seconds',
  appCookieName: 'stickiness.app_cookie.cookie_name',
} as const;

/** The ALB's values for attributes a target group leaves out. */
export const TARGET_GROUP_DEFAULTS = {
  deregistrationDelaySeconds: 300,
  slowStartSeconds: 0,
  stickinessDurationSeconds: 86_400,
} as const;

/** The largest deregistration delay a target group accepts. */
export const MAX_DEREGISTRATION_DELAY_SECONDS = 3600;

/** The longest lb_cookie stickiness a target group accepts: 7 days. */
export const MAX_LB_COOKIE_DURATION_SECONDS = 604_800;
