import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';

/**
 * What a {@link ServiceTargetGroup} uses for each prop left out, in plain numbers (seconds).
 * Defined once: the props' `@default`s state these, and the Albatross configuration's service
 * defaults start from them (lib/config/defaults.ts).
 */
export const SERVICE_TARGET_GROUP_DEFAULTS = {
  port: 80,
  healthCheck: { path: '/health', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' },
  deregistrationDelaySeconds: 30,
  slowStartSeconds: 0,
  algorithm: elbv2.TargetGroupLoadBalancingAlgorithmType.ROUND_ROBIN,
  anomalyMitigation: false,
} as const;

const DEFAULTS = SERVICE_TARGET_GROUP_DEFAULTS;

/** The health check of a {@link ServiceTargetGroup}; it always checks the port traffic goes to. */
export interface ServiceHealthCheck {
  /**
   * Path the load balancer requests.
   * @default '/health'
   */
  readonly path?: string;
  /**
   * Time between two checks of one target.
   * @default Duration.seconds(30)
   */
  readonly interval?: Duration;
  /**
   * Time without a response after which a check fails.
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /**
   * Consecutive passed checks that make an unhealthy target healthy.
   * @default 2
   */
  readonly healthyThreshold?: number;
  /**
   * Consecutive failed checks that make a healthy target unhealthy.
   * @default 2
   */
  readonly unhealthyThreshold?: number;
  /**
   * Status codes of a passed check: `200`, `200,204` or `200-299`.
   * @default '200'
   */
  readonly healthyHttpCodes?: string;
}

/** Properties of a {@link ServiceTargetGroup}. */
export interface ServiceTargetGroupProps {
  /** The VPC of the targets. */
  readonly vpc: ec2.IVpc;
  /**
   * Port of the targets. ECS overrides it per task with the dynamic host port.
   * @default 80
   */
  readonly port?: number;
  /**
   * The HTTP health check.
   * @default - the defaults of {@link ServiceHealthCheck}
   */
  readonly healthCheck?: ServiceHealthCheck;
  /**
   * How long a deregistering target keeps its in-flight requests before the load balancer drops
   * them.
   * @default Duration.seconds(30)
   */
  readonly deregistrationDelay?: Duration;
  /**
   * Ramp-up time of a new target, 30 seconds to 15 minutes.
   * @default - no slow start
   */
  readonly slowStart?: Duration;
  /**
   * How the load balancer picks a target.
   * @default elbv2.TargetGroupLoadBalancingAlgorithmType.ROUND_ROBIN
   */
  readonly algorithm?: elbv2.TargetGroupLoadBalancingAlgorithmType;
  /**
   * Whether the load balancer sends less traffic to targets that answer worse than the others.
   * Only with the `weighted_random` algorithm.
   * @default false
   */
  readonly anomalyMitigation?: boolean;
  /**
   * Lifetime of the load balancer's stickiness cookie (`AWSALB`).
   * @default - no stickiness
   */
  readonly stickinessCookieDuration?: Duration;
}

/** Problems with the props, each naming the prop; raised at synth, scoped to the construct. */
function problems(props: ServiceTargetGroupProps): string[] {
  if (props.anomalyMitigation && props.algorithm !== elbv2.TargetGroupLoadBalancingAlgorithmType.WEIGHTED_RANDOM) {
    return [`ServiceTargetGroup anomalyMitigation needs algorithm weighted_random (got ${props.algorithm ?? DEFAULTS.algorithm})`];
  }
  return [];
}

/**
 * An HTTP target group of EC2 instances: health checks on the traffic port, deregistration delay,
 * slow start, routing algorithm and lb_cookie stickiness.
 */
export class ServiceTargetGroup extends Construct {
  /** The target group. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: ServiceTargetGroupProps) {
    super(scope, id);
    this.node.addValidation({ validate: () => problems(props) });
    const check = props.healthCheck ?? {};
    const algorithm = props.algorithm ?? DEFAULTS.algorithm;
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      port: props.port ?? DEFAULTS.port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      healthCheck: {
        enabled: true,
        // Explicit: ECS registers each task on its own dynamic host port, and a health check on a
        // fixed port would miss every task (cfn-lint E3049 asks for it to be stated).
        port: 'traffic-port',
        path: check.path ?? DEFAULTS.healthCheck.path,
        interval: check.interval ?? Duration.seconds(DEFAULTS.healthCheck.intervalSeconds),
        timeout: check.timeout ?? Duration.seconds(DEFAULTS.healthCheck.timeoutSeconds),
        healthyThresholdCount: check.healthyThreshold ?? DEFAULTS.healthCheck.healthyThreshold,
        unhealthyThresholdCount: check.unhealthyThreshold ?? DEFAULTS.healthCheck.unhealthyThreshold,
        healthyHttpCodes: check.healthyHttpCodes ?? DEFAULTS.healthCheck.matcher,
      },
      deregistrationDelay: props.deregistrationDelay ?? Duration.seconds(DEFAULTS.deregistrationDelaySeconds),
      slowStart: props.slowStart,
      loadBalancingAlgorithmType: algorithm,
      enableAnomalyMitigation: algorithm === elbv2.TargetGroupLoadBalancingAlgorithmType.WEIGHTED_RANDOM ? (props.anomalyMitigation ?? DEFAULTS.anomalyMitigation) : undefined,
      stickinessCookieDuration: props.stickinessCookieDuration,
    });
  }
}
