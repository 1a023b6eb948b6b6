import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
   * Requests per task per minute to keep, counted in the service's own target group.
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
  /**
   * The service's own target group: its tasks register there, and its request count drives
   * request-count scaling. It must already be attached to a listener (a rule or a default action
   * forwarding to it), which names the load balancer the scaling metric counts on.
   */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The application's container image. */
  readonly image: ecs.ContainerImage;
  /**
   * Environment variables of the container.
   * @default - none
   */
  readonly environment?: Record<string, string>;
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

/** Problems with the props, each naming the prop; raised at synth, scoped to the construct. */
function problems(count: TaskCount, containerPort: number): string[] {
  const found: string[] = [];
  if (count.maxCount < count.desiredCount) found.push(`LoadBalancedService maxCount must be at least desiredCount (${count.desiredCount}) (got ${count.maxCount})`);
  if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) {
    found.push(`LoadBalancedService containerPort must be an integer from 1 to 65535 (got ${containerPort})`);
  }
  return found;
}

/**
 * One ECS-on-EC2 service in bridge mode with dynamic host ports: its own task definition and
 * container, registered in its own target group only, with a deployment circuit breaker that
 * rolls back, 100/200 % deployment bounds, and CPU and request-count target tracking. Several of
 * them share one cluster and its capacity provider.
 */
export class LoadBalancedService extends Construct {
  /** The ECS service. */
  readonly service: ecs.Ec2Service;

  constructor(scope: Construct, id: string, props: LoadBalancedServiceProps) {
    super(scope, id);
    const count: TaskCount = { desiredCount: props.desiredCount ?? 2, maxCount: props.maxCount ?? 20 };
    const containerPort = props.containerPort ?? 80;
    this.node.addValidation({ validate: () => problems(count, containerPort) });
    const taskDefinition = new ecs.Ec2TaskDefinition(this, 'TaskDefinition', { networkMode: ecs.NetworkMode.BRIDGE });
    taskDefinition.addContainer(APP_CONTAINER_NAME, {
      image: props.image,
      memoryReservationMiB: props.memoryReservationMiB ?? 256,
      cpu: props.cpu ?? 256,
      environment: props.environment,
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
    props.targetGroup.addTarget(this.service.loadBalancerTarget({ containerName: APP_CONTAINER_NAME, containerPort }));
    this.addScaling(props.scaling ?? {}, count, props.targetGroup);
  }

  /**
   * Rolls a deployment of this service back when one of `alarms` goes into ALARM while it runs
   * (ECS deployment alarms). ECS takes the alarms by name; the names must be fixed at synth
   * (`alarmName` set), since a reference to the alarm would be flagged as a possible cycle. The
   * service is still created after them.
   */
  rollBackOnAlarms(alarms: cloudwatch.Alarm[], alarmNames: string[]): void {
    this.service.enableDeploymentAlarms(alarmNames, { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM });
    this.service.node.defaultChild!.node.addDependency(...alarms);
  }

  private addScaling(scaling: LoadBalancedServiceScaling, count: TaskCount, targetGroup: elbv2.ApplicationTargetGroup): void {
    // A maxCount below desiredCount is reported by the validation, naming this construct's props;
    // raised to desiredCount here so that CDK's scalable target does not throw first with its own.
    const taskCount = this.service.autoScaleTaskCount({ minCapacity: count.desiredCount, maxCapacity: Math.max(count.maxCount, count.desiredCount) });
    const cooldowns = { scaleInCooldown: scaling.scaleInCooldown ?? Duration.minutes(5), scaleOutCooldown: scaling.scaleOutCooldown ?? Duration.minutes(1) };
    taskCount.scaleOnCpuUtilization('CpuTargetTracking', { targetUtilizationPercent: scaling.cpuTargetPercent ?? 70, ...cooldowns });
    taskCount.scaleOnRequestCount('RequestCountTargetTracking', { requestsPerTarget: scaling.requestsPerTarget ?? 1000, targetGroup, ...cooldowns });
  }
}
