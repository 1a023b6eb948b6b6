import { AspectPriority, Aspects, Duration, IAspect } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';
import { CapacityConfig } from '../lib/config';
import { acknowledgeAnnotation, acknowledgeNag } from '../lib/nag/acknowledge';

/** Properties of an {@link EcsCapacity}. */
export interface EcsCapacityProps {
  /** The VPC; instances go into its private subnets. */
  readonly vpc: ec2.IVpc;
  /** Instance type, group size, health-check grace period and lifecycle heartbeat. */
  readonly settings: CapacityConfig;
  /** Where the group reports launches, terminations and their errors. */
  readonly notificationTopic: sns.ITopic;
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
    const s = props.settings;
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
      instanceType: new ec2.InstanceType(s.instanceType),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(),
      securityGroup: this.securityGroup,
      minCapacity: s.minCapacity,
      maxCapacity: s.maxCapacity,
      desiredCapacity: s.desiredCapacity,
      requireImdsv2: true,
      // ELB health checks only act on target groups attached to the group itself. ECS registers
      // each task's dynamic host port in the target groups instead, so here ECS replaces a task
      // that fails its load balancer health check (the service's own grace period), and the
      // group replaces an instance that fails EC2 status checks; ELB is kept so that a target
      // group attached to the group later is honoured without a second change.
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.seconds(s.healthCheckGracePeriodSeconds),
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
      heartbeatTimeout: Duration.seconds(s.lifecycleHeartbeatSeconds),
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
      'desiredCapacity is a documented setting (capacity.desiredCapacity); leave it at minCapacity to let scaling own the size between deploys.',
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
