/**
 * Each construct checks its own props and reports a problem at synth, scoped to the construct:
 * the message names the construct's path and the prop. Every construct is built here without
 * Albatross's configuration, as a reuser would.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AccessLogBucket } from '../../constructs/access-log-bucket';
import { EcsCapacity } from '../../constructs/ecs-capacity';
import { LoadBalancedService } from '../../constructs/load-balanced-service';
import { RateLimitedWebAcl } from '../../constructs/rate-limited-web-acl';
import { SecureLoadBalancer } from '../../constructs/secure-load-balancer';
import { ServiceAlarms } from '../../constructs/service-alarms';
import { ServiceDomain } from '../../constructs/service-domain';
import { ServiceTargetGroup } from '../../constructs/service-target-group';

const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000000';

function bareStack(): Stack {
  return new Stack(new App(), 'Reuse', { env: { account: '123456789012', region: 'eu-west-1' } });
}

function vpcIn(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
}

/** Synthesizes the app of `stack` and returns the error CDK raised. */
function synthError(stack: Stack): string {
  try {
    (stack.node.root as App).synth();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('synth succeeded');
}

function loadBalancerIn(stack: Stack, overrides: Partial<ConstructorParameters<typeof SecureLoadBalancer>[2]> = {}): SecureLoadBalancer {
  const vpc = vpcIn(stack);
  return new SecureLoadBalancer(stack, 'Edge', {
    vpc,
    certificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
    accessLogBucket: new s3.Bucket(stack, 'Logs'),
    defaultTargetGroup: new ServiceTargetGroup(stack, 'Group', { vpc }).targetGroup,
    ...overrides,
  });
}

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

test('ServiceAlarms: no target group fails synth at the alarms, naming the CloudWatch limit', () => {
  const stack = bareStack();
  const edge = loadBalancerIn(stack);
  new ServiceAlarms(stack, 'Alarms', { loadBalancer: edge.loadBalancer, targetGroups: {}, topic: new sns.Topic(stack, 'Topic') });
  expect(synthError(stack)).toContain('[Reuse/Alarms] ServiceAlarms targetGroups must hold 1 to 9 target groups (got 0)');
});

test('LoadBalancedService and EcsCapacity: each reports its own problem at its own path', () => {
  const stack = bareStack();
  const vpc = vpcIn(stack);
  const capacity = new EcsCapacity(stack, 'Capacity', { vpc, notificationTopic: new sns.Topic(stack, 'Topic'), minCapacity: 0, maxCapacity: 0 });
  new LoadBalancedService(stack, 'App', {
    cluster: capacity.cluster,
    capacityProvider: capacity.capacityProvider,
    targetGroups: [],
    image: ecs.ContainerImage.fromRegistry('traefik/whoami:v1.11.0'),
  });
  const message = synthError(stack);
  expect(message).toContain('[Reuse/App] LoadBalancedService targetGroups must contain at least one target group');
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
