import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from '../../support/stack';

const { template, config } = synthStack();
const account = config.env.account;
const SERVICES = Object.keys(config.services);

type EcsService = { DependsOn?: string[]; Properties: { DeploymentConfiguration: Record<string, unknown> & { Alarms?: { AlarmNames: string[]; Enable: boolean; Rollback: boolean } }; LoadBalancers: { TargetGroupArn: { Ref: string } }[] } };

/** Each ECS service by the service name its one target group is tagged with. */
function ecsServices(t = template): Record<string, EcsService> {
  const groups = t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup') as Record<string, { Properties: { Tags: { Key: string; Value: string }[] } }>;
  const nameOf = (id: string) => groups[id].Properties.Tags.find((tag) => tag.Key === 'albatross:target-group')!.Value;
  return Object.fromEntries(Object.values(t.findResources('AWS::ECS::Service') as Record<string, EcsService>).map((s) => [nameOf(s.Properties.LoadBalancers[0].TargetGroupArn.Ref), s]));
}

type Statement = { Sid?: string; Effect: string; Principal?: unknown; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> };

function only<T>(type: string): { id: string; resource: T } {
  const entries = Object.entries(template.findResources(type));
  expect(entries).toHaveLength(1);
  return { id: entries[0][0], resource: entries[0][1] as T };
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** The service principals a statement names. */
function servicePrincipals(statement: Statement): string[] {
  const service = (statement.Principal as { Service?: string | string[] } | undefined)?.Service;
  return service === undefined ? [] : Array.isArray(service) ? service : [service];
}

describe('deploy ordering (finding 1)', () => {
  test('every ECS service depends on the cluster capacity-provider association, so its strategy is valid when it is created', () => {
    const association = only('AWS::ECS::ClusterCapacityProviderAssociations');
    const services = ecsServices();
    expect(Object.keys(services).sort()).toEqual([...SERVICES].sort());
    for (const service of Object.values(services)) expect(service.DependsOn).toEqual(expect.arrayContaining([association.id]));
  });
});

describe('alarm notifications (findings 2 and 3)', () => {
  const topic = only('AWS::SNS::Topic');
  const policy = only<{ Properties: { PolicyDocument: { Statement: Statement[] }; Topics: unknown[] } }>('AWS::SNS::TopicPolicy');
  const key = only<{ Properties: { KeyPolicy: { Statement: Statement[] } } }>('AWS::KMS::Key');

  test('the topic policy allows CloudWatch to publish, scoped to alarms of this account', () => {
    expect(policy.resource.Properties.Topics).toEqual([{ Ref: topic.id }]);
    const allow = policy.resource.Properties.PolicyDocument.Statement.filter(
      (s) => s.Effect === 'Allow' && servicePrincipals(s).includes('cloudwatch.amazonaws.com') && actions(s).includes('sns:Publish'),
    );
    expect(allow).toHaveLength(1);
    expect(allow[0].Condition?.StringEquals?.['aws:SourceAccount']).toBe(account);
    expect(JSON.stringify(allow[0].Condition?.ArnLike?.['aws:SourceArn'])).toContain(`:cloudwatch:${config.env.region}:${account}:alarm:*`);
  });

  test('the TLS-only deny stays in place', () => {
    expect(policy.resource.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  test('the key lets every publisher encrypt: CloudWatch, the Auto Scaling service and its service-linked role', () => {
    const statements = key.resource.Properties.KeyPolicy.Statement;
    const canEncrypt = (s: Statement) => s.Effect === 'Allow' && actions(s).includes('kms:GenerateDataKey*') && actions(s).includes('kms:Decrypt');
    for (const service of ['cloudwatch.amazonaws.com', 'autoscaling.amazonaws.com']) {
      expect(statements.filter((s) => canEncrypt(s) && servicePrincipals(s).includes(service))).toHaveLength(1);
    }
    const slr = statements.filter((s) => canEncrypt(s) && JSON.stringify(s.Condition ?? {}).includes('role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling'));
    expect(slr).toHaveLength(1);
    expect(slr[0].Condition?.StringEquals?.['aws:PrincipalAccount']).toBe(account);
    expect(Object.keys(slr[0].Condition?.ArnEquals ?? {})).toEqual(['aws:PrincipalArn']);
  });

  test('the Auto Scaling group notifies that topic', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { NotificationConfigurations: [Match.objectLike({ TopicARN: { Ref: topic.id } })] });
  });

  test('no e-mail subscription unless alarms.email is set; with it, one e-mail subscription to the topic', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const { template: t } = synthStack({ alarms: { email: 'oncall@example.com' } });
    const topicId = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
    t.resourceCountIs('AWS::SNS::Subscription', 1);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: topicId } });
  });
});

