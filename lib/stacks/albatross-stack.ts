import { CfnOutput, Duration, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AccessLogBucket } from '../../constructs/access-log-bucket';
import { AlarmTopic } from '../../constructs/alarm-topic';
import { DrainOrchestrator } from '../../constructs/drain-orchestrator';
import { EcsCapacity } from '../../constructs/ecs-capacity';
import { LoadBalancedService } from '../../constructs/load-balanced-service';
import { RateLimitedWebAcl } from '../../constructs/rate-limited-web-acl';
import { SecureLoadBalancer } from '../../constructs/secure-load-balancer';
import { ServiceAlarms } from '../../constructs/service-alarms';
import { ServiceDashboard } from '../../constructs/service-dashboard';
import { ServiceDomain } from '../../constructs/service-domain';
import { ServiceTargetGroup } from '../../constructs/service-target-group';
import { AlbatrossConfig, ListenerRuleConfig } from '../config';
import { TARGET_GROUP_NAME_TAG } from '../alb/tags';
import { alarmsProps, capacityProps, domainProps, loadBalancerProps, serviceProps, targetGroupProps, wafProps } from './construct-props';
import { listenerAction, listenerConditions } from './listener-rules';

/** Host ports ECS assigns to bridge-mode containers with hostPort 0. */
export const EPHEMERAL_PORTS = { from: 32768, to: 65535 } as const;

/** The service's HTTPS URL on its own DNS name. */
function serviceUrl(name: string, httpsPort: number): string {
  return `https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}/`;
}

/** Properties of the {@link AlbatrossStack}. */
export interface AlbatrossStackProps extends StackProps {
  /** The validated configuration (see `loadConfig` / `buildConfig`). */
  readonly config: AlbatrossConfig;
}

/**
 * Production-grade load-balanced services: dual-stack VPC over the configured AZs, an
 * internet-facing ALB behind WAF whose rules route to the services, one ECS service per configured
 * service (its own task definition, target group and scaling) on shared ECS-on-EC2 capacity with a
 * terminate lifecycle hook, alarms and a dashboard per service — all from one {@link AlbatrossConfig}.
 */
