/**
 * The services behind the load balancer, each its own ECS service with its own container, target
 * group and scaling, and the Auto Scaling group they all run on.
 */

import { z } from 'zod';
import { MAX_SERVICES } from '../stacks/limits';
import { LOG_RETENTION_DAYS } from './allowed';
import { report, whenValid } from './checks';
import { integer, matching, oneOf, section, Settings, shown } from './fields';
import { checkTargetGroup, TARGET_GROUP_CHECK_READS, targetGroupShape } from './target-groups';

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,20}$/;
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
/** The most services one deployment holds, set by the stack (CloudFormation's resources per stack). */
export { MAX_SERVICES };

/** The settings of one service's container and its task count. */
export const containerShape = {
  /**
   * Container image of the application. It must answer the target groups' health check path.
   * The default is a tiny public echo server that answers `/health` with 200 on port 80, so a
   * first deploy comes up healthy before you bring your own image.
   * @default 'traefik/whoami:v1.11.0'
   */
  image: matching(/^[\w.\-/:@]+$/, 'a container image reference'),
  /** Port the container listens on (mapped to a dynamic host port), 1–65535. @default 80 */
  containerPort: integer(1, 65535),
  /** Memory reservation of the container in MiB, 6–122880. @default 256 */
  memoryReservationMiB: integer(6, 122880),
  /** CPU units of the container (1024 = one vCPU), 0–10240. @default 256 */
  cpu: integer(0, 10240),
  /** Tasks to run at deploy time and the floor of task scaling, 1–1000. @default 2 */
  desiredCount: integer(1, 1000),
  /** Ceiling of task scaling, from desiredCount to 1000. @default 20 */
  maxCount: integer(1, 1000),
  /**
   * Seconds ECS ignores failing load balancer health checks of a new task, 0–7200. Cover the
   * app's start-up plus `healthyThreshold × intervalSeconds`.
   * @default 60
   */
  healthCheckGracePeriodSeconds: integer(0, 7200),
  /**
   * Days to keep the container logs in CloudWatch Logs (a value CloudWatch accepts: 1, 3, 5, 7,
   * 14, 30, 60, 90, …).
   * @default 30
   */
  logRetentionDays: oneOf(LOG_RETENTION_DAYS),
};

/** The rule between the task counts, for any object holding `containerShape`. */
export function checkTaskCounts(s: { desiredCount: number; maxCount: number }, ctx: z.core.$RefinementCtx<unknown>): void {
  if (s.maxCount < s.desiredCount) report(ctx, ['maxCount'], `must be an integer from ${s.desiredCount} to 1000 (got ${s.maxCount})`);
}

/** The fields `checkTaskCounts` reads. */
export const TASK_COUNT_CHECK_READS = [['maxCount'], ['desiredCount']] as const;

/** The EC2 Auto Scaling group that gives ECS its capacity. */
export const capacitySchema = section({
  /** EC2 instance type. @default 't3.small' */
  instanceType: matching(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as t3.small'),
  /** Minimum instances, 2–1000 (at least one per AZ). @default 2 */
  minCapacity: integer(2, 1000),
  /** Maximum instances, from minCapacity to 1000. @default 10 */
  maxCapacity: integer(2, 1000),
  /** Desired instances, between min and max. @default 2 */
  desiredCapacity: integer(2, 1000),
  /** Seconds before ELB health checks count on a new instance, 0–7200. @default 300 */
  healthCheckGracePeriodSeconds: integer(0, 7200),
  /**
   * Heartbeat timeout of the terminate lifecycle hook, 90–7200 seconds (AWS allows 30, but the
   * drain Lambda sends a heartbeat at the start of each run, and each run, at least 60 s, must end
   * inside one heartbeat).
   * @default 300
   */
  lifecycleHeartbeatSeconds: integer(90, 7200),
})
  .superRefine((c, ctx) => {
    if (c.maxCapacity < c.minCapacity) report(ctx, ['maxCapacity'], `must be an integer from ${c.minCapacity} to 1000 (got ${c.maxCapacity})`);
  }, whenValid(['minCapacity'], ['maxCapacity']))
  .superRefine((c, ctx) => {
    if (c.desiredCapacity < c.minCapacity || c.desiredCapacity > c.maxCapacity) {
      report(ctx, ['desiredCapacity'], `must be an integer from ${c.minCapacity} to ${c.maxCapacity} (got ${c.desiredCapacity})`);
    }
  }, whenValid(['minCapacity'], ['maxCapacity'], ['desiredCapacity']));

/** Target tracking of one service's task count. */
export const scalingSchema = section({
  /** Target average CPU utilisation in percent, 1–100. @default 70 */
  cpuTargetPercent: integer(1, 100),
  /** Target ALB requests per target per minute, 1–1000000. @default 1000 */
  requestsPerTarget: integer(1, 1_000_000),
  /** Seconds to wait after scaling in, 0–86400. @default 300 */
  scaleInCooldownSeconds: integer(0, 86400),
  /** Seconds to wait after scaling out, 0–86400. @default 60 */
  scaleOutCooldownSeconds: integer(0, 86400),
});

/** Environment variables of a container: names as a shell takes them, string values. */
export const containerEnvironmentSchema = z.record(z.string().regex(ENVIRONMENT_NAME), z.string({ error: (issue) => `must be a string (got ${shown(issue.input)}); write numbers and flags in quotes` }), {
  error: (issue) => {
    if (issue.code === 'invalid_key') return 'is not a valid variable name: letters, digits and _, not starting with a digit';
    return issue.code === 'invalid_type' ? `must be an object of environment variables by name (got ${shown(issue.input)})` : undefined;
  },
});

/** One service: its container, its target group and its scaling. */
export const serviceSchema = section({
  ...containerShape,
  /**
   * Environment variables of the container (plain values; keep secrets in Secrets Manager or SSM).
   * @default {}
   */
  environment: containerEnvironmentSchema,
  ...targetGroupShape,
  /**
   * Target tracking of the task count, between desiredCount and maxCount.
   * @default - CPU 70 %, 1000 requests per target per minute, cooldowns 300 s in and 60 s out
   */
  scaling: scalingSchema,
})
  .superRefine(checkTaskCounts, whenValid(...TASK_COUNT_CHECK_READS))
  .superRefine(checkTargetGroup, whenValid(...TARGET_GROUP_CHECK_READS));

/**
 * Services by name; the name is the target group's, used in rules, in the local proxy's `--targets`
 * and in alarm names.
 */
export const servicesSchema = z
  .record(z.string(), serviceSchema, { error: (issue) => (issue.code === 'invalid_type' ? `must be an object of services by name (got ${shown(issue.input)})` : undefined) })
  .superRefine((services, ctx) => {
    const names = Object.keys(services);
    if (names.length < 1 || names.length > MAX_SERVICES) {
      report(ctx, [], `must define 1 to ${MAX_SERVICES} services (got ${names.length}): each service adds about a dozen resources to the stack, and CloudFormation allows 500`);
    }
    for (const name of names) {
      if (!SERVICE_NAME.test(name)) report(ctx, [name], 'name must be lower-case letters, digits and dashes, start with a letter, at most 21 characters');
    }
  }, whenValid({ keysOf: [] }));

export type ServiceConfig = Settings<z.output<typeof serviceSchema>>;
export type CapacityConfig = Settings<z.output<typeof capacitySchema>>;
export type ScalingConfig = Settings<z.output<typeof scalingSchema>>;
