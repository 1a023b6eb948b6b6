/**
 * Routing algorithms an Application Load Balancer target group supports, as the
 * `load_balancing.algorithm.type` target group attribute spells them.
 *
 * Part of the shared ALB vocabulary (`lib/alb/`): the stack, the proxy and the drain import these
 * facts from here, and nothing in `lib/alb/` imports aws-cdk-lib (docs/alb-behaviour.md §11).
 */
export const ROUTING_ALGORITHMS = ['round_robin', 'least_outstanding_requests', 'weighted_random'] as const;
export type RoutingAlgorithm = (typeof ROUTING_ALGORITHMS)[number];

/** What a target group without `load_balancing.algorithm.type` uses. */
export const DEFAULT_ROUTING_ALGORITHM: RoutingAlgorithm = 'round_robin';
