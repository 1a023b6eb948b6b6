/**
 * How much one stack holds. Imports nothing: the configuration validates against these before
 * the stack is built (lib/config/service.ts), so a config error names the field instead of a
 * failed synth.
 */

/** CloudFormation's quota of resources in one stack; CDK refuses to synthesize more. */
export const MAX_RESOURCES_PER_STACK = 500;

/**
 * The most services one stack holds. Each service adds about a dozen resources (target group,
 * task definition with its roles, log group, ECS service, scalable target, two scaling policies,
 * three alarms), so CloudFormation's 500 resources bound the services long before the ALB's 100
 * target groups do. This many always fit, with every optional feature and the ALB's 100 rules;
 * one more may not (test/lib/stacks/limits.test.ts checks both). The alarms do not bound it: each
 * alarm reads at most two metrics of the 10 CloudWatch allows (constructs/service-alarms.ts).
 */
export const MAX_SERVICES = 23;
