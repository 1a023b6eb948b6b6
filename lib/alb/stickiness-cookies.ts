/**
 * The cookies of the ALB's two kinds of stickiness (docs/alb-behaviour.md, "Stickiness"): the
 * proxy sets and honours them, the conformance suite checks them on a deployment.
 */

/** lb_cookie stickiness of a target group: names the target. */
export const STICKY_COOKIE = 'AWSALB';
/** The same value for cross-origin requests (`SameSite=None; Secure`). */
export const STICKY_CORS_COOKIE = 'AWSALBCORS';

/**
 * Target group stickiness of a weighted forward: keeps a client on the target group it was first
 * sent to, for the forward's `TargetGroupStickinessConfig.DurationSeconds`
 * ("TargetGroupStickinessConfig", ELB API reference).
 */
export const GROUP_STICKY_COOKIE = 'AWSALBTG';
/** The same value for cross-origin requests. */
export const GROUP_STICKY_CORS_COOKIE = 'AWSALBTGCORS';
