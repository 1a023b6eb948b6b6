/**
 * Load balancer attribute keys (`LoadBalancerAttributes` in the template, DescribeLoadBalancerAttributes
 * in the API) that Albatross sets or reads, and the values the ALB uses when one is absent
 * (docs/alb-behaviour.md §17–18).
 */
export const LOAD_BALANCER_ATTRIBUTES = {
  idleTimeoutSeconds: 'idle_timeout.timeout_seconds',
  http2Enabled: 'routing.http2.enabled',
  dropInvalidHeaderFields: 'routing.http.drop_invalid_header_fields.enabled',
  desyncMitigationMode: 'routing.http.desync_mitigation_mode',
} as const;

/** Every desync mitigation mode the ALB knows (Albatross's config may allow fewer). */
export const ALB_DESYNC_MITIGATION_MODES = ['monitor', 'defensive', 'strictest'] as const;
export type AlbDesyncMitigationMode = (typeof ALB_DESYNC_MITIGATION_MODES)[number];

/** The ALB's values for attributes a template leaves out. */
export const LOAD_BALANCER_DEFAULTS = {
  idleTimeoutSeconds: 60,
  desyncMitigationMode: 'defensive' as AlbDesyncMitigationMode,
  http2Enabled: true,
  dropInvalidHeaderFields: false,
} as const;
