import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from '../../support/stack';
import { EVERY_FEATURE } from '../../support/stack-template';

const { template, config } = synthStack();
const SERVICES = Object.keys(config.services);

/** The Value of `key` in a list of `{Key, Value}` attributes. */
function attribute(attributes: { Key: string; Value: string }[], key: string): string | undefined {
  return attributes.find((a) => a.Key === key)?.Value;
}

type Tagged = { Properties: { Tags?: { Key: string; Value: string }[] } };

/** The logical id of each service's target group, by the service name it is tagged with. */
function targetGroupIds(t = template): Record<string, string> {
  return Object.fromEntries(
    Object.entries(t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')).map(([id, g]) => [(g as Tagged).Properties.Tags!.find((tag) => tag.Key === 'albatross:target-group')!.Value, id]),
  );
}

type EcsService = { Properties: { LoadBalancers: { TargetGroupArn: { Ref: string }; ContainerPort: number }[]; TaskDefinition: { Ref: string }; DesiredCount: number } & Record<string, unknown> };

/** Each ECS service by the service name of the one target group it registers in. */
function ecsServices(t = template): Record<string, EcsService & { id: string }> {
  const byGroup = Object.fromEntries(Object.entries(targetGroupIds(t)).map(([name, id]) => [id, name]));
  return Object.fromEntries(
    Object.entries(t.findResources('AWS::ECS::Service')).map(([id, r]) => {
      const service = r as EcsService;
      return [byGroup[service.Properties.LoadBalancers[0].TargetGroupArn.Ref], { ...service, id }];
    }),
  );
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
    const { template: t } = synthStack({ network: { flowLogRetentionDays: 365 }, services: { api: { logRetentionDays: 7 } } });
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

  test('the default layout: api.* hosts and /api/* to api, /static/* to static, /maintenance answers 503', () => {
    const groups = targetGroupIds();
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 4);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 5,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['api.*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: groups.api } }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: groups.api } }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 20,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/static/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: groups.static } }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 30,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/maintenance'] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503', ContentType: 'application/json', MessageBody: '{"status":"maintenance"}' } }],
    });
  });

  test('the default action sends 90 % to web and 10 % to its canary, web-canary, with target-group stickiness', () => {
    const groups = targetGroupIds();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      DefaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: { Ref: groups.web }, Weight: 90 },
              { TargetGroupArn: { Ref: groups['web-canary'] }, Weight: 10 },
            ],
            TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
          },
        },
      ],
    });
  });

  test('rules and the default action come from the config', () => {
    const { template: t } = synthStack({
      defaultAction: { forward: 'static' },
      rules: [
        { priority: 5, conditions: { pathPatterns: ['/v2/*', '/beta/*'] }, action: { forward: { api: 3, web: 1, 'web-canary': 1 } } },
        { priority: 6, conditions: { pathPatterns: ['/assets/*'] }, action: { forward: 'static' } },
      ],
    });
    const groups = targetGroupIds(t);
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 2);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 5,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/v2/*', '/beta/*'] } }],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: { Ref: groups.api }, Weight: 3 },
              { TargetGroupArn: { Ref: groups.web }, Weight: 1 },
              { TargetGroupArn: { Ref: groups['web-canary'] }, Weight: 1 },
            ],
            TargetGroupStickinessConfig: Match.absent(),
          },
        },
      ],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: groups.static } }] });
  });

  test('every condition kind, a weighted forward with group stickiness and a fixed response (the every-feature config)', () => {
    const { template: t } = synthStack(EVERY_FEATURE);
    const groups = targetGroupIds(t);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 5,
      Conditions: [
        { Field: 'host-header', HostHeaderConfig: { Values: ['api.example.com'] } },
        { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET', 'POST'] } },
        { Field: 'source-ip', SourceIpConfig: { Values: ['192.0.2.0/24', '2001:db8::/32'] } },
      ],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: groups.api } }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } },
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['on'] } },
        { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'version', Value: '2' }, { Value: 'beta' }] } },
      ],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: { Ref: groups.api }, Weight: 80 },
              { TargetGroupArn: { Ref: groups.static }, Weight: 20 },
            ],
            TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
          },
        },
      ],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', { Priority: 30, Actions: [Match.objectLike({ Type: 'fixed-response' })] });
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
      SERVICES.length,
    );
  });

  test('one target group per service, tagged with the service name', () => {
    expect(SERVICES.sort()).toEqual(['api', 'static', 'web', 'web-canary']);
    expect(Object.keys(targetGroupIds()).sort()).toEqual(SERVICES.sort());
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', SERVICES.length);
  });

  test('deregistration delay 30 s, algorithm and stickiness per group', () => {
    for (const name of ['web', 'web-canary']) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Tags: [{ Key: 'albatross:target-group', Value: name }],
        TargetGroupAttributes: Match.arrayWith([
          { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
          { Key: 'stickiness.enabled', Value: 'true' },
          { Key: 'stickiness.type', Value: 'lb_cookie' },
          { Key: 'stickiness.lb_cookie.duration_seconds', Value: '86400' },
          { Key: 'load_balancing.algorithm.type', Value: 'round_robin' },
        ]),
      });
    }
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Tags: [{ Key: 'albatross:target-group', Value: 'api' }],
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'stickiness.enabled', Value: 'false' },
        { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' },
      ]),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Tags: [{ Key: 'albatross:target-group', Value: 'static' }],
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'stickiness.enabled', Value: 'false' },
        { Key: 'load_balancing.algorithm.type', Value: 'round_robin' },
      ]),
    });
  });

  test('health check, slow start, weighted random with anomaly mitigation follow the config', () => {
    const { template: t } = synthStack({
      services: {
        web: {
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

  test('every service places tasks with the one capacity provider and gives new tasks a health-check grace period', () => {
    const providerId = Object.keys(template.findResources('AWS::ECS::CapacityProvider'))[0];
    const clusterId = Object.keys(template.findResources('AWS::ECS::Cluster'))[0];
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.resourcePropertiesCountIs(
      'AWS::ECS::Service',
      { Cluster: { Ref: clusterId }, CapacityProviderStrategy: [{ CapacityProvider: { Ref: providerId }, Weight: 1 }], HealthCheckGracePeriodSeconds: 60 },
      SERVICES.length,
    );
    const { template: t } = synthStack({ services: { api: { healthCheckGracePeriodSeconds: 180 } } });
    expect(ecsServices(t).api.Properties.HealthCheckGracePeriodSeconds).toBe(180);
    expect(ecsServices(t).web.Properties.HealthCheckGracePeriodSeconds).toBe(60);
  });

  test('the default image answers the default health check path on the default port, in every service', () => {
    // traefik/whoami serves GET /health → 200 on port 80: a first deploy comes up healthy.
    for (const service of Object.values(config.services)) {
      expect(service.image).toMatch(/^traefik\/whoami:v\d/);
      expect(service.containerPort).toBe(80);
      expect(service.healthCheck.path).toBe('/health');
    }
  });

  test('each service has its own task definition, in bridge mode with dynamic host ports', () => {
    template.resourceCountIs('AWS::ECS::TaskDefinition', SERVICES.length);
    template.resourcePropertiesCountIs(
      'AWS::ECS::TaskDefinition',
      { NetworkMode: 'bridge', ContainerDefinitions: [Match.objectLike({ Image: 'traefik/whoami:v1.11.0', PortMappings: [{ ContainerPort: 80, HostPort: 0, Protocol: 'tcp' }] })] },
      SERVICES.length,
    );
    const services = ecsServices();
    expect(new Set(SERVICES.map((name) => services[name].Properties.TaskDefinition.Ref)).size).toBe(SERVICES.length);
  });

  test("a service's image, port and environment go to its own container only", () => {
    const { template: t } = synthStack({ services: { api: { image: 'example/api:2', containerPort: 8080, environment: { DATABASE_HOST: 'db.internal', WORKERS: '4' } } } });
    const services = ecsServices(t);
    const definitions = t.findResources('AWS::ECS::TaskDefinition') as Record<string, { Properties: { ContainerDefinitions: Record<string, unknown>[] } }>;
    const containerOf = (name: string) => definitions[services[name].Properties.TaskDefinition.Ref].Properties.ContainerDefinitions[0];
    expect(containerOf('api')).toMatchObject({
      Image: 'example/api:2',
      PortMappings: [{ ContainerPort: 8080, HostPort: 0, Protocol: 'tcp' }],
      Environment: [{ Name: 'DATABASE_HOST', Value: 'db.internal' }, { Name: 'WORKERS', Value: '4' }],
    });
    expect(services.api.Properties.LoadBalancers[0].ContainerPort).toBe(8080);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Tags: [{ Key: 'albatross:target-group', Value: 'api' }], Port: 8080 });
    for (const name of ['web', 'web-canary', 'static']) {
      expect(containerOf(name)).toMatchObject({ Image: 'traefik/whoami:v1.11.0', PortMappings: [{ ContainerPort: 80, HostPort: 0, Protocol: 'tcp' }] });
      expect(containerOf(name).Environment).toBeUndefined();
    }
  });

  test('every service rolls back failed deployments and keeps 100 % healthy with up to 200 %; task counts per service', () => {
    template.resourcePropertiesCountIs(
      'AWS::ECS::Service',
      { DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100, MaximumPercent: 200 }) },
      SERVICES.length,
    );
    const services = ecsServices();
    expect(Object.fromEntries(SERVICES.map((name) => [name, services[name].Properties.DesiredCount]))).toEqual({ web: 2, 'web-canary': 1, api: 2, static: 2 });
  });

  test('each service is registered in its own target group only, on its container port', () => {
    const groups = targetGroupIds();
    const services = ecsServices();
    template.resourceCountIs('AWS::ECS::Service', SERVICES.length);
    for (const name of SERVICES) {
      expect(services[name].Properties.LoadBalancers).toEqual([{ TargetGroupArn: { Ref: groups[name] }, ContainerName: 'app', ContainerPort: config.services[name].containerPort }]);
    }
  });
});

type ScalingPolicy = { Properties: { ScalingTargetId: { Ref: string }; TargetTrackingScalingPolicyConfiguration: Record<string, unknown> } };
type ScalableTarget = { Properties: { MinCapacity: number; MaxCapacity: number; ResourceId: unknown } };

/** Each service's scalable target and its two target-tracking policies, by service name. */
function scalingByService(t = template): Record<string, { target: ScalableTarget['Properties']; cpu: Record<string, unknown>; requests: Record<string, unknown> }> {
  const targets = t.findResources('AWS::ApplicationAutoScaling::ScalableTarget') as Record<string, ScalableTarget>;
  const policies = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')) as ScalingPolicy[];
  return Object.fromEntries(
    Object.entries(ecsServices(t)).map(([name, service]) => {
      // The scalable target's ResourceId names the service by its GetAtt Name.
      const [targetId, target] = Object.entries(targets).find(([, st]) => JSON.stringify(st.Properties.ResourceId).includes(`"${service.id}"`))!;
      const own = policies.filter((p) => p.Properties.ScalingTargetId.Ref === targetId).map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration);
      expect(own).toHaveLength(2);
      const isRequests = (c: Record<string, unknown>) => JSON.stringify(c).includes('ALBRequestCountPerTarget');
      return [name, { target: target.Properties, cpu: own.find((c) => !isRequests(c))!, requests: own.find(isRequests)! }];
    }),
  );
}