export class AlbatrossStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly loadBalancer: SecureLoadBalancer;
  /** Each service's target group, by service name. */
  readonly targetGroups: Record<string, elbv2.ApplicationTargetGroup>;
  readonly capacity: EcsCapacity;
  /** The ECS services, by service name. */
  readonly services: Record<string, LoadBalancedService>;
  readonly alarms: ServiceAlarms;
  readonly alarmTopic: AlarmTopic;
  readonly drain: DrainOrchestrator;

  constructor(scope: Construct, id: string, props: AlbatrossStackProps) {
    super(scope, id, props);
    const config = props.config;
    this.vpc = this.createVpc(config);
    this.targetGroups = this.createTargetGroups(config);
    const domain = config.domain ? new ServiceDomain(this, 'Domain', domainProps(config.domain)) : undefined;
    const accessLogs = new AccessLogBucket(this, 'AccessLogs', { retention: Duration.days(config.loadBalancer.accessLogRetentionDays) });
    this.loadBalancer = new SecureLoadBalancer(this, 'Edge', {
      ...loadBalancerProps(config.loadBalancer),
      vpc: this.vpc,
      certificate: domain?.certificate ?? acm.Certificate.fromCertificateArn(this, 'Certificate', config.certificateArn!),
      accessLogBucket: accessLogs.bucket,
      defaultAction: listenerAction(config.defaultAction, this.targetGroups),
    });
    domain?.pointAt(this.loadBalancer.loadBalancer);
    this.addListenerRules(config.rules);
    new RateLimitedWebAcl(this, 'Waf', { ...wafProps(config.waf), loadBalancerArn: this.loadBalancer.loadBalancer.loadBalancerArn });
    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { email: config.alarms.email });
    this.capacity = new EcsCapacity(this, 'Capacity', { ...capacityProps(config.capacity), vpc: this.vpc, notificationTopic: this.alarmTopic.topic });
    this.allowLoadBalancerToReachInstances();
    // After the listener and its rules: request-count scaling needs each group's load balancer.
    this.services = this.createServices(config);
    this.drain = new DrainOrchestrator(this, 'Drain', {
      autoScalingGroup: this.capacity.autoScalingGroup,
      lifecycleHookName: this.capacity.terminateHook.lifecycleHookName,
      heartbeatTimeout: Duration.seconds(config.capacity.lifecycleHeartbeatSeconds),
      cluster: this.capacity.cluster,
      targetGroups: Object.values(this.targetGroups),
      alarmTopic: this.alarmTopic.topic,
    });
    this.alarms = new ServiceAlarms(this, 'Alarms', {
      ...alarmsProps(config.alarms),
      loadBalancer: this.loadBalancer.loadBalancer,
      targetGroups: this.targetGroups,
      topic: this.alarmTopic.topic,
    });
    // A deploy that raises a 5xx or latency alarm rolls back, not only one the circuit breaker
    // catches (tasks that fail to start or to become healthy).
    if (config.alarms.rollbackOnAlarm) this.enableDeploymentRollback();
    new ServiceDashboard(this, 'Dashboard', {
      loadBalancer: this.loadBalancer.loadBalancer,
      targetGroups: this.targetGroups,
      alarms: [...this.alarms.loadBalancerAlarms, ...this.drain.alarms],
      serviceAlarms: this.alarms.serviceAlarms,
      period: Duration.seconds(config.alarms.periodSeconds),
    });
    new CfnOutput(this, 'LoadBalancerDnsName', { value: this.loadBalancer.loadBalancer.loadBalancerDnsName });
    if (config.domain) new CfnOutput(this, 'ServiceUrl', { value: serviceUrl(config.domain.name, config.loadBalancer.httpsPort) });
    new CfnOutput(this, 'AutoScalingGroupName', { value: this.capacity.autoScalingGroup.autoScalingGroupName });
  }

  /** Each service rolls back on its own alarms. */
  private enableDeploymentRollback(): void {
    for (const [name, service] of Object.entries(this.services)) {
      const { alarms, alarmNames } = this.alarms.deploymentAlarms(name);
      service.rollBackOnAlarms(alarms, alarmNames);
    }
  }

  /** ECS bridge mode maps containers to ephemeral host ports; only the load balancer may reach them. */
  private allowLoadBalancerToReachInstances(): void {
    this.capacity.securityGroup.connections.allowFrom(
      this.loadBalancer.securityGroup,
      ec2.Port.tcpRange(EPHEMERAL_PORTS.from, EPHEMERAL_PORTS.to),
      'Dynamic host ports of ECS tasks, from the load balancer only',
    );
  }

  private createVpc(config: AlbatrossConfig): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: config.env.availabilityZones,
      ipProtocol: ec2.IpProtocol.DUAL_STACK,
      natGateways: config.env.availabilityZones.length,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
    });
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', { retention: config.network.flowLogRetentionDays as logs.RetentionDays }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    return vpc;
  }

  /** One target group per service. */
  private createTargetGroups(config: AlbatrossConfig): Record<string, elbv2.ApplicationTargetGroup> {
    const groups: Record<string, elbv2.ApplicationTargetGroup> = {};
    for (const [name, settings] of Object.entries(config.services)) {
      const group = new ServiceTargetGroup(this, `TargetGroup-${name}`, { ...targetGroupProps(settings), vpc: this.vpc }).targetGroup;
      // The service's name, for the local proxy (`--targets <service>=…`) and the drain, which read the template.
      Tags.of(group).add(TARGET_GROUP_NAME_TAG, name);
      groups[name] = group;
    }
    return groups;
  }

  /** One ECS service per configured service, in its own target group, on the shared capacity. */
  private createServices(config: AlbatrossConfig): Record<string, LoadBalancedService> {
    const services: Record<string, LoadBalancedService> = {};
    for (const [name, settings] of Object.entries(config.services)) {
      const service = new LoadBalancedService(this, `Service-${name}`, {
        ...serviceProps(settings),
        cluster: this.capacity.cluster,
        capacityProvider: this.capacity.capacityProvider,
        targetGroup: this.targetGroups[name],
      });
      this.capacity.dependOnCapacityProviders(service.service);
      services[name] = service;
    }
    return services;
  }

  private addListenerRules(rules: ListenerRuleConfig[]): void {
    for (const rule of rules) {
      new elbv2.ApplicationListenerRule(this, `Rule${rule.priority}`, {
        listener: this.loadBalancer.httpsListener,
        priority: rule.priority,
        conditions: listenerConditions(rule.conditions),
        action: listenerAction(rule.action, this.targetGroups),
      });
    }
  }
}
