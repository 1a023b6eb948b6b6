import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from '../../support/stack';

const { template, config } = synthStack();

/** The Value of `key` in a list of `{Key, Value}` attributes. */
function attribute(attributes: { Key: string; Value: string }[], key: string): string | undefined {
  return attributes.find((a) => a.Key === key)?.Value;
}

function onlyResource(type: string): Record<string, unknown> {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return (resources[0] as { Properties: Record<string, unknown> }).Properties;
}

describe('synthesized template (review snapshot)', () => {
  test('matches the reviewed snapshot', () => {
    // Asset hashes depend on the checkout (path, untracked files): masked so the review sees the infrastructure.
    const masked = JSON.parse(JSON.stringify(template.toJSON()).replace(/[0-9a-f]{64}/g, '<asset-hash>')) as unknown;
    expect(masked).toMatchSnapshot();
  });
});

describe('network', () => {
  test('VPC is dual-stack with public and private subnets in every configured AZ', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::VPCCidrBlock', 1);
    const subnets = Object.values(template.findResources('AWS::EC2::Subnet')) as { Properties: { AvailabilityZone: string } }[];
    expect(new Set(subnets.map((s) => s.Properties.AvailabilityZone))).toEqual(new Set(config.env.availabilityZones));
    expect(subnets).toHaveLength(2 * config.env.availabilityZones.length);
  });

  test('spreads over three AZs when configured', () => {
    const azs = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
    const { template: t } = synthStack({ env: { availabilityZones: azs } });
    const lb = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0] as { Properties: { Subnets: unknown[] } };
    expect(lb.Properties.Subnets).toHaveLength(3);
  });

  test('rejected traffic is logged by VPC flow logs, kept for the configured days', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', ResourceType: 'VPC' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const { template: t } = synthStack({ network: { flowLogRetentionDays: 365 }, service: { logRetentionDays: 7 } });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });
});

describe('load balancer', () => {
  test('is internet-facing, dual-stack, drops invalid headers, defensive desync, HTTP/2, 60 s idle timeout, deletion protection', () => {
    const lb = onlyResource('AWS::ElasticLoadBalancingV2::LoadBalancer') as { Scheme: string; IpAddressType: string; LoadBalancerAttributes: { Key: string; Value: string }[] };
    expect(lb.Scheme).toBe('internet-facing');
    expect(lb.IpAddressType).toBe('dualstack');
    const attrs = lb.LoadBalancerAttributes;
    expect(attribute(attrs, 'routing.http.drop_invalid_header_fields.enabled')).toBe('true');
    expect(attribute(attrs, 'routing.http.desync_mitigation_mode')).toBe('defensive');
    expect(attribute(attrs, 'routing.http2.enabled')).toBe('true');
    expect(attribute(attrs, 'idle_timeout.timeout_seconds')).toBe('60');
    expect(attribute(attrs, 'deletion_protection.enabled')).toBe('true');
    expect(attribute(attrs, 'access_logs.s3.enabled')).toBe('true');
  });

  test('idle timeout, deletion protection and desync mode follow the config', () => {
    const { template: t } = synthStack({ loadBalancer: { idleTimeoutSeconds: 120, deletionProtection: false, desyncMitigationMode: 'strictest' } });
    const lb = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0] as { Properties: { LoadBalancerAttributes: { Key: string; Value: string }[] } };
    const attrs = lb.Properties.LoadBalancerAttributes;
    expect(attribute(attrs, 'idle_timeout.timeout_seconds')).toBe('120');
    expect(attribute(attrs, 'deletion_protection.enabled')).toBe('false');
    expect(attribute(attrs, 'routing.http.desync_mitigation_mode')).toBe('strictest');
  });

  test('access logs go to an encrypted, private bucket that denies non-TLS requests', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })]) },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('listeners', () => {
  test('HTTPS listener on 443 uses the configured certificate and the TLS 1.3 policy', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      Certificates: [{ CertificateArn: config.certificateArn }],
    });
  });

  test('TLS policy is configurable', () => {
    const { template: t } = synthStack({ loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06' } });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06' });
  });

  test('HTTP listener on 80 answers 301 to HTTPS keeping host, path and query', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Port: '443', Host: '#{host}', Path: '/#{path}', Query: '#{query}', StatusCode: 'HTTP_301' },
        },
      ],
    });
  });

  test('HTTPS listener injects security headers and removes the Server header', () => {
    const headers = config.loadBalancer.securityHeaders;
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      ListenerAttributes: Match.arrayWith([
        { Key: 'routing.http.response.strict_transport_security.header_value', Value: headers.strictTransportSecurity },
        { Key: 'routing.http.response.x_content_type_options.header_value', Value: 'nosniff' },
        { Key: 'routing.http.response.x_frame_options.header_value', Value: 'DENY' },
        { Key: 'routing.http.response.content_security_policy.header_value', Value: headers.contentSecurityPolicy },
        { Key: 'routing.http.response.server.enabled', Value: 'false' },
      ]),
    });
  });

  test('the header attributes, set through the L2 listener, are exactly the five, once each; the HTTP listener has none', () => {
    const listeners = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::Listener')) as { Properties: { Port: number; ListenerAttributes?: { Key: string; Value: string }[] } }[];
    const https = listeners.find((l) => l.Properties.Port === 443)!;
    const headers = config.loadBalancer.securityHeaders;
    expect(https.Properties.ListenerAttributes).toEqual([
      { Key: 'routing.http.response.strict_transport_security.header_value', Value: headers.strictTransportSecurity },
      { Key: 'routing.http.response.x_content_type_options.header_value', Value: 'nosniff' },
      { Key: 'routing.http.response.x_frame_options.header_value', Value: 'DENY' },
      { Key: 'routing.http.response.content_security_policy.header_value', Value: headers.contentSecurityPolicy },
      { Key: 'routing.http.response.server.enabled', Value: 'false' },
    ]);
    expect(listeners.find((l) => l.Properties.Port === 80)!.Properties.ListenerAttributes).toBeUndefined();
  });

  test('path rules forward /api/* and /static/* to their own target groups, and /maintenance answers 503', () => {
    const groups = template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup');
    const logicalIdOf = (name: string) =>
      Object.entries(groups).find(([, g]) => (g as { Properties: { Tags: { Key: string; Value: string }[] } }).Properties.Tags.some((t) => t.Value === name))![0];
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalIdOf('api') } }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 20,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/static/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalIdOf('static') } }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 30,
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503', ContentType: 'application/json', MessageBody: '{"status":"maintenance"}' } }],
    });
  });

  test('rules come from the config', () => {
    const { template: t } = synthStack({
      rules: [
        { priority: 5, pathPatterns: ['/v2/*', '/beta/*'], action: { forward: 'api' } },
        { priority: 6, pathPatterns: ['/assets/*'], action: { forward: 'static' } },
      ],
    });
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 2);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', { Priority: 5, Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/v2/*', '/beta/*'] } }] });
  });
});