describe('scaling', () => {
  test('each service scales between its task counts on CPU 70 % and on 1000 requests per target of its own group, with cooldowns', () => {
    const groups = targetGroupIds();
    const scaling = scalingByService();
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', SERVICES.length);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 2 * SERVICES.length);
    for (const name of SERVICES) {
      const { target, cpu, requests } = scaling[name];
      expect([target.MinCapacity, target.MaxCapacity]).toEqual([config.services[name].desiredCount, config.services[name].maxCount]);
      expect(cpu).toMatchObject({ TargetValue: 70, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, ScaleInCooldown: 300, ScaleOutCooldown: 60 });
      expect(requests).toMatchObject({ TargetValue: 1000, ScaleInCooldown: 300, ScaleOutCooldown: 60 });
      // The resource label ends in the target group's full name: its own group, no other.
      const label = JSON.stringify(requests.PredefinedMetricSpecification);
      for (const other of SERVICES) expect([other, label.includes(`"${groups[other]}"`)]).toEqual([other, other === name]);
    }
    expect([scaling['web-canary'].target.MinCapacity, scaling['web-canary'].target.MaxCapacity]).toEqual([1, 2]);
  });

  test("targets and cooldowns follow each service's config", () => {
    const { template: t } = synthStack({ services: { api: { scaling: { cpuTargetPercent: 55, requestsPerTarget: 250, scaleInCooldownSeconds: 600, scaleOutCooldownSeconds: 30 } } } });
    const scaling = scalingByService(t);
    expect(scaling.api.cpu).toMatchObject({ TargetValue: 55, ScaleInCooldown: 600, ScaleOutCooldown: 30 });
    expect(scaling.api.requests).toMatchObject({ TargetValue: 250, ScaleInCooldown: 600, ScaleOutCooldown: 30 });
    expect(scaling.web.cpu).toMatchObject({ TargetValue: 70, ScaleInCooldown: 300 });
    expect(scaling.web.requests).toMatchObject({ TargetValue: 1000 });
  });
});

