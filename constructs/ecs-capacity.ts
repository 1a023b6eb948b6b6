import { AspectPriority, Aspects, Duration, IAspect } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeAnnotation, acknowledgeNag } from '../lib/nag/acknowledge';

/** Properties of an {@link EcsCapacity}. */
export interface EcsCapacityProps {
  /** The VPC; instances go into its private subnets. */
  readonly vpc: ec2.IVpc;
  /**
   * EC2 instance type of the container instances.
   * @default t3.small
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * Fewest instances in the group.
   * @default 2
   */
  readonly minCapacity?: number;
  /**
   * Most instances in the group.
   * @default 10
   */
  readonly maxCapacity?: number;
  /**
   * Instances at deploy time, from `minCapacity` to `maxCapacity`. Left unset, scaling owns the
   * size between deploys.
   * @default - `minCapacity` at creation, unchanged on updates
   */
  readonly desiredCapacity?: number;
  /**
   * How long a new instance may boot before its health checks count.
   * @default Duration.minutes(5)
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * How long the terminate lifecycle hook holds an instance in Terminating:Wait between
   * heartbeats, 30 seconds to 2 hours (an Auto Scaling limit). When it runs out the instance
   * terminates (CONTINUE).
   * @default Duration.minutes(5)
   */
  readonly lifecycleHeartbeatTimeout?: Duration;
  /** Where the group reports launches, terminations and their errors. */
  readonly notificationTopic: sns.ITopic;
}

const DEFAULT_INSTANCE_TYPE = new ec2.InstanceType('t3.small');

interface GroupSize {
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

function groupSize(props: EcsCapacityProps): GroupSize {
  return { minCapacity: props.minCapacity ?? 2, maxCapacity: props.maxCapacity ?? 10 };
}

/** The Auto Scaling group itself only checks these at deploy time. */
function sizeProblems(size: GroupSize, desired: number | undefined): string[] {
  const found: string[] = [];
  if (!Number.isInteger(size.minCapacity) || size.minCapacity < 0) found.push(`EcsCapacity minCapacity must be a whole number, at least 0 (got ${size.minCapacity})`);
  if (!Number.isInteger(size.maxCapacity) || size.maxCapacity < Math.max(1, size.minCapacity)) {
    found.push(`EcsCapacity maxCapacity must be a whole number, at least 1 and at least minCapacity (${size.minCapacity}) (got ${size.maxCapacity})`);
  }
  if (desired !== undefined && (!Number.isInteger(desired) || desired < size.minCapacity || desired > size.maxCapacity)) {
    found.push(`EcsCapacity desiredCapacity must be a whole number from minCapacity (${size.minCapacity}) to maxCapacity (${size.maxCapacity}) (got ${desired})`);
  }
  return found;
}

/**
 * An ECS cluster whose capacity is an EC2 Auto Scaling group: ECS-optimized Amazon Linux 2023,
 * IMDSv2 only, encrypted root volumes, ELB health checks, and a terminate lifecycle hook that holds
 * each instance in Terminating:Wait until the drain orchestrator completes the action.
 */
export class EcsCapacity extends Construct {
  /** The cluster. */
  readonly cluster: ecs.Cluster;
  /** The Auto Scaling group. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The instances' security group. It has no ingress until a load balancer is connected. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The capacity provider services place their tasks with. */
  readonly capacityProvider: ecs.AsgCapacityProvider;
  /** The terminate lifecycle hook: the seam for graceful draining. */
  readonly terminateHook: autoscaling.LifecycleHook;