describe('target groups', () => {
  test('health checks /health on the traffic port every 30 s, 5 s timeout, thresholds 2/2, matcher 200', () => {
    template.resourcePropertiesCountIs(
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      {
        HealthCheckEnabled: true,
        HealthCheckPort: 'traffic-port',
        HealthCheckPath: '/health',
        HealthCheckIntervalSeconds: 30,
        HealthCheckTimeoutSeconds: 5,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        Matcher: { HttpCode: '200' },
      },
      3,
    );
  });

  test('deregistration delay 30 s, algorithm and stickiness per group', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Tags: [{ Key: 'albatross:target-group', Value: 'app' }],
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
        { Key: 'stickiness.enabled', Value: 'false' },
        { Key: 'load_balancing.algorithm.type', Value: 'round_robin' },
      ]),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Tags: [{ Key: 'albatross:target-group', Value: 'api' }],
      TargetGroupAttributes: Match.arrayWith([{ Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' }]),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Tags: [{ Key: 'albatross:target-group', Value: 'static' }],
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'stickiness.enabled', Value: 'true' },
        { Key: 'stickiness.type', Value: 'lb_cookie' },
        { Key: 'stickiness.lb_cookie.duration_seconds', Value: '86400' },
      ]),
    });
  });

  test('health check, slow start, weighted random with anomaly mitigation follow the config', () => {
    const { template: t } = synthStack({
      targetGroups: {
        app: {
          healthCheck: { path: '/ready', intervalSeconds: 10, timeoutSeconds: 3, healthyThreshold: 3, unhealthyThreshold: 4, matcher: '200-299' },
          deregistrationDelaySeconds: 120,
          slowStartSeconds: 60,
        },
        api: { algorithm: 'weighted_random', anomalyMitigation: true },
      },
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/ready',
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 3,
      HealthyThresholdCount: 3,
      UnhealthyThresholdCount: 4,
      Matcher: { HttpCode: '200-299' },
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: '120' },
        { Key: 'slow_start.duration_seconds', Value: '60' },
      ]),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Tags: [{ Key: 'albatross:target-group', Value: 'api' }],
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'load_balancing.algorithm.type', Value: 'weighted_random' },
        { Key: 'load_balancing.algorithm.anomaly_mitigation', Value: 'on' },
      ]),
    });
  });

  test('security headers follow the config; the Server header can be kept', () => {
    const { template: t } = synthStack({ loadBalancer: { securityHeaders: { frameOptions: 'SAMEORIGIN', contentSecurityPolicy: "default-src 'none'", removeServerHeader: false } } });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      ListenerAttributes: Match.arrayWith([
        { Key: 'routing.http.response.x_frame_options.header_value', Value: 'SAMEORIGIN' },
        { Key: 'routing.http.response.content_security_policy.header_value', Value: "default-src 'none'" },
        { Key: 'routing.http.response.server.enabled', Value: 'true' },
      ]),
    });
  });
});

