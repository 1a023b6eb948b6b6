/**
 * The ALB's limits on listener rules and forward actions (docs/alb-behaviour.md, "Listener rules"):
 * the config validates against them at synth, so a deploy never fails on one half-way.
 */

/** Listener rules per load balancer, default rules not counted (quota "Rules per Application Load Balancer"). */
export const MAX_RULES_PER_LOAD_BALANCER = 100;

/** Match evaluations (condition values) in one condition. */
export const MAX_VALUES_PER_CONDITION = 3;

/** Match evaluations (condition values) in one rule, over all its conditions. */
export const MAX_VALUES_PER_RULE = 5;

/** Wildcards (`*`, `?`) in one rule, over all its conditions. */
export const MAX_WILDCARDS_PER_RULE = 5;

/** Target groups one forward action spreads over. */
export const MAX_TARGET_GROUPS_PER_FORWARD = 5;

/** A target group's weight in a forward action: 0 to 999. */
export const MAX_FORWARD_WEIGHT = 999;

/** Target-group stickiness of a forward action: 1 second to 7 days. */
export const MAX_GROUP_STICKINESS_SECONDS = 604_800;

/** Rule priorities: 1 to 50000, unique per listener. */
export const MAX_RULE_PRIORITY = 50_000;
