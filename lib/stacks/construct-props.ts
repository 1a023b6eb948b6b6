/**
 * Albatross configuration → construct props. The constructs take their own props (primitives,
 * `Duration`s, small interfaces) and know nothing of the configuration; this file is the one place
 * that maps its sections onto them, so the constructs stay reusable on their own.
 */
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { EcsCapacityProps } from '../../constructs/ecs-capacity';
import type { LoadBalancedServiceProps } from '../../constructs/load-balanced-service';
import type { PathRateLimit, RateLimit, RateLimitedWebAclProps } from '../../constructs/rate-limited-web-acl';
import type { SecureLoadBalancerProps } from '../../constructs/secure-load-balancer';
import type { ServiceAlarmsProps } from '../../constructs/service-alarms';
import type { ServiceDomainProps } from '../../constructs/service-domain';
import type { ServiceTargetGroupProps } from '../../constructs/service-target-group';
import type {
  AlarmsConfig,
  CapacityConfig,
  DomainConfig,
  LoadBalancerConfig,
  PathRateLimitConfig,
  RateLimitConfig,
  ServiceConfig,
  WafConfig,
} from '../config';

/** Omits the props the stack wires itself (VPC, certificate, groups, topics). */
type Settings<P, Wired extends keyof P> = Omit<P, Wired>;

export function loadBalancerProps(c: LoadBalancerConfig): Settings<SecureLoadBalancerProps, 'vpc' | 'certificate' | 'accessLogBucket' | 'defaultTargetGroup' | 'defaultAction'> {
  return {
    httpsPort: c.httpsPort,
    httpPort: c.httpPort,
    tlsPolicy: c.tlsPolicy as elbv2.SslPolicy,
    idleTimeout: Duration.seconds(c.idleTimeoutSeconds),
    desyncMitigationMode: c.desyncMitigationMode as elbv2.DesyncMitigationMode,
    deletionProtection: c.deletionProtection,
    securityHeaders: { ...c.securityHeaders },
  };
}

/** A service's target group: the target-group settings of the service, on its container port. */
export function targetGroupProps(c: ServiceConfig): Settings<ServiceTargetGroupProps, 'vpc'> {
  const check = c.healthCheck;
  return {
    port: c.containerPort,
    healthCheck: {
      path: check.path,
      interval: Duration.seconds(check.intervalSeconds),
      timeout: Duration.seconds(check.timeoutSeconds),
      healthyThreshold: check.healthyThreshold,
      unhealthyThreshold: check.unhealthyThreshold,
      healthyHttpCodes: check.matcher,
    },
    deregistrationDelay: Duration.seconds(c.deregistrationDelaySeconds),
    slowStart: c.slowStartSeconds > 0 ? Duration.seconds(c.slowStartSeconds) : undefined,
    algorithm: c.algorithm as elbv2.TargetGroupLoadBalancingAlgorithmType,
    anomalyMitigation: c.anomalyMitigation,
    stickinessCookieDuration: c.stickinessSeconds !== undefined ? Duration.seconds(c.stickinessSeconds) : undefined,
  };
}

export function domainProps(c: DomainConfig): ServiceDomainProps {
  return { domainName: c.name, hostedZoneId: c.hostedZoneId, hostedZoneName: c.hostedZoneName };
}

function rateLimit(c: RateLimitConfig): RateLimit {
  return { limit: c.limit, window: Duration.seconds(c.windowSeconds) };
}

function pathRateLimit(c: PathRateLimitConfig): PathRateLimit {
  return { ...rateLimit(c), name: c.name, pathPrefix: c.pathPrefix };
}

export function wafProps(c: WafConfig): Settings<RateLimitedWebAclProps, 'loadBalancerArn'> {
  return { maxBodyBytes: c.maxBodyBytes, generalRateLimit: rateLimit(c.generalRateLimit), pathRateLimits: c.rateLimits.map(pathRateLimit) };
}

export function capacityProps(c: CapacityConfig): Settings<EcsCapacityProps, 'vpc' | 'notificationTopic'> {
  return {
    instanceType: new ec2.InstanceType(c.instanceType),
    minCapacity: c.minCapacity,
    maxCapacity: c.maxCapacity,
    desiredCapacity: c.desiredCapacity,
    healthCheckGracePeriod: Duration.seconds(c.healthCheckGracePeriodSeconds),
    lifecycleHeartbeatTimeout: Duration.seconds(c.lifecycleHeartbeatSeconds),
  };
}

export function serviceProps(c: ServiceConfig): Settings<LoadBalancedServiceProps, 'cluster' | 'capacityProvider' | 'targetGroup'> {
  const scaling = c.scaling;
  return {
    image: ecs.ContainerImage.fromRegistry(c.image),
    environment: { ...c.environment },
    containerPort: c.containerPort,
    memoryReservationMiB: c.memoryReservationMiB,
    cpu: c.cpu,
    desiredCount: c.desiredCount,
    maxCount: c.maxCount,
    healthCheckGracePeriod: Duration.seconds(c.healthCheckGracePeriodSeconds),
    logRetention: c.logRetentionDays as logs.RetentionDays,
    scaling: {
      cpuTargetPercent: scaling.cpuTargetPercent,
      requestsPerTarget: scaling.requestsPerTarget,
      scaleInCooldown: Duration.seconds(scaling.scaleInCooldownSeconds),
      scaleOutCooldown: Duration.seconds(scaling.scaleOutCooldownSeconds),
    },
  };
}

export function alarmsProps(c: AlarmsConfig): Settings<ServiceAlarmsProps, 'loadBalancer' | 'targetGroups' | 'topic'> {
  return {
    target5xxRatePercent: c.target5xxRatePercent,
    elb5xxRatePercent: c.elb5xxRatePercent,
    p95Latency: Duration.millis(c.p95LatencyMs),
    period: Duration.seconds(c.periodSeconds),
    evaluationPeriods: c.evaluationPeriods,
    datapointsToAlarm: c.datapointsToAlarm,
  };
}
