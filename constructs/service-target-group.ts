import { Duration, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { TargetGroupConfig } from '../lib/config';
import { TARGET_GROUP_NAME_TAG } from '../lib/alb/tags';


/** Properties of a {@link ServiceTargetGroup}. */
export interface ServiceTargetGroupProps {
  /** The VPC of the targets. */
  readonly vpc: ec2.IVpc;
  /** Short name of the group (`app`, `api`, …): used in rules, tags and the local proxy. */
  readonly name: string;
  /** Health check, draining, slow start, algorithm and stickiness settings. */
  readonly settings: TargetGroupConfig;
  /**
   * Port of the targets. ECS overrides it per task with the dynamic host port.
   * @default 80
   */
  readonly port?: number;
}

/**
 * An HTTP target group of EC2 instances configured from one {@link TargetGroupConfig}: health
 * checks, deregistration delay, slow start, routing algorithm and lb_cookie stickiness.
 */
export class ServiceTargetGroup extends Construct {
  /** The target group. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: ServiceTargetGroupProps) {
    super(scope, id);
    const s = props.settings;
    const weightedRandom = s.algorithm === 'weighted_random';
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      port: props.port ?? 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      healthCheck: {
        enabled: true,
        // Explicit: ECS registers each task on its own dynamic host port, and a health check on a
        // fixed port would miss every task (cfn-lint E3049 asks for it to be stated).
        port: 'traffic-port',
        path: s.healthCheck.path,
        interval: Duration.seconds(s.healthCheck.intervalSeconds),
        timeout: Duration.seconds(s.healthCheck.timeoutSeconds),
        healthyThresholdCount: s.healthCheck.healthyThreshold,
        unhealthyThresholdCount: s.healthCheck.unhealthyThreshold,
        healthyHttpCodes: s.healthCheck.matcher,
      },
      deregistrationDelay: Duration.seconds(s.deregistrationDelaySeconds),
      slowStart: s.slowStartSeconds > 0 ? Duration.seconds(s.slowStartSeconds) : undefined,
      loadBalancingAlgorithmType: s.algorithm as elbv2.TargetGroupLoadBalancingAlgorithmType,
      enableAnomalyMitigation: weightedRandom ? s.anomalyMitigation : undefined,
      stickinessCookieDuration: s.stickinessSeconds !== undefined ? Duration.seconds(s.stickinessSeconds) : undefined,
    });
    Tags.of(this.targetGroup).add(TARGET_GROUP_NAME_TAG, props.name);
  }
}
