import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Target tracking of a {@link LoadBalancedService}: on CPU, and on requests per task. */
export interface LoadBalancedServiceScaling {
  /**
   * Average CPU utilization of the service to keep, in percent.
   * @default 70
   */
  readonly cpuTargetPercent?: number;
  /**
   * Requests per task per minute to keep, counted in the first target group.
   * @default 1000
   */
  readonly requestsPerTarget?: number;
  /**
   * Wait after a scale-in before the next one.
   * @default Duration.minutes(5)
   */
  readonly scaleInCooldown?: Duration;
  /**
   * Wait after a scale-out before the next one.
   * @default Duration.minutes(1)
   */
  readonly scaleOutCooldown?: Duration;
}

/** Properties of a {@link LoadBalancedService}. */
export interface LoadBalancedServiceProps {
  /** The cluster to run in. */
  readonly cluster: ecs.ICluster;
  /** The capacity provider to place tasks with. */
  readonly capacityProvider: ecs.AsgCapacityProvider;
  /** Every target group the container serves; the first one drives request-count scaling. */
  readonly targetGroups: elbv2.ApplicationTargetGroup[];
  /** The application's container image. */
  readonly image: ecs.ContainerImage;
  /**
   * Port the container listens on; ECS maps it to a dynamic host port.
   * @default 80
   */
  readonly containerPort?: number;
  /**
   * Memory reserved for the container (soft limit), in MiB.
   * @default 256
   */
  readonly memoryReservationMiB?: number;
  /**
   * CPU units reserved for the container (1024 = one vCPU).
   * @default 256
   */
  readonly cpu?: number;
  /**
   * Tasks at deploy time, and the fewest scaling keeps.
   * @default 2
   */
  readonly desiredCount?: number;
  /**
   * Most tasks scaling may run.
   * @default 20
   */
  readonly maxCount?: number;
  /**
   * How long a new task may start before failed load balancer health checks count.
   * @default Duration.minutes(1)
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * How long the container's log group keeps its events.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * CPU and request-count target tracking.
   * @default - the defaults of {@link LoadBalancedServiceScaling}
   */
  readonly scaling?: LoadBalancedServiceScaling;
}

/** Name of the application container in the task definition. */
export const APP_CONTAINER_NAME = 'app';

interface TaskCount {
  readonly desiredCount: number;
  readonly maxCount: number;
}

/** Task counts are checked by CDK's scalable task count itself. */
function targetGroupProblems(props: LoadBalancedServiceProps): string[] {
  return props.targetGroups.length === 0 ? ['LoadBalancedService targetGroups must contain at least one target group'] : [];
}

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
    const count: TaskCount = { desiredCount: props.desiredCount ?? 2, maxCount: props.maxCount ?? 20 };
    this.node.addValidation({ validate: () => targetGroupProblems(props) });
    const containerPort = props.containerPort ?? 80;
    const taskDefinition = new ecs.Ec2TaskDefinition(this, 'TaskDefinition', { networkMode: ecs.NetworkMode.BRIDGE });
    taskDefinition.addContainer(APP_CONTAINER_NAME, {
      image: props.image,
      memoryReservationMiB: props.memoryReservationMiB ?? 256,
      cpu: props.cpu ?? 256,
      portMappings: [{ containerPort, hostPort: 0, protocol: ecs.Protocol.TCP }],
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'app',
        logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH }),
      }),
    });
    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount: count.desiredCount,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      capacityProviderStrategies: [{ capacityProvider: props.capacityProvider.capacityProviderName, weight: 1 }],
      placementStrategies: [ecs.PlacementStrategy.spreadAcross(ecs.BuiltInAttributes.AVAILABILITY_ZONE), ecs.PlacementStrategy.spreadAcrossInstances()],
      healthCheckGracePeriod: props.healthCheckGracePeriod ?? Duration.minutes(1),
    });
    const target = this.service.loadBalancerTarget({ containerName: APP_CONTAINER_NAME, containerPort });
    for (const group of props.targetGroups) group.addTarget(target);
    this.addScaling(props.scaling ?? {}, count, props.targetGroups[0]);
  }

  /** `requestTargetGroup` is missing only when the props are invalid, which fails synth. */
  private addScaling(scaling: LoadBalancedServiceScaling, count: TaskCount, requestTargetGroup?: elbv2.ApplicationTargetGroup): void {
    const taskCount = this.service.autoScaleTaskCount({ minCapacity: count.desiredCount, maxCapacity: count.maxCount });
    const cooldowns = { scaleInCooldown: scaling.scaleInCooldown ?? Duration.minutes(5), scaleOutCooldown: scaling.scaleOutCooldown ?? Duration.minutes(1) };
    taskCount.scaleOnCpuUtilization('CpuTargetTracking', { targetUtilizationPercent: scaling.cpuTargetPercent ?? 70, ...cooldowns });
    if (!requestTargetGroup) return;
    taskCount.scaleOnRequestCount('RequestCountTargetTracking', {
      requestsPerTarget: scaling.requestsPerTarget ?? 1000,
      targetGroup: requestTargetGroup,
      ...cooldowns,
    });
  }
}