  constructor(scope: Construct, id: string, props: EcsCapacityProps) {
    super(scope, id);
    const size = groupSize(props);
    this.node.addValidation({ validate: () => sizeProblems(size, props.desiredCapacity) });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: props.vpc,
      description: 'Albatross ECS instances: app ports from the load balancer only',
      allowAllOutbound: true,
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'AutoScalingGroup', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      instanceType: props.instanceType ?? DEFAULT_INSTANCE_TYPE,
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(),
      securityGroup: this.securityGroup,
      ...size,
      desiredCapacity: props.desiredCapacity,
      requireImdsv2: true,
      // ELB health checks only act on target groups attached to the group itself. ECS registers
      // each task's dynamic host port in the target groups instead, so here ECS replaces a task
      // that fails its load balancer health check (the service's own grace period), and the
      // group replaces an instance that fails EC2 status checks; ELB is kept so that a target
      // group attached to the group later is honoured without a second change.
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: props.healthCheckGracePeriod ?? Duration.minutes(5),
      }),
      blockDevices: [
        { deviceName: '/dev/xvda', volume: autoscaling.BlockDeviceVolume.ebs(30, { encrypted: true, volumeType: autoscaling.EbsDeviceVolumeType.GP3 }) },
      ],
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate(),
      notifications: [{ topic: props.notificationTopic }],
    });
    this.acknowledgeFindings();
    this.terminateHook = this.autoScalingGroup.addLifecycleHook('TerminateHook', {
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      heartbeatTimeout: props.lifecycleHeartbeatTimeout ?? Duration.minutes(5),
      // CONTINUE on timeout: an instance is never stuck; the orchestrator completes it earlier.
      defaultResult: autoscaling.DefaultResult.CONTINUE,
    });
    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      // Our own lifecycle hook drains instances; ECS managed draining would add a second hook.
      enableManagedDraining: false,
      enableManagedTerminationProtection: false,
    });
    // taskDrainTime 0: no CDK-made drain Lambda; the drain orchestrator owns the terminate hook.
    // The option is still read by CDK but no longer in its type declarations, hence the widening.
    const noBuiltInDrain = { taskDrainTime: Duration.seconds(0) } as ecs.AddAutoScalingGroupCapacityOptions;
    this.cluster.addAsgCapacityProvider(this.capacityProvider, noBuiltInDrain);
  }

  /**
   * Makes `service` wait for the cluster's capacity-provider association. CloudFormation may
   * otherwise create the service first, and ECS rejects a capacity-provider strategy naming a
   * provider the cluster does not have yet (aws/containers-roadmap#631); deletes then also remove
   * the service before the association.
   */
  dependOnCapacityProviders(service: ecs.BaseService): void {
    // The CfnService only: its scaling target and policies need no such wait.
    const resource = service.node.defaultChild;
    if (!(resource instanceof ecs.CfnService)) throw new Error('EcsCapacity.dependOnCapacityProviders needs a service whose default child is its CfnService');
    Aspects.of(resource).add(new DependOnCapacityProviderAssociation(this.cluster, resource), { priority: AspectPriority.READONLY });
  }

  private acknowledgeFindings(): void {
    const role = this.autoScalingGroup.role;
    acknowledgeNag(role, 'IAM5[Resource::*]', 'The ECS agent policy CDK generates: ecs:DiscoverPollEndpoint, ecr:GetAuthorizationToken and logs actions do not support resource-level permissions.');
    acknowledgeNag(role, 'IAM5[Action::ecs:Submit*]', 'The ECS agent reports task and container state with ecs:Submit*; scoped to this cluster by CDK.');
    acknowledgeAnnotation(
      this.autoScalingGroup,
      '@aws-cdk/aws-autoscaling:desiredCapacitySet',
      'desiredCapacity is set on purpose when given; leave it unset to let scaling own the size between deploys.',
    );
  }
}

/**
 * CDK creates the association in an aspect of the cluster at synth time, so it does not exist when
 * the service is built; this aspect runs after CDK's (a later priority) and adds the dependency.
 */
class DependOnCapacityProviderAssociation implements IAspect {
  constructor(
    private readonly cluster: ecs.Cluster,
    private readonly service: IConstruct,
  ) {}

  visit(node: IConstruct): void {
    if (node !== this.service) return;
    const associations = this.cluster.node.children.filter((child) => child instanceof ecs.CfnClusterCapacityProviderAssociations);
    if (associations.length !== 1) {
      throw new Error(`EcsCapacity expected one capacity-provider association in its cluster (found ${associations.length})`);
    }
    this.service.node.addDependency(associations[0]);
  }
}