describe('security groups', () => {
  test('the load balancer accepts 80 and 443 from any IPv4 and IPv6 address, and nothing else', () => {
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')) as { Properties: { GroupDescription: string; SecurityGroupIngress?: Record<string, unknown>[] } }[];
    const lb = groups.find((g) => g.Properties.GroupDescription.includes('load balancer'))!;
    const ingress = lb.Properties.SecurityGroupIngress!.map((r) => `${r.CidrIp ?? r.CidrIpv6}:${r.FromPort}-${r.ToPort}`).sort();
    expect(ingress).toEqual(['0.0.0.0/0:443-443', '0.0.0.0/0:80-80', '::/0:443-443', '::/0:80-80']);
    const lbId = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).find(([, g]) => g === (lb as unknown))?.[0];
    expect(lbId).toBeDefined();
    const standalone = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as { Properties: { GroupId: unknown } }[];
    expect(standalone.filter((r) => JSON.stringify(r.Properties.GroupId).includes(lbId!))).toEqual([]);
  });

  test('instances accept only the ephemeral host-port range, only from the load balancer security group', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const instanceSg = Object.entries(groups).find(([, g]) => (g as { Properties: { GroupDescription: string } }).Properties.GroupDescription.includes('ECS instances'))!;
    const lbSg = Object.entries(groups).find(([, g]) => (g as { Properties: { GroupDescription: string } }).Properties.GroupDescription.includes('load balancer'))!;
    expect((instanceSg[1] as { Properties: { SecurityGroupIngress?: unknown[] } }).Properties.SecurityGroupIngress ?? []).toEqual([]);
    const ingressRules = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as { Properties: Record<string, unknown> }[];
    const toInstances = ingressRules.filter((r) => JSON.stringify(r.Properties.GroupId).includes(instanceSg[0]));
    expect(toInstances).toHaveLength(1);
    expect(toInstances[0].Properties).toMatchObject({
      IpProtocol: 'tcp',
      FromPort: 32768,
      ToPort: 65535,
      SourceSecurityGroupId: { 'Fn::GetAtt': [lbSg[0], 'GroupId'] },
    });
  });
});

describe('ECS on EC2', () => {
  test('the Auto Scaling group is 2/10/2 over the private subnets with ELB health checks and a grace period', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '2',
      MaxSize: '10',
      DesiredCapacity: '2',
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 300,
    });
  });

  test('instances require IMDSv2 and encrypted volumes', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required' },
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
      }),
    });
  });

  test('group size and instance type follow the config', () => {
    const { template: t } = synthStack({ capacity: { instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 12, desiredCapacity: 4, healthCheckGracePeriodSeconds: 120 } });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '3', MaxSize: '12', DesiredCapacity: '4', HealthCheckGracePeriod: 120 });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'm7g.large' }) });
  });

  test('an ASG capacity provider backs the cluster, without a second built-in drain hook', () => {
    template.resourceCountIs('AWS::ECS::CapacityProvider', 1);
    template.resourceCountIs('AWS::ECS::ClusterCapacityProviderAssociations', 1);
    template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 1);
  });

  test('the terminate lifecycle hook holds instances for the configured heartbeat, then continues', () => {
    template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      HeartbeatTimeout: 300,
      DefaultResult: 'CONTINUE',
    });
    const { template: t } = synthStack({ capacity: { lifecycleHeartbeatSeconds: 900 } });
    t.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 900 });
  });

  test('the drain Lambda gets the hook heartbeat and its runs end before it', () => {
    for (const heartbeat of [config.capacity.lifecycleHeartbeatSeconds, 90, 900]) {
      const { template: t } = synthStack({ capacity: { lifecycleHeartbeatSeconds: heartbeat } });
      const fn = Object.values(t.findResources('AWS::Lambda::Function')).find((f) =>
        JSON.stringify(f).includes('HEARTBEAT_TIMEOUT_SECONDS'),
      ) as { Properties: { Timeout: number; Environment: { Variables: Record<string, string> } } };
      expect(fn.Properties.Environment.Variables.HEARTBEAT_TIMEOUT_SECONDS).toBe(String(heartbeat));
      expect(fn.Properties.Timeout).toBeLessThan(heartbeat);
    }
  });

  test('the service places tasks with the capacity provider and gives new tasks a health-check grace period', () => {
    const providerId = Object.keys(template.findResources('AWS::ECS::CapacityProvider'))[0];
    template.hasResourceProperties('AWS::ECS::Service', {
      CapacityProviderStrategy: [{ CapacityProvider: { Ref: providerId }, Weight: 1 }],
      HealthCheckGracePeriodSeconds: 60,
    });
    const { template: t } = synthStack({ service: { healthCheckGracePeriodSeconds: 180 } });
    t.hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: 180 });
  });

  test('the default image answers the default health check path on the default port', () => {
    // traefik/whoami serves GET /health → 200 on port 80: a first deploy comes up healthy.
    expect(config.service.image).toMatch(/^traefik\/whoami:v\d/);
    expect(config.service.containerPort).toBe(80);
    expect(config.targetGroups.app.healthCheck.path).toBe('/health');
  });

  test('the service uses bridge mode with dynamic host ports', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      NetworkMode: 'bridge',
      ContainerDefinitions: [Match.objectLike({ Image: config.service.image, PortMappings: [{ ContainerPort: config.service.containerPort, HostPort: 0, Protocol: 'tcp' }] })],
    });
  });

  test('the service rolls back failed deployments and keeps 100 % healthy with up to 200 %', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 2,
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      },
    });
  });

  test('the service is registered in every target group', () => {
    const service = onlyResource('AWS::ECS::Service') as { LoadBalancers: { TargetGroupArn: { Ref: string }; ContainerPort: number }[] };
    const groupIds = Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')).sort();
    expect(service.LoadBalancers.map((l) => l.TargetGroupArn.Ref).sort()).toEqual(groupIds);
    expect(service.LoadBalancers.every((l) => l.ContainerPort === config.service.containerPort)).toBe(true);
  });
});

