import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ScalingConfig, ServiceConfig } from '../lib/config';

/** Properties of a {@link LoadBalancedService}. */
export interface LoadBalancedServiceProps {
  /** The cluster to run in. */
  readonly cluster: ecs.ICluster;
  /** The capacity provider to place tasks with. */
  readonly capacityProvider: ecs.AsgCapacityProvider;
  /** Image, port, size and task count. */
  readonly service: ServiceConfig;
  /** CPU and request-count target tracking. */
  readonly scaling: ScalingConfig;
  /** Every target group the container serves; the first one drives request-count scaling. */
  readonly targetGroups: elbv2.ApplicationTargetGroup[];
}

/** Name of the application container in the task definition. */
export const APP_CONTAINER_NAME = 'app';

/**
 * An ECS-on-EC2 service in bridge mode with dynamic host ports, registered in every target group,
 * with a deployment circuit breaker that rolls back, 100/200 % deployment bounds, and CPU and
 * request-count target tracking.
 */
export class LoadBalancedService extends Construct {
  /** The ECS service. */
  readonly service: ecs.Ec2Service;

  constructor(scope: Construct, id: string, props: LoadBalancedServiceProps) {
    super(scope, id);
    if (props.targetGroups.length === 0) {
      throw new Error('LoadBalancedService targetGroups must contain at least one target group');
    }
    const s = props.service;
    const taskDefinition = new ecs.Ec2TaskDefinition(this, 'TaskDefinition', { networkMode: ecs.NetworkMode.BRIDGE });
    taskDefinition.addContainer(APP_CONTAINER_NAME, {
      image: ecs.ContainerImage.fromRegistry(s.image),
      memoryReservationMiB: s.memoryReservationMiB,
      cpu: s.cpu,
      portMappings: [{ containerPort: s.containerPort, hostPort: 0, protocol: ecs.Protocol.TCP }],
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'app',
        logGroup: new logs.LogGroup(this, 'Logs', { retention: s.logRetentionDays as logs.RetentionDays }),
      }),
    });
    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount: s.desiredCount,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      capacityProviderStrategies: [{ capacityProvider: props.capacityProvider.capacityProviderName, weight: 1 }],
      placementStrategies: [ecs.PlacementStrategy.spreadAcross(ecs.BuiltInAttributes.AVAILABILITY_ZONE), ecs.PlacementStrategy.spreadAcrossInstances()],
      healthCheckGracePeriod: Duration.seconds(s.healthCheckGracePeriodSeconds),
    });
    const target = this.service.loadBalancerTarget({ containerName: APP_CONTAINER_NAME, containerPort: s.containerPort });
    for (const group of props.targetGroups) group.addTarget(target);
    this.addScaling(props);
  }

  private addScaling(props: LoadBalancedServiceProps): void {
    const sc = props.scaling;
    const taskCount = this.service.autoScaleTaskCount({ minCapacity: props.service.desiredCount, maxCapacity: props.service.maxCount });
    const cooldowns = { scaleInCooldown: Duration.seconds(sc.scaleInCooldownSeconds), scaleOutCooldown: Duration.seconds(sc.scaleOutCooldownSeconds) };
    taskCount.scaleOnCpuUtilization('CpuTargetTracking', { targetUtilizationPercent: sc.cpuTargetPercent, ...cooldowns });
    taskCount.scaleOnRequestCount('RequestCountTargetTracking', {
      requestsPerTarget: sc.requestsPerTarget,
      targetGroup: props.targetGroups[0],
      ...cooldowns,
    });
  }
}
