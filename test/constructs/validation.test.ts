/**
 * Each construct checks its own props and reports a problem at synth, scoped to the construct:
 * the message names the construct's path and the prop. Every construct is built here without
 * Albatross's configuration, as a reuser would.
 */
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AccessLogBucket } from '../../constructs/access-log-bucket';
import { EcsCapacity } from '../../constructs/ecs-capacity';
import { LoadBalancedService } from '../../constructs/load-balanced-service';
import { RateLimitedWebAcl } from '../../constructs/rate-limited-web-acl';
import { ServiceAlarms } from '../../constructs/service-alarms';
import { ServiceDomain } from '../../constructs/service-domain';
import { ServiceTargetGroup } from '../../constructs/service-target-group';
import { bareStack, loadBalancerIn, synthError, targetGroupsIn, vpcIn } from './support/fixture';

test('AccessLogBucket: a retention that is not whole days fails synth at the bucket', () => {
  const stack = bareStack();
  new AccessLogBucket(stack, 'AccessLogs', { retention: Duration.hours(36) });
  expect(synthError(stack)).toContain('[Reuse/AccessLogs] AccessLogBucket retention must be a whole number of days, at least 1 (got 1 day 12 hours)');
});

test('SecureLoadBalancer: one port for both listeners fails synth at the load balancer', () => {
  const stack = bareStack();
  loadBalancerIn(stack, { httpPort: 8443, httpsPort: 8443 });
  expect(synthError(stack)).toContain('[Reuse/Edge] SecureLoadBalancer httpPort must differ from httpsPort (both 8443)');
});

test('ServiceTargetGroup: anomaly mitigation without weighted_random fails synth at the group', () => {
  const stack = bareStack();
  new ServiceTargetGroup(stack, 'Api', { vpc: vpcIn(stack), anomalyMitigation: true, algorithm: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS });
  expect(synthError(stack)).toContain('[Reuse/Api] ServiceTargetGroup anomalyMitigation needs algorithm weighted_random (got least_outstanding_requests)');
});

test('RateLimitedWebAcl: a window WAF does not offer fails synth at the web ACL, naming the limit', () => {
  const stack = bareStack();
  new RateLimitedWebAcl(stack, 'Waf', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/0123456789abcdef',
    pathRateLimits: [{ name: 'auth', pathPrefix: '/auth/', limit: 50, window: Duration.minutes(3) }],
  });
  expect(synthError(stack)).toContain('[Reuse/Waf] RateLimitedWebAcl pathRateLimits[0].window must be 1, 2, 5 or 10 minutes (got 3 minutes)');
});

test('RateLimitedWebAcl: a limit outside WAF\'s 10 to 2,000,000,000 fails synth at the web ACL, naming the limit', () => {
  const stack = bareStack();
  new RateLimitedWebAcl(stack, 'Waf', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/0123456789abcdef',
    generalRateLimit: { limit: 5, window: Duration.minutes(1) },
  });
  expect(synthError(stack)).toContain('[Reuse/Waf] RateLimitedWebAcl generalRateLimit.limit must be an integer from 10 to 2000000000 (got 5)');
});

test('ServiceDomain: a name outside its hosted zone fails synth at the domain', () => {
  const stack = bareStack();
  new ServiceDomain(stack, 'Domain', { domainName: 'app.example.org', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' });
  expect(synthError(stack)).toContain('[Reuse/Domain] ServiceDomain domainName (app.example.org) must be in the hosted zone hostedZoneName (example.com)');
});

test('ServiceAlarms: more datapoints than evaluation periods fails synth at the alarms', () => {
  const stack = bareStack();
  const edge = loadBalancerIn(stack);
  const group = stack.node.findChild('Group') as ServiceTargetGroup;
  new ServiceAlarms(stack, 'Alarms', { loadBalancer: edge.loadBalancer, targetGroups: { app: group.targetGroup }, topic: new sns.Topic(stack, 'Topic'), evaluationPeriods: 2, datapointsToAlarm: 3 });
  expect(synthError(stack)).toContain('[Reuse/Alarms] ServiceAlarms datapointsToAlarm must be a whole number from 1 to evaluationPeriods (2) (got 3)');
});

test('ServiceAlarms: no service fails synth at the alarms', () => {
  const stack = bareStack();
  const edge = loadBalancerIn(stack);
  new ServiceAlarms(stack, 'Alarms', { loadBalancer: edge.loadBalancer, targetGroups: {}, topic: new sns.Topic(stack, 'Topic') });
  expect(synthError(stack)).toContain('[Reuse/Alarms] ServiceAlarms targetGroups must hold at least one service');
});

test('SecureLoadBalancer: both a default target group and a default action, or neither, fail synth at the load balancer', () => {
  for (const [given, overrides] of [
    ['both', (group: elbv2.ApplicationTargetGroup) => ({ defaultTargetGroup: group, defaultAction: elbv2.ListenerAction.forward([group]) })],
    ['neither', () => ({ defaultTargetGroup: undefined, defaultAction: undefined })],
  ] as const) {
    const stack = bareStack();
    const vpc = vpcIn(stack);
    loadBalancerIn(stack, overrides(targetGroupsIn(stack, vpc, ['web']).web), vpc);
    expect(synthError(stack)).toContain(`[Reuse/Edge] SecureLoadBalancer needs exactly one of defaultTargetGroup and defaultAction (got ${given})`);
  }
});

test('LoadBalancedService and EcsCapacity: each reports its own problem at its own path, naming its own props', () => {
  const stack = bareStack();
  const vpc = vpcIn(stack);
  const capacity = new EcsCapacity(stack, 'Capacity', { vpc, notificationTopic: new sns.Topic(stack, 'Topic'), minCapacity: 0, maxCapacity: 0 });
  const group = targetGroupsIn(stack, vpc, ['web']).web;
  loadBalancerIn(stack, { defaultTargetGroup: group }, vpc);
  new LoadBalancedService(stack, 'App', {
    cluster: capacity.cluster,
    capacityProvider: capacity.capacityProvider,
    targetGroup: group,
    image: ecs.ContainerImage.fromRegistry('traefik/whoami:v1.11.0'),
    desiredCount: 4,
    maxCount: 3,
    containerPort: 70000,
  });
  const message = synthError(stack);
  expect(message).toContain('[Reuse/App] LoadBalancedService maxCount must be at least desiredCount (4) (got 3)');
  expect(message).toContain('[Reuse/App] LoadBalancedService containerPort must be an integer from 1 to 65535 (got 70000)');
  expect(message).toContain('[Reuse/Capacity] EcsCapacity maxCapacity must be a whole number, at least 1 and at least minCapacity (0) (got 0)');
});

test('valid props synthesize without the configuration: the constructs are reusable on their own', () => {
  const stack = bareStack();
  const edge = loadBalancerIn(stack, { httpsPort: 8443, idleTimeout: Duration.seconds(30) });
  new AccessLogBucket(stack, 'AccessLogs');
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8443, Protocol: 'HTTPS', SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' });
  template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [{ ExpirationInDays: 90, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }] } });
  expect(edge.httpsListener.port).toBe(8443);
});