describe('scaling', () => {
  test('CPU target tracking at 70 % and request count per target, with cooldowns', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 70,
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 1000,
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 20 });
  });

  test('targets and cooldowns follow the config', () => {
    const { template: t } = synthStack({ scaling: { cpuTargetPercent: 55, requestsPerTarget: 250, scaleInCooldownSeconds: 600, scaleOutCooldownSeconds: 30 } });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 55, ScaleInCooldown: 600, ScaleOutCooldown: 30 }),
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 250,
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
        ScaleInCooldown: 600,
        ScaleOutCooldown: 30,
      }),
    });
  });
});

describe('alarms and dashboard', () => {
  test('target 5xx rate above 1 % of the requests the target groups received (not redirects or fixed responses)', () => {
    const requests = 'FILL(requests0, 0) + FILL(requests1, 0) + FILL(requests2, 0)';
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: `IF((${requests}) > 0, 100 * FILL(errors, 0) / (${requests}), 0)` })]),
    });
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) => JSON.stringify(a).includes('FILL(errors')) as { Properties: { Metrics: { Id: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string }[] } } }[] } };
    const requestMetrics = alarm.Properties.Metrics.filter((m) => m.Id.startsWith('requests'));
    expect(requestMetrics).toHaveLength(3);
    for (const m of requestMetrics) {
      expect(m.MetricStat!.Metric.MetricName).toBe('RequestCount');
      expect(m.MetricStat!.Metric.Dimensions.map((d) => d.Name).sort()).toEqual(['LoadBalancer', 'TargetGroup']);
    }
  });

  test('alarm windows and the dashboard period follow the config', () => {
    const { template: t } = synthStack({ alarms: { periodSeconds: 120, evaluationPeriods: 5, datapointsToAlarm: 3 } });
    // The service alarms: target and ELB 5xx rates, p95, connection errors, rejected connections,
    // and one unhealthy-host alarm per group.
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { EvaluationPeriods: 5, DatapointsToAlarm: 3 }, 5 + Object.keys(config.targetGroups).length);
    const body = JSON.stringify((Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody);
    expect(body).toContain('\\"period\\":120');
    expect(body).not.toContain('\\"period\\":60');
  });

  test('any unhealthy host, per target group', () => {
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'UnHealthyHostCount', Statistic: 'Maximum', Threshold: 0 }, 3);
  });

  test('p95 target response time above 500 ms', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'TargetResponseTime', ExtendedStatistic: 'p95', Threshold: 0.5 });
  });

  test('rejected connections', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RejectedConnectionCount', Threshold: 0 });
  });

  test('alarms notify an encrypted SNS topic', () => {
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: topicId }] });
  });

  test('the dashboard shows requests, latency percentiles, errors by code and host health', () => {
    const dashboard = onlyResource('AWS::CloudWatch::Dashboard') as { DashboardBody: unknown };
    const body = JSON.stringify(dashboard.DashboardBody);
    for (const needle of ['RequestCount', 'TargetResponseTime', 'p50', 'p99', 'HTTPCode_Target_5XX_Count', 'HTTPCode_ELB_5XX_Count', 'HealthyHostCount', 'UnHealthyHostCount']) {
      expect(body).toContain(needle);
    }
  });
});