type AlarmResource = { Properties: { AlarmName: string; MetricName?: string; Dimensions?: { Name: string; Value: unknown }[]; Threshold: number; Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: unknown }[] } } }[] } };

function alarmsByName(t = template): Record<string, AlarmResource['Properties']> {
  return Object.fromEntries(Object.values(t.findResources('AWS::CloudWatch::Alarm') as Record<string, AlarmResource>).map((a) => [a.Properties.AlarmName, a.Properties]));
}

/** The target group (logical id) every TargetGroup dimension of an alarm names. */
function alarmTargetGroups(alarm: AlarmResource['Properties']): string[] {
  const dimensions = [...(alarm.Dimensions ?? []), ...(alarm.Metrics ?? []).flatMap((m) => m.MetricStat?.Metric.Dimensions ?? [])];
  return dimensions.filter((d) => d.Name === 'TargetGroup').map((d) => (d.Value as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]);
}

describe('alarms and dashboard', () => {
  test("each service: target 5xx rate above 1 % of the requests its own group received, p95 above 500 ms and unhealthy hosts, on its group's metrics", () => {
    const groups = targetGroupIds();
    const alarms = alarmsByName();
    for (const name of SERVICES) {
      const rate = alarms[`Albatross-${name}-Target5xxRate`];
      expect(rate).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', EvaluationPeriods: 3, DatapointsToAlarm: 2 });
      expect(rate.Metrics!.find((m) => m.Expression)!.Expression).toBe('IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)');
      expect(rate.Metrics!.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric.MetricName).sort()).toEqual(['HTTPCode_Target_5XX_Count', 'RequestCount']);
      const latency = alarms[`Albatross-${name}-TargetResponseTimeP95`];
      expect(latency).toMatchObject({ MetricName: 'TargetResponseTime', ExtendedStatistic: 'p95', Threshold: 0.5 });
      const unhealthy = alarms[`Albatross-${name}-UnhealthyHosts`];
      expect(unhealthy).toMatchObject({ MetricName: 'UnHealthyHostCount', Statistic: 'Maximum', Threshold: 0 });
      for (const alarm of [rate, latency, unhealthy]) expect(new Set(alarmTargetGroups(alarm))).toEqual(new Set([groups[name]]));
    }
  });

  test('every alarm reads at most two metrics (CloudWatch allows 10), however many services', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, AlarmResource>).map((a) => a.Properties);
    expect(alarms.length).toBeGreaterThanOrEqual(3 + 3 * SERVICES.length);
    for (const alarm of alarms) expect(alarm.Metrics ? alarm.Metrics.filter((m) => m.MetricStat).length : 1).toBeLessThanOrEqual(2);
  });

  test('alarm windows and the dashboard period follow the config', () => {
    const { template: t } = synthStack({ alarms: { periodSeconds: 120, evaluationPeriods: 5, datapointsToAlarm: 3 } });
    // Per service its 5xx rate, p95 and unhealthy hosts; the load balancer's 5xx rate,
    // connection errors and rejected connections.
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { EvaluationPeriods: 5, DatapointsToAlarm: 3 }, 3 + 3 * SERVICES.length);
    const body = JSON.stringify((Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody);
    expect(body).toContain('\\"period\\":120');
    expect(body).not.toContain('\\"period\\":60');
  });

  test('any unhealthy host, per target group', () => {
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'UnHealthyHostCount', Statistic: 'Maximum', Threshold: 0 }, SERVICES.length);
  });

  test('p95 target response time above 500 ms, per target group', () => {
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'TargetResponseTime', ExtendedStatistic: 'p95', Threshold: 0.5 }, SERVICES.length);
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

  test('the dashboard has a row per service, with its alarms', () => {
    const body = JSON.stringify((onlyResource('AWS::CloudWatch::Dashboard') as { DashboardBody: unknown }).DashboardBody);
    for (const name of SERVICES) {
      for (const title of ['requests and errors', 'target response time (s)', 'hosts', 'alarms']) expect(body).toContain(`\\"title\\":\\"${name}: ${title}\\"`);
    }
  });
});