describe('alerting', () => {
  const alarmIdWith = (needle: string): string => {
    const found = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([, a]) => JSON.stringify(a).includes(needle));
    expect(found).toHaveLength(1);
    return found[0][0];
  };

  test('load-balancer 5xx as a rate of all requests, above alarms.elb5xxRatePercent', () => {
    const id = alarmIdWith('HTTPCode_ELB_5XX_Count');
    const alarm = template.findResources('AWS::CloudWatch::Alarm')[id] as { Properties: { Threshold: number; Metrics: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string }[] } } }[] } };
    expect(alarm.Properties.Threshold).toBe(config.alarms.elb5xxRatePercent);
    const byId = Object.fromEntries(alarm.Properties.Metrics.map((m) => [m.Id, m]));
    expect(byId.errors.MetricStat!.Metric.MetricName).toBe('HTTPCode_ELB_5XX_Count');
    expect(byId.requests.MetricStat!.Metric.MetricName).toBe('RequestCount');
    expect(byId.requests.MetricStat!.Metric.Dimensions.map((d) => d.Name)).toEqual(['LoadBalancer']);
    const expression = alarm.Properties.Metrics.find((m) => m.Expression)!.Expression!;
    expect(expression).toBe('IF((FILL(requests, 0) + FILL(errors, 0)) > 0, 100 * FILL(errors, 0) / (FILL(requests, 0) + FILL(errors, 0)), 0)');
    const { template: t } = synthStack({ alarms: { elb5xxRatePercent: 2.5 } });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 2.5, Metrics: Match.arrayWith([Match.objectLike({ Expression: expression })]) });
  });

  test('any target connection error', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'TargetConnectionErrorCount', Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  test("a deploy of a service that raises its own 5xx-rate or latency alarm, or the load balancer's 5xx rate, rolls that service back (ECS deployment alarms)", () => {
    const all = template.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: { AlarmName?: string } }>;
    const idOf = (name: string) => Object.entries(all).find(([, a]) => a.Properties.AlarmName === name)![0];
    for (const [name, service] of Object.entries(ecsServices())) {
      const alarms = service.Properties.DeploymentConfiguration.Alarms!;
      expect([alarms.Enable, alarms.Rollback]).toEqual([true, true]);
      const expected = [`Albatross-${name}-Target5xxRate`, `Albatross-${name}-TargetResponseTimeP95`, 'Albatross-LoadBalancer5xxRate'];
      expect([...alarms.AlarmNames].sort()).toEqual([...expected].sort());
      // Named, not referenced: the service is created after them all the same.
      expect(service.DependsOn).toEqual(expect.arrayContaining(expected.map(idOf)));
    }
    // The ELB rate is the one alarm the services share; the 5xx-rate alarm reads the ELB's own 5xx count.
    expect(alarmIdWith('HTTPCode_ELB_5XX_Count')).toBe(idOf('Albatross-LoadBalancer5xxRate'));
  });

  test('alarms.rollbackOnAlarm=false leaves deployment alarms off (a fix deployed during an incident), the circuit breaker on', () => {
    const { template: t } = synthStack({ alarms: { rollbackOnAlarm: false } });
    const services = Object.values(ecsServices(t));
    expect(services).toHaveLength(SERVICES.length);
    for (const service of services) {
      expect(service.Properties.DeploymentConfiguration.Alarms).toBeUndefined();
      expect(service.Properties.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({ Enable: true, Rollback: true });
    }
  });

  test('alarm names are fixed and readable: <stack>-<alarm>, <stack>-<service>-<alarm>', () => {
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: { AlarmName?: string } }).Properties.AlarmName);
    expect(names).toEqual(
      expect.arrayContaining(['Albatross-LoadBalancer5xxRate', 'Albatross-TargetConnectionErrors', 'Albatross-RejectedConnections', 'Albatross-web-Target5xxRate', 'Albatross-api-TargetResponseTimeP95', 'Albatross-static-UnhealthyHosts']),
    );
  });

  test('the circuit breaker still rolls back deploys whose tasks never become healthy', () => {
    template.hasResourceProperties('AWS::ECS::Service', { DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }) });
  });
});
